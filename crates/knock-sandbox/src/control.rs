//! The sandbox's own control surface under `/_sandbox/` (no api key): faults, clock, state,
//! the office's decisions on requests it reviews, and the HTML view in demo mode.
use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;

use super::faults::Fault;
use super::gateway::{missing_token, resource};
use super::{view, wire, AppointmentRecord, OfficeDecisionError, Sandbox};

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/_sandbox").route(web::get().to(html_view)))
        .service(
            resource("/_sandbox/faults")
                .route(web::post().to(add_fault))
                .route(web::delete().to(clear_faults)),
        )
        .service(resource("/_sandbox/clock").route(web::post().to(set_clock)))
        .service(resource("/_sandbox/state").route(web::get().to(state)))
        .service(
            resource("/_sandbox/appointments/{appointmentId}/confirm")
                .route(web::post().to(office_confirms)),
        )
        .service(
            resource("/_sandbox/appointments/{appointmentId}/decline")
                .route(web::post().to(office_declines)),
        );
}

/// The office's decision on a request it reviews: 200 with the appointment as the appointment
/// routes show it, 404 for an unknown id, 409 when it was decided the other way already.
fn office_answer(outcome: Result<AppointmentRecord, OfficeDecisionError>) -> HttpResponse {
    match outcome {
        Ok(appointment) => HttpResponse::Ok().json(wire::appointment(&appointment)),
        Err(e @ OfficeDecisionError::Unknown(_)) => {
            HttpResponse::NotFound().json(json!({ "errorMessage": e.to_string() }))
        }
        Err(e @ OfficeDecisionError::AlreadyDecided { .. }) => {
            HttpResponse::Conflict().json(json!({ "errorMessage": e.to_string() }))
        }
    }
}

async fn office_confirms(sandbox: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    office_answer(sandbox.office_confirms(&path))
}

async fn office_declines(sandbox: web::Data<Sandbox>, path: web::Path<String>) -> HttpResponse {
    office_answer(sandbox.office_declines(&path))
}

fn bad_request(message: String) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({ "errorMessage": message }))
}

async fn add_fault(sandbox: web::Data<Sandbox>, body: web::Bytes) -> HttpResponse {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(fault) => fault,
        Err(e) => return bad_request(format!("fault: {e}")),
    };
    if let Err(message) = fault.validate() {
        return bad_request(message);
    }
    sandbox.inject_fault(fault);
    HttpResponse::NoContent().finish()
}

async fn clear_faults(sandbox: web::Data<Sandbox>) -> HttpResponse {
    sandbox.clear_faults();
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    /// RFC 3339, or null for real time.
    now: Option<String>,
}

async fn set_clock(sandbox: web::Data<Sandbox>, body: web::Bytes) -> HttpResponse {
    let clock: ClockBody = match serde_json::from_slice(&body) {
        Ok(clock) => clock,
        Err(e) => return bad_request(format!("clock: {e}")),
    };
    let now = match clock
        .now
        .as_deref()
        .map(DateTime::parse_from_rfc3339)
        .transpose()
    {
        Ok(now) => now.map(|t| t.with_timezone(&Utc)),
        Err(_) => return bad_request("now: must be an RFC 3339 date-time or null".to_owned()),
    };
    sandbox.set_now(now);
    HttpResponse::Ok()
        .json(json!({ "now": sandbox.now().to_rfc3339_opts(SecondsFormat::Micros, true) }))
}

async fn state(sandbox: web::Data<Sandbox>) -> HttpResponse {
    HttpResponse::Ok().json(sandbox.snapshot())
}

async fn html_view(sandbox: web::Data<Sandbox>) -> HttpResponse {
    if !sandbox.html_view() {
        return missing_token(sandbox).await;
    }
    match view::render(&sandbox.snapshot()) {
        Ok(page) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page),
        Err(e) => {
            tracing::error!(error = %e, "sandbox view failed to render");
            HttpResponse::InternalServerError().finish()
        }
    }
}
