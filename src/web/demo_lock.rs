//! The demo lock (demo mode only): a keypad page at `/sandbox/lock/{community}`.
//!
//! For a community on the built-in codes a valid code opens the door, and the simulated lock
//! tells us so exactly as a real provider would: a signed `access.granted` to
//! `POST /callbacks/access` over HTTP; "Finish tour" sends `tour.completed` the same way.
//!
//! For a community on a Seam lock the page is the in-process Seam emulator's keypad
//! (`SeamSandbox::keypad_entry`): the emulator decides whether its lock opens, and reports it
//! with its signed webhook to `POST /callbacks/seam`, so that the arrival comes through the
//! real adapter. The page says what the lock did and what it holds (the emulator's codes on
//! the device, their PINs masked); the renter finishes on the booking page.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use standardwebhooks::Webhook;

use seam_sandbox::{AccessCodeRecord, CodeStatus, DeliveryState, KeypadOutcome, SeamSandbox};

use super::error::WebError;
use super::{csrf, AppState};
use crate::booking::Booking;
use crate::config::Community;
use crate::domain::describe;

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
    /// The Seam emulator's lock, for a community on a Seam lock.
    seam: Option<SeamLock>,
}

/// What the Seam emulator's lock shows: the last entry's outcome and the codes it holds.
struct SeamLock {
    device_name: String,
    locked: bool,
    entry: Option<SeamEntry>,
    codes: Vec<HeldCode>,
}

/// What the lock did with the PIN just typed.
struct SeamEntry {
    opened: bool,
    /// The code that opened it (its name on the lock), or why it refused.
    detail: String,
    /// Whether the lock's signed webhook reached Tourgate, in words.
    reported: String,
}

/// One code on the lock, its PIN masked.
struct HeldCode {
    name: String,
    masked_pin: String,
    pin_length: usize,
    state: &'static str,
    status: &'static str,
    window: String,
    issues: Vec<String>,
    just_used: bool,
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
    let c = state
        .settings
        .communities
        .get(slug)
        .ok_or(WebError::NotFound)?;
    if c.lock.seam_device().is_some() && state.seam_sandbox.is_none() {
        // A Seam lock elsewhere (SEAM_ENDPOINT set): there is no keypad here to drive.
        return Err(WebError::NotFound);
    }
    Ok(c)
}

/// Whether `/sandbox/lock/{slug}` serves a keypad for `c` (the demo index links it then).
pub fn has_demo_lock(state: &AppState, c: &Community) -> bool {
    state.settings.demo() && (c.lock.seam_device().is_none() || state.seam_sandbox.is_some())
}

/// The emulator and the device of a community on a Seam lock, when the emulator is here.
fn seam_lock<'a>(state: &'a AppState, c: &'a Community) -> Option<(&'a SeamSandbox, &'a str)> {
    Some((state.seam_sandbox.as_ref()?, c.lock.seam_device()?))
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
        seam: None,
    })
}

async fn keypad(
    state: web::Data<AppState>,
    path: web::Path<String>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    let mut p = page(c, &session)?;
    if let Some((emulator, device)) = seam_lock(&state, c) {
        p.seam = Some(seam_view(emulator, device, c, None, None));
    }
    render(StatusCode::OK, p)
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
    if let Some((emulator, device)) = seam_lock(&state, c) {
        return seam_keypad(emulator, device, c, &session, &form.code).await;
    }
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
    if c.lock.seam_device().is_some() {
        // A Seam lock reports entries, not tours: the renter finishes on the booking page.
        return Err(WebError::NotFound);
    }
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

/// A PIN typed on the Seam emulator's keypad: the emulator decides, then its webhooks due now
/// (the entry's report among them) are sent at once rather than at the next second's tick, so
/// that the booking page shows the arrival when the renter goes back to it.
async fn seam_keypad(
    emulator: &SeamSandbox,
    device: &str,
    c: &Community,
    session: &Session,
    typed: &str,
) -> Result<HttpResponse, WebError> {
    let pin: String = typed.chars().filter(|ch| !ch.is_whitespace()).collect();
    let mut p = page(c, session)?;
    if pin.is_empty() || pin.len() > 12 || !pin.chars().all(|ch| ch.is_ascii_digit()) {
        p.notice = Some("Type the digits of your door code.");
        p.seam = Some(seam_view(emulator, device, c, None, None));
        return render(StatusCode::UNPROCESSABLE_ENTITY, p);
    }
    let before = emulator.events().len();
    let outcome = emulator
        .keypad_entry(device, &pin)
        .map_err(|e| WebError::Unavailable(format!("The Seam emulator's lock: {e}")))?;
    emulator.tick().await;
    let event_id = emulator
        .events()
        .iter()
        .skip(before)
        .find(|e| {
            matches!(
                e.event_type.as_str(),
                "lock.unlocked" | "lock.access_denied"
            )
        })
        .map(|e| e.event_id.clone());
    let reported = reported(emulator, event_id.as_deref());
    let (status, entry, used) = match outcome {
        KeypadOutcome::Unlocked { access_code_id, .. } => {
            let name = emulator
                .access_code(&access_code_id)
                .and_then(|code| code.name)
                .unwrap_or_else(|| "a code without a name".into());
            let entry = SeamEntry {
                opened: true,
                detail: format!("It matched the code \u{201c}{name}\u{201d} and unlocked."),
                reported,
            };
            (StatusCode::OK, entry, Some(access_code_id))
        }
        KeypadOutcome::Denied { reason_code } => {
            p.notice = Some(match reason_code.as_str() {
                "expired_code" => "The lock refused that code: it has expired on this lock.",
                _ => "The lock refused that code: it does not hold it. Check the code; if you just booked, the lock may not have it yet.",
            });
            let entry = SeamEntry {
                opened: false,
                detail: format!("The lock reported an access denied ({reason_code})."),
                reported,
            };
            (StatusCode::FORBIDDEN, entry, None)
        }
    };
    p.seam = Some(seam_view(emulator, device, c, Some(entry), used.as_deref()));
    render(status, p)
}

/// Whether the lock's report of the entry reached Tourgate, as the emulator's deliveries say.
fn reported(emulator: &SeamSandbox, event_id: Option<&str>) -> String {
    let deliveries: Vec<_> = emulator
        .deliveries()
        .into_iter()
        .filter(|d| Some(d.event_id.as_str()) == event_id)
        .collect();
    if deliveries.is_empty() {
        return "The lock has no webhook to report it to.".into();
    }
    if deliveries
        .iter()
        .any(|d| d.state == DeliveryState::Delivered)
    {
        return "The lock reported it to Tourgate (a signed Seam webhook to /callbacks/seam), which answered it.".into();
    }
    let status = deliveries
        .iter()
        .flat_map(|d| d.attempts.last())
        .find_map(|a| a.status)
        .map(|s| format!(" (HTTP {s})"))
        .unwrap_or_default();
    format!("The lock's report to Tourgate has not gone through yet{status}; the emulator tries again on Seam's schedule.")
}

fn seam_view(
    emulator: &SeamSandbox,
    device: &str,
    c: &Community,
    entry: Option<SeamEntry>,
    used: Option<&str>,
) -> SeamLock {
    let found = emulator
        .devices()
        .into_iter()
        .find(|d| d.device_id == device);
    let now = Utc::now();
    SeamLock {
        device_name: found
            .as_ref()
            .map(|d| d.display_name.clone())
            .unwrap_or_else(|| device.to_string()),
        locked: found.as_ref().is_none_or(|d| d.locked),
        entry,
        codes: emulator
            .access_codes(device)
            .iter()
            .map(|code| held(code, c, now, used))
            .collect(),
    }
}

/// A code as the page shows it: never its PIN, which may be another renter's.
fn held(
    code: &AccessCodeRecord,
    c: &Community,
    now: chrono::DateTime<Utc>,
    used: Option<&str>,
) -> HeldCode {
    let pin_length = code.code.as_ref().map_or(0, String::len);
    let (state, status) = match code.status {
        CodeStatus::Set => ("set", "On the lock: it opens the door"),
        CodeStatus::Unset if code.is_scheduled_on_device => {
            ("scheduled", "Loaded on the lock, for its window")
        }
        CodeStatus::Unset => ("unset", "Not on the lock yet"),
        CodeStatus::Setting => ("setting", "Being put on the lock"),
        CodeStatus::Removing => ("removing", "Being taken off the lock"),
        CodeStatus::Unknown => ("unknown", "Unknown: the lock cannot be reached"),
    };
    let window = match code.window {
        None => "Works at any time".to_string(),
        Some((start, end)) if start <= now => format!("Works until {}", describe(end, c.timezone)),
        Some((start, end)) => format!(
            "Works from {} until {}",
            describe(start, c.timezone),
            describe(end, c.timezone)
        ),
    };
    HeldCode {
        name: code.name.clone().unwrap_or_else(|| "(no name)".into()),
        masked_pin: "\u{2022}".repeat(pin_length),
        pin_length,
        state,
        status,
        window,
        issues: code
            .errors
            .iter()
            .chain(&code.warnings)
            .map(|i| i.code.clone())
            .collect(),
        just_used: used == Some(code.access_code_id.as_str()),
    }
}
