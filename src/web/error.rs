//! One error type for every handler, mapped to an HTML page and a status in one place.
//! Internal causes are logged; people see only a plain, safe message.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request is fine but the thing it acts on is past that point.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message): (&str, &str) = match self {
            Self::NotFound => ("Page not found", "We could not find this page. Check the link you followed, or ask the community for a new one."),
            Self::Forbidden(why) => ("Not allowed", why),
            Self::Conflict(why) => ("This cannot be done any more", why),
            Self::BadRequest(why) => ("Something is wrong with this request", why),
            Self::Unavailable(why) => ("Please try again shortly", why),
            Self::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                ("Something went wrong on our side", "Nothing was changed. Please try again in a moment.")
            }
        };
        let body = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| message.to_string());
        HttpResponse::build(self.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}
