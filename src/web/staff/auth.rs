//! The staff session cookie and the gate in front of every signed-in page.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;

use crate::config::Settings;
use crate::staff::{SessionToken, StaffMember};
use crate::web::error::WebError;
use crate::web::AppState;

pub const COOKIE: &str = "tg_staff";

/// The signed-in staff member and their session's id.
pub struct SignedIn {
    pub staff: StaffMember,
    pub session_id: String,
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

/// The raw cookie value, if the browser sent one.
pub fn presented(req: &HttpRequest) -> Option<String> {
    req.cookie(COOKIE).map(|c| c.value().to_string())
}

/// A staff form post: it must come from our own page (CSRF, else 403) and from a signed-in
/// member (`None`: send them to sign in).
pub async fn signed_in_post(
    state: &AppState,
    req: &HttpRequest,
    session: &actix_session::Session,
    csrf_token: Option<&str>,
) -> Result<Option<SignedIn>, WebError> {
    crate::web::csrf::verify(req, session, csrf_token, &state.settings.public_url)?;
    signed_in(state, req).await
}

/// The staff member behind this request's cookie, if its session is live.
pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<Option<SignedIn>, WebError> {
    let Some(token) = presented(req).as_deref().and_then(SessionToken::parse) else {
        return Ok(None);
    };
    let session_id = token.id();
    let staff = crate::staff::touch_session(&state.store, &session_id, Utc::now()).await?;
    Ok(staff.map(|staff| SignedIn { staff, session_id }))
}

pub fn to_login() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/staff/login"))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// A staff page: never cached, by the browser or anything between.
pub fn page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(html)
}
