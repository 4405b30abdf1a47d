//! The emulator's own control surface under `/_fake/` (no key; Seam's fake uses the same
//! prefix): what the Rust API offers, for a CLI-run emulator.
//!
//! - `POST /_fake/clock` `{"now": RFC 3339}` or `{"advance_seconds": n}` or `{"now": null}`
//!   (real time) → `{"now"}`
//! - `POST /_fake/tick` → `{"attempted", "delivered"}`
//! - `POST /_fake/keypad` `{"device_id", "code"}` → the outcome
//! - `POST /_fake/devices/offline` `{"device_id", "offline": bool}`
//! - `POST /_fake/devices/full` `{"device_id", "full": bool}`
//! - `POST /_fake/deliveries` `{"drop_next"?, "duplicate_next"?, "delay_next"?,
//!   "delay_seconds"?, "reorder_next"?}`; `DELETE /_fake/deliveries` clears the knobs
//! - `POST /_fake/faults` a [`Fault`]; `DELETE /_fake/faults`
//! - `GET /_fake/state` → devices, access codes, events, webhooks (secrets left out),
//!   deliveries
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::SeamError;
use super::faults::Fault;
use super::routes::error_response;
use super::wire::seam_time;
use super::SeamSandbox;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/_fake/clock", web::post().to(clock))
        .route("/_fake/tick", web::post().to(tick))
        .route("/_fake/keypad", web::post().to(keypad))
        .route("/_fake/devices/offline", web::post().to(offline))
        .route("/_fake/devices/full", web::post().to(full))
        .route("/_fake/deliveries", web::post().to(knobs))
        .route("/_fake/deliveries", web::delete().to(clear_knobs))
        .route("/_fake/faults", web::post().to(add_fault))
        .route("/_fake/faults", web::delete().to(clear_faults))
        .route("/_fake/state", web::get().to(state));
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, SeamError> {
    serde_json::from_slice(body).map_err(|e| SeamError::bad_input(format!("control body: {e}")))
}

fn answer(req: &HttpRequest, result: Result<Value, SeamError>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => error_response(req, &e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    #[serde(default)]
    now: Option<Option<String>>,
    #[serde(default)]
    advance_seconds: Option<u64>,
}

async fn clock(
    req: HttpRequest,
    sandbox: web::Data<SeamSandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let body: ClockBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&req, &e),
    };
    match (body.now, body.advance_seconds) {
        (Some(Some(text)), None) => match DateTime::parse_from_rfc3339(&text) {
            Ok(t) => sandbox.set_now(t.with_timezone(&Utc)),
            Err(_) => return error_response(&req, &SeamError::invalid("now", "Expected RFC 3339")),
        },
        (Some(None), None) => sandbox.clock().use_real_time(),
        (None, Some(seconds)) => sandbox.advance(Duration::from_secs(seconds)),
        _ => {
            return error_response(
                &req,
                &SeamError::bad_input("Give exactly one of now and advance_seconds"),
            )
        }
    }
    HttpResponse::Ok().json(json!({ "now": seam_time(sandbox.now()) }))
}

async fn tick(sandbox: web::Data<SeamSandbox>) -> HttpResponse {
    HttpResponse::Ok().json(sandbox.tick().await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeypadBody {
    device_id: String,
    code: String,
}

async fn keypad(
    req: HttpRequest,
    sandbox: web::Data<SeamSandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let body: KeypadBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&req, &e),
    };
    answer(
        &req,
        sandbox
            .keypad_entry(&body.device_id, &body.code)
            .map(|o| json!(o)),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfflineBody {
    device_id: String,
    offline: bool,
}

async fn offline(
    req: HttpRequest,
    sandbox: web::Data<SeamSandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let body: OfflineBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&req, &e),
    };
    answer(
        &req,
        sandbox
            .set_device_offline(&body.device_id, body.offline)
            .map(|()| json!({})),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullBody {
    device_id: String,
    full: bool,
}

async fn full(req: HttpRequest, sandbox: web::Data<SeamSandbox>, body: web::Bytes) -> HttpResponse {
    let body: FullBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&req, &e),
    };
    answer(
        &req,
        sandbox
            .set_device_full(&body.device_id, body.full)
            .map(|()| json!({})),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnobsBody {
    #[serde(default)]
    drop_next: u32,
    #[serde(default)]
    duplicate_next: u32,
    #[serde(default)]
    delay_next: u32,
    #[serde(default)]
    delay_seconds: u64,
    #[serde(default)]
    reorder_next: u32,
}

async fn knobs(
    req: HttpRequest,
    sandbox: web::Data<SeamSandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let body: KnobsBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return error_response(&req, &e),
    };
    if body.drop_next > 0 {
        sandbox.drop_next_deliveries(body.drop_next);
    }
    if body.duplicate_next > 0 {
        sandbox.duplicate_next_deliveries(body.duplicate_next);
    }
    if body.delay_next > 0 {
        sandbox.delay_next_deliveries(body.delay_next, Duration::from_secs(body.delay_seconds));
    }
    if body.reorder_next > 0 {
        sandbox.reorder_next_deliveries(body.reorder_next);
    }
    HttpResponse::NoContent().finish()
}

async fn clear_knobs(sandbox: web::Data<SeamSandbox>) -> HttpResponse {
    sandbox.clear_delivery_knobs();
    HttpResponse::NoContent().finish()
}

async fn add_fault(
    req: HttpRequest,
    sandbox: web::Data<SeamSandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let fault: Fault = match parse(&body) {
        Ok(f) => f,
        Err(e) => return error_response(&req, &e),
    };
    if let Err(message) = fault.validate() {
        return error_response(&req, &SeamError::bad_input(message));
    }
    sandbox.inject_fault(fault);
    HttpResponse::NoContent().finish()
}

async fn clear_faults(sandbox: web::Data<SeamSandbox>) -> HttpResponse {
    sandbox.clear_faults();
    HttpResponse::NoContent().finish()
}

async fn state(sandbox: web::Data<SeamSandbox>) -> HttpResponse {
    let webhooks: Vec<Value> = sandbox
        .webhooks()
        .iter()
        .map(|w| json!({"webhook_id": w.webhook_id, "url": w.url, "event_types": w.event_types}))
        .collect();
    HttpResponse::Ok().json(json!({
        "now": seam_time(sandbox.now()),
        "devices": sandbox.devices(),
        "access_codes": sandbox.all_access_codes(),
        "events": sandbox.events().iter().map(|e| e.body.clone()).collect::<Vec<_>>(),
        "webhooks": webhooks,
        "deliveries": sandbox.deliveries(),
    }))
}
