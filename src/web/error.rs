//! One error type for every handler, mapped to an HTML page and a status in one place.
//! Internal causes are logged with their whole chain; people see only a plain, safe message.
use std::error::Error as StdError;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::booking::BookError;
use crate::knock::KnockError;
use crate::store::StoreError;

/// What a renter is told, wherever they are, when Knock's calendar cannot be reached.
pub const CALENDAR_DOWN: &str = "The leasing office's calendar is not answering, so nothing was changed. Please try again in a few minutes.";

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    /// A staff page without a live staff session: the browser is sent to sign in.
    #[error("staff sign-in required")]
    SignInRequired,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request is fine but the thing it acts on is past that point.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Another change to the same thing is on its way: nothing was done; try again shortly.
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// Knock could not be reached: the renter sees [`CALENDAR_DOWN`], the log the cause.
    #[error("Knock's calendar is not answering")]
    CalendarDown(#[source] KnockError),
    /// Our own failure; the cause (and its causes) go to the log only.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl WebError {
    /// An internal failure while `doing` something, `e` kept as its cause.
    pub fn internal<E>(doing: &'static str, e: E) -> Self
    where
        E: StdError + Send + Sync + 'static,
    {
        Self::Internal(anyhow::Error::new(e).context(doing))
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.into())
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::internal("template", e)
    }
}

impl From<BookError> for WebError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::KnockUnavailable(e) => Self::CalendarDown(e),
            BookError::Store(e) => e.into(),
        }
    }
}

/// An error and its causes on one line, outermost first, each said once: a cause whose text
/// its parent already includes (`database error: {0}` over the driver's error) is not repeated.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = c.source();
    }
    line
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
            Self::SignInRequired => StatusCode::SEE_OTHER,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) | Self::Busy(_) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) | Self::CalendarDown(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message): (&str, &str) = match self {
            Self::NotFound => ("Page not found", "We could not find this page. Check the link you followed, or ask the community for a new one."),
            Self::SignInRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/staff/login"))
                    .insert_header(("Cache-Control", "no-store"))
                    .finish();
            }
            Self::Forbidden(why) => ("Not allowed", why),
            Self::Conflict(why) => ("This cannot be done any more", why),
            Self::Busy(why) => ("One moment, please", why),
            Self::BadRequest(why) => ("Something is wrong with this request", why),
            Self::Unavailable(why) => ("Please try again shortly", why),
            Self::CalendarDown(_) => {
                tracing::warn!(error = %chain(self), "Knock unavailable");
                ("Please try again shortly", CALENDAR_DOWN)
            }
            Self::Internal(_) => {
                tracing::error!(cause = %chain(self), "internal error");
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

#[cfg(test)]
mod tests {
    use actix_web::body::MessageBody;

    use super::*;

    fn body(e: &WebError) -> String {
        let bytes = e.error_response().into_body().try_into_bytes().unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn an_internal_error_is_logged_with_its_whole_cause_chain_and_shown_without_it() {
        let disk = std::io::Error::other("disk on fire");
        let e = WebError::internal("reading the mailbox", disk);
        assert_eq!(
            chain(&e),
            "internal error: reading the mailbox: disk on fire"
        );
        assert_eq!(e.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        let page = body(&e);
        assert!(page.contains("Something went wrong on our side"), "{page}");
        assert!(!page.contains("disk on fire") && !page.contains("mailbox"));
    }

    #[test]
    fn a_store_error_keeps_the_driver_error_and_says_it_once() {
        let e = WebError::from(StoreError::Database(sqlx::Error::PoolTimedOut));
        let line = chain(&e);
        let driver = sqlx::Error::PoolTimedOut.to_string();
        assert!(
            line.starts_with("internal error: database error: "),
            "{line}"
        );
        assert_eq!(line.matches(&driver).count(), 1, "{line}");
        assert!(!body(&e).contains(&driver));
    }

    #[test]
    fn knock_being_down_is_one_sentence_and_its_cause_is_kept_for_the_log() {
        let knock = KnockError::Retryable {
            endpoint: "available_times",
            status: Some(503),
            retry_after: None,
            detail: "upstream gone".into(),
        };
        let e = WebError::from(BookError::KnockUnavailable(knock));
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(chain(&e).contains("upstream gone"), "{}", chain(&e));
        let page = body(&e);
        assert!(
            page.contains("calendar is not answering, so nothing was changed"),
            "{page}"
        );
        assert!(!page.contains("upstream gone"));
        let store = WebError::from(BookError::Store(StoreError::Corrupt("bad row".into())));
        assert_eq!(store.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(chain(&store).contains("bad row"));
    }

    #[test]
    fn no_staff_session_is_a_no_store_redirect_to_sign_in() {
        let r = WebError::SignInRequired.error_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers().get(header::LOCATION).unwrap(), "/staff/login");
        assert_eq!(r.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}
