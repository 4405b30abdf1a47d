//! The HTTP server: Seam's routes at the root, the control surface under `/_fake/`, and a
//! `seam-request-id` header on every answer. Order of checks for a Seam route, as a gateway
//! would: route and method, then the key, then an injected fault, then the call.
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use super::api::{self, Call, Route};
use super::errors::SeamError;
use super::params::Params;
use super::wire::new_id;
use super::{control, SeamSandbox};

/// The id of one request, echoed in `seam-request-id` and in error bodies.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub String);

pub(crate) fn server(sandbox: SeamSandbox, listener: TcpListener) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(sandbox.clone()))
            .app_data(web::PayloadConfig::new(1 << 20))
            .wrap(from_fn(request_id))
            .configure(seam_routes)
            .configure(control::routes)
            .default_service(web::to(unknown_route))
    })
    .workers(1)
    // The embedding process owns shutdown (tests, or tourgate's own server).
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = new_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut()
            .insert(HeaderName::from_static("seam-request-id"), value);
    }
    Ok(res)
}

pub(crate) fn request_id_of(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

pub(crate) fn error_response(req: &HttpRequest, error: &SeamError) -> HttpResponse {
    let mut response = HttpResponse::build(error.status).json(error.body(&request_id_of(req)));
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn seam_routes(cfg: &mut web::ServiceConfig) {
    for route in Route::ALL {
        let mut resource = web::resource(route.path())
            .route(web::post().to(move |req, body, sandbox| call(route, req, body, sandbox)));
        if route.takes_get() {
            resource = resource
                .route(web::get().to(move |req, body, sandbox| call(route, req, body, sandbox)));
        }
        if route.takes_delete() {
            resource = resource
                .route(web::delete().to(move |req, body, sandbox| call(route, req, body, sandbox)));
        }
        cfg.service(resource.default_service(web::to(wrong_method)));
    }
}

async fn unknown_route(req: HttpRequest) -> HttpResponse {
    error_response(&req, &SeamError::unknown_route(req.path()))
}

async fn wrong_method(req: HttpRequest) -> HttpResponse {
    error_response(
        &req,
        &SeamError::method_not_allowed(req.method().as_str(), req.path()),
    )
}

/// `Authorization: Bearer <key>` (S-AUTH).
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, key) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

async fn call(
    route: Route,
    req: HttpRequest,
    body: web::Bytes,
    sandbox: web::Data<SeamSandbox>,
) -> HttpResponse {
    if !sandbox.accepts_key(bearer(&req)) {
        return error_response(&req, &SeamError::unauthorized());
    }
    let fault = sandbox.state().faults.take(route.path());
    if let Some(fault) = fault {
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = SeamError::new(status, fault.kind(), "Injected fault");
        error.retry_after = fault.retry_after;
        return error_response(&req, &error);
    }
    let params = if req.method() == Method::POST {
        Params::from_json(&body)
    } else {
        Params::from_query(req.query_string())
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => return error_response(&req, &e),
    };
    let info = req.connection_info().clone();
    let url_base = format!("{}://{}{}", info.scheme(), info.host(), route.path());
    let now = sandbox.now();
    let answer = {
        let mut state = sandbox.state();
        state.advance(now);
        api::handle(
            route,
            &mut state,
            &params,
            &Call {
                now,
                url_base: &url_base,
            },
        )
    };
    match answer {
        Ok(mut body) => {
            body.insert("ok".into(), json!(true));
            HttpResponse::Ok().json(Value::Object(body))
        }
        Err(e) => error_response(&req, &e),
    }
}
