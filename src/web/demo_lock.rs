//! The demo lock (demo mode only): a keypad page at `/sandbox/lock/{community}`. A valid code
//! opens the door, and the simulated lock tells us so exactly as a real provider would: a
//! signed `access.granted` to `POST /callbacks/access` over HTTP; "Finish tour" sends
//! `tour.completed` the same way.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use standardwebhooks::Webhook;

use super::error::WebError;
use super::{csrf, AppState};
use crate::booking::Booking;
use crate::config::Community;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sandbox/lock/{community}", web::get().to(keypad))
        .route("/sandbox/lock/{community}/open", web::post().to(open))
        .route("/sandbox/lock/{community}/finish", web::post().to(finish));
}

#[derive(Template)]
#[template(path = "lock.html")]
struct LockPage<'a> {
    community: &'a Community,
    csrf_token: String,
    notice: Option<&'a str>,
    opened: Option<String>,
    code: String,
    finished: bool,
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf_token: Option<String>,
    code: String,
}

fn community<'a>(state: &'a AppState, slug: &str) -> Result<&'a Community, WebError> {
    if !state.settings.demo() {
        return Err(WebError::NotFound);
    }
    state
        .settings
        .communities
        .get(slug)
        .ok_or(WebError::NotFound)
}

fn render(status: StatusCode, page: LockPage<'_>) -> Result<HttpResponse, WebError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

fn page<'a>(c: &'a Community, session: &Session) -> Result<LockPage<'a>, WebError> {
    Ok(LockPage {
        community: c,
        csrf_token: csrf::token(session)?,
        notice: None,
        opened: None,
        code: String::new(),
        finished: false,
    })
}

async fn keypad(
    state: web::Data<AppState>,
    path: web::Path<String>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    render(StatusCode::OK, page(c, &session)?)
}

/// The live booking this code opens now, if any.
async fn booking_for(
    state: &AppState,
    c: &Community,
    code: &str,
) -> Result<Option<Booking>, WebError> {
    Ok(state.bookings.booking_for_code(c, code, Utc::now()).await?)
}

async fn open(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    session: Session,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    csrf::verify(
        &req,
        &session,
        form.csrf_token.as_deref(),
        &state.settings.public_url,
    )?;
    let Some(booking) = booking_for(&state, c, &form.code).await? else {
        let mut p = page(c, &session)?;
        p.notice =
            Some("That code does not open this door now. Check the code and your tour time.");
        return render(StatusCode::FORBIDDEN, p);
    };
    let body = json!({ "type": "access.granted", "booking": booking.id.as_str(),
                       "occurred_at": Utc::now().to_rfc3339() });
    tell_tourgate(&state, &body).await?;
    let mut p = page(c, &session)?;
    p.opened = Some(booking.id.to_string());
    p.code = form.code.clone();
    render(StatusCode::OK, p)
}

async fn finish(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    session: Session,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    csrf::verify(
        &req,
        &session,
        field("csrf_token"),
        &state.settings.public_url,
    )?;
    let Some(booking) = booking_for(&state, c, field("code").unwrap_or("")).await? else {
        let mut p = page(c, &session)?;
        p.notice = Some("That code does not open this door now.");
        return render(StatusCode::FORBIDDEN, p);
    };
    let units: Vec<&str> = form
        .iter()
        .filter(|(k, v)| k == "unit" && c.units.iter().any(|u| u == v))
        .map(|(_, v)| v.as_str())
        .collect();
    let body = json!({ "type": "tour.completed", "booking": booking.id.as_str(),
                       "occurred_at": Utc::now().to_rfc3339(), "unit_names": units });
    tell_tourgate(&state, &body).await?;
    let mut p = page(c, &session)?;
    p.finished = true;
    render(StatusCode::OK, p)
}

/// What a provider does: a signed POST to our callback endpoint, over HTTP.
async fn tell_tourgate(state: &AppState, body: &serde_json::Value) -> Result<(), WebError> {
    let body = body.to_string();
    let id = format!("lock_{}", csrf::random_token());
    let ts = Utc::now().timestamp();
    let signature = Webhook::new(state.settings.access_webhook_secret.expose())
        .and_then(|w| w.sign(&id, ts, body.as_bytes()))
        .map_err(|e| WebError::internal("demo lock signing", e))?;
    let url = state
        .settings
        .public_url
        .join("callbacks/access")
        .map_err(|e| WebError::internal("demo lock URL", e))?;
    let answer = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| WebError::Unavailable(format!("The lock could not reach Tourgate: {e}")))?;
    if !answer.status().is_success() {
        return Err(WebError::Unavailable(format!(
            "Tourgate answered the lock with HTTP {}.",
            answer.status().as_u16()
        )));
    }
    Ok(())
}
