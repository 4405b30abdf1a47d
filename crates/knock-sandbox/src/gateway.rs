//! How Knock's API gateway answers what it does not route, and refusals in general: shared
//! by Knock's own routes and the sandbox's control routes.
use actix_web::{web, HttpResponse, Resource};

use super::rules::{self, Rejection};
use super::Sandbox;

/// A resource whose other methods get the gateway's unknown-route answer, not a 405.
pub(super) fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(missing_token))
}

/// A route or method Knock does not have (`rules::unknown_route`).
pub(super) async fn missing_token(sandbox: web::Data<Sandbox>) -> HttpResponse {
    reject(&rules::unknown_route(sandbox.profile()))
}

pub(super) fn reject(rejection: &Rejection) -> HttpResponse {
    HttpResponse::build(rejection.status()).json(rejection.body())
}
