//! GET/POST /staff/login and POST /staff/logout.
use std::net::{IpAddr, Ipv4Addr};

use actix_session::Session;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::auth;
use crate::staff::{client_ip, DeviceKey, SignIn, SignInAttempt};
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

/// One message for an unknown e-mail, a wrong password and a spent limit: none of them may
/// tell an attacker which accounts exist or which limit fired.
pub const REFUSED: &str = "E-mail or password is not right, or too many attempts. Try again later.";

#[derive(Template)]
#[template(path = "staff_login.html")]
struct LoginPage<'a> {
    csrf_token: String,
    email: &'a str,
    message: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    csrf_token: Option<String>,
}

fn render(
    session: &Session,
    email: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let html = LoginPage {
        csrf_token: csrf::token(session)?,
        email,
        message,
    }
    .render()?;
    let mut res = auth::page(html);
    *res.status_mut() = status;
    Ok(res)
}

pub async fn form(session: Session) -> Result<HttpResponse, WebError> {
    render(&session, "", None, StatusCode::OK)
}

/// The address a limit is charged to: the peer, or what a trusted proxy says the client is.
fn requester(req: &HttpRequest, trusted: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // Several X-Forwarded-For headers are one list, in order.
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = forwarded.join(",");
    client_ip(
        peer,
        (!forwarded.is_empty()).then_some(joined.as_str()),
        trusted,
    )
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    csrf::verify(
        &req,
        &session,
        form.csrf_token.as_deref(),
        &state.settings.public_url,
    )?;
    let presented = auth::presented(&req);
    let device = auth::presented_device(&req);
    let devices = DeviceKey::new(state.settings.secret_key.expose());
    let outcome = state
        .staff
        .sign_in(
            &state.staff_sign_in,
            &devices,
            SignInAttempt {
                email: &form.email,
                password: &form.password,
                ip: requester(&req, &state.settings.trusted_proxies),
                presented: presented.as_deref(),
                device: device.as_deref(),
                now: Utc::now(),
            },
        )
        .await
        .map_err(|e| WebError::internal("staff sign-in", e))?;
    let email = form.email.trim();
    match outcome {
        SignIn::Accepted { token, device, .. } => {
            csrf::renew(&session)?;
            Ok(HttpResponse::SeeOther()
                .cookie(auth::session_cookie(
                    token.as_str().to_string(),
                    &state.settings,
                ))
                .cookie(auth::device_cookie(device.into_string(), &state.settings))
                .insert_header((header::LOCATION, "/staff"))
                .insert_header(("Cache-Control", "no-store"))
                .finish())
        }
        SignIn::Refused => render(&session, email, Some(REFUSED), StatusCode::UNAUTHORIZED),
        SignIn::Limited { retry_after } => {
            let mut res = render(
                &session,
                email,
                Some(REFUSED),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            // Whole seconds, rounded up: asking again sooner is refused again.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs.max(1)));
            Ok(res)
        }
    }
}

pub async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, WebError> {
    csrf::verify(
        &req,
        &session,
        form.csrf_token.as_deref(),
        &state.settings.public_url,
    )?;
    if let Some(me) = auth::signed_in(&state, &req).await? {
        state
            .staff
            .sign_out(&me.staff, &me.session_id, Utc::now())
            .await?;
    }
    csrf::renew(&session)?;
    Ok(HttpResponse::SeeOther()
        .cookie(auth::removal_cookie(&state.settings))
        .insert_header((header::LOCATION, "/staff/login"))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: Option<String>,
}
