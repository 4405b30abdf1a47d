//! The staff session cookie and the gate in front of every signed-in page: the `SignedIn` and
//! `StaffForm` extractors.
use actix_session::SessionExt;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header::ContentType;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use chrono::Utc;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::staff::{SessionToken, StaffMember, DEVICE_LIFETIME};
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

pub const COOKIE: &str = "tg_staff";

/// The signed-in staff member and their session's id, and what every staff page warns of.
pub struct SignedIn {
    pub staff: StaffMember,
    pub session_id: String,
    /// "Knock has refused our API key since ...": a configuration outage staff should raise
    /// with the operator (bookings wait, deliveries retry meanwhile).
    pub knock_down: Option<String>,
}

/// HttpOnly (scripts never see it), Secure behind https, Lax (sent on top-level navigation
/// only), and scoped to the staff area. No Max-Age: the server ends idle sessions.
pub fn session_cookie(value: String, settings: &Settings) -> Cookie<'static> {
    Cookie::build(COOKIE, value)
        .path("/staff")
        .http_only(true)
        .secure(settings.public_url.scheme() == "https")
        .same_site(SameSite::Lax)
        .finish()
}

pub fn removal_cookie(settings: &Settings) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), settings);
    c.make_removal();
    c
}

/// The device cookie: the browser signed in to this account before (see
/// `staff::DeviceKey`). HttpOnly, Secure behind https, Strict (the sign-in form posts from our
/// own page), sent to the sign-in form only, and kept for a year; sign-out leaves it.
pub const DEVICE_COOKIE: &str = "tg_device";

pub fn device_cookie(value: String, settings: &Settings) -> Cookie<'static> {
    let max_age = actix_web::cookie::time::Duration::seconds(DEVICE_LIFETIME.num_seconds());
    Cookie::build(DEVICE_COOKIE, value)
        .path("/staff/login")
        .http_only(true)
        .secure(settings.public_url.scheme() == "https")
        .same_site(SameSite::Strict)
        .max_age(max_age)
        .finish()
}

/// The device cookie's raw value, if the browser sent one.
pub fn presented_device(req: &HttpRequest) -> Option<String> {
    req.cookie(DEVICE_COOKIE).map(|c| c.value().to_string())
}

/// The raw cookie value, if the browser sent one.
pub fn presented(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_string())
}

/// The staff member behind this request's cookie, if its session is live. Looking counts as
/// activity: the session's idle time starts again.
pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Option<SignedIn>, WebError> {
    let Some(token) = presented(req).as_deref().and_then(SessionToken::parse) else {
        return Ok(None);
    };
    let session_id = token.id();
    let staff = state.staff.session(&session_id, Utc::now()).await?;
    let knock_down = state
        .bookings
        .knock_refused_since()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    Ok(staff.map(|staff| SignedIn {
        staff,
        session_id,
        knock_down,
    }))
}

fn app_state(req: &HttpRequest) -> Result<&AppState, WebError> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref())
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("the app has no AppState")))
}

async fn required(req: &HttpRequest) -> Result<SignedIn, WebError> {
    signed_in(app_state(req)?, req)
        .await?
        .ok_or(WebError::SignInRequired)
}

/// A signed-in page's argument: without a live session the browser is sent to sign in
/// (`WebError::SignInRequired`) and the handler never runs.
impl FromRequest for SignedIn {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { required(&req).await })
    }
}

/// A form that carries the synchronizer token as its `csrf_token` field.
pub trait CsrfForm {
    fn csrf_token(&self) -> Option<&str>;
}

/// A staff form post and who sent it, checked in this order: the form is read (the app's
/// `form_config`: size limit and 400 page), it came from our own page (CSRF, else 403), and
/// from a signed-in member (else to sign in). A refused post never touches the session.
pub struct StaffForm<T>(pub SignedIn, pub T);

impl<T> FromRequest for StaffForm<T>
where
    T: DeserializeOwned + CsrfForm + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form = web::Form::<T>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let web::Form(form) = form.await?;
            let state = app_state(&req)?;
            csrf::verify(
                &req,
                &req.get_session(),
                form.csrf_token(),
                &state.settings.public_url,
            )?;
            Ok(StaffForm(required(&req).await?, form))
        })
    }
}

/// A staff page: never cached, by the browser or anything between.
pub fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}
