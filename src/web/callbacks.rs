//! `POST /callbacks/access`: the access-control provider reports door access and completed
//! tours (SPEC.md "Access-control callback"). The Standard Webhooks signature is checked on the
//! raw body before anything is parsed; the webhook-id makes a replay a no-op.
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::json;
use standardwebhooks::{Webhook, WebhookError};

use super::AppState;
use crate::access::seam::{self, Seam};
use crate::booking::rules::CallbackKind;
use crate::booking::EventOutcome;
use crate::booking::{AccessCallback, CallbackOutcome};
use crate::booking::{BookingId, BookingState};

/// Callbacks are a few hundred bytes; anything far larger is not one.
const MAX_BODY: usize = 64 * 1024;
const MAX_UNITS: usize = 50;
const MAX_UNIT_NAME: usize = 100;
const MAX_WEBHOOK_ID: usize = 255;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/callbacks/access")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(access)),
    );
    cfg.service(
        web::resource("/callbacks/seam")
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(web::post().to(seam)),
    );
}

/// `POST /callbacks/seam`: Seam's webhooks (PROVIDERS.md §1.6), signed Svix-style. Verified
/// on the raw body under `svix-*` or `webhook-*` headers (401 otherwise), one bare event per
/// delivery (400 if it is not one), acted on once per event id. Anything verified and
/// readable is answered 200, whether it concerned one of our tours or not, so that Seam does
/// not retry what will never change; only our own failure is a 500 (Seam then retries).
#[tracing::instrument(name = "seam_callback", skip_all, fields(delivery, event, kind))]
async fn seam(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let Some(adapter) = state.bookings.access().seam() else {
        return refuse(StatusCode::NOT_FOUND, "no Seam lock is configured");
    };
    let delivery = match adapter.verify(|name| req.headers().get(name).map(|v| v.as_bytes()), &body)
    {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(reason = %e, "refused an unverified Seam webhook");
            return refuse(StatusCode::UNAUTHORIZED, e.to_string());
        }
    };
    tracing::Span::current().record("delivery", delivery.as_str());
    let event = match Seam::parse(&body) {
        Ok(e) => e,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    tracing::Span::current().record("event", event.id.as_str());
    tracing::Span::current().record("kind", event.event.name());
    match state
        .bookings
        .apply_access_event(seam::PROVIDER, &event, Utc::now())
        .await
    {
        Ok(outcome) => {
            let status = match outcome {
                EventOutcome::Applied { .. } => "accepted",
                EventOutcome::Duplicate => "duplicate",
                EventOutcome::NotOurs => "ignored",
                EventOutcome::Refused(_) => "refused",
            };
            tracing::info!(status, "Seam event");
            answer(StatusCode::OK, json!({ "status": status }))
        }
        Err(e) => {
            tracing::error!(error = %e, "Seam event failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "temporary failure: nothing was changed, send it again",
            )
        }
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "type")]
    kind: String,
    booking: String,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    unit_names: Option<Vec<String>>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(body)
}

fn refuse(status: StatusCode, error: impl Into<String>) -> HttpResponse {
    answer(status, json!({ "error": error.into() }))
}

#[tracing::instrument(name = "access_callback", skip_all, fields(webhook_id, kind, booking))]
async fn access(req: HttpRequest, body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let webhook = match Webhook::new(state.settings.access_webhook_secret.expose()) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(error = %e, "ACCESS_WEBHOOK_SECRET cannot be used");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "callbacks are not configured",
            );
        }
    };
    if let Err(e) = webhook.verify(&body, &signature_headers(&req)) {
        tracing::warn!(reason = %e, "refused an unverified access callback");
        let why = match e {
            WebhookError::TimestampTooOldError | WebhookError::FutureTimestampError => {
                "webhook-timestamp is more than 5 minutes off"
            }
            WebhookError::MissingHeader(_) | WebhookError::InvalidHeader(_) => {
                "webhook-id, webhook-timestamp and webhook-signature are required"
            }
            _ => "the signature does not match",
        };
        return refuse(StatusCode::UNAUTHORIZED, why);
    }
    // Verified: the headers are present and readable.
    let webhook_id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    tracing::Span::current().record("webhook_id", webhook_id.as_str());
    if webhook_id.is_empty() || webhook_id.len() > MAX_WEBHOOK_ID {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("webhook-id must be 1 to {MAX_WEBHOOK_ID} characters"),
        );
    }
    let parsed: Body = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("malformed body: {e}")),
    };
    let Some(kind) = CallbackKind::parse(&parsed.kind) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "unknown type: expected access.granted or tour.completed",
        );
    };
    tracing::Span::current().record("kind", kind.as_str());
    let unit_names = parsed.unit_names.unwrap_or_default();
    if unit_names.len() > MAX_UNITS
        || unit_names.iter().any(|u| {
            u.trim().is_empty()
                || u.chars().count() > MAX_UNIT_NAME
                || u.chars().any(char::is_control)
        })
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("unit_names: at most {MAX_UNITS} names of 1 to {MAX_UNIT_NAME} characters"),
        );
    }
    let Some(booking) = BookingId::parse(&parsed.booking) else {
        return refuse(StatusCode::NOT_FOUND, "unknown booking");
    };
    tracing::Span::current().record("booking", booking.as_str());
    let callback = AccessCallback {
        webhook_id,
        kind,
        booking,
        occurred_at: parsed.occurred_at,
        unit_names,
    };
    match state.bookings.apply_callback(&callback, Utc::now()).await {
        Ok(CallbackOutcome::Accepted { changed }) => {
            tracing::info!(changed, "access callback accepted");
            answer(StatusCode::OK, json!({ "status": "accepted" }))
        }
        Ok(CallbackOutcome::Duplicate) => {
            tracing::info!("access callback replayed: nothing done");
            answer(StatusCode::OK, json!({ "status": "duplicate" }))
        }
        Ok(CallbackOutcome::UnknownBooking) => refuse(StatusCode::NOT_FOUND, "unknown booking"),
        Ok(CallbackOutcome::Refused(BookingState::Cancelled)) => {
            refuse(StatusCode::CONFLICT, "the booking is cancelled")
        }
        Ok(CallbackOutcome::Refused(other)) => refuse(
            StatusCode::CONFLICT,
            format!("the booking is {}", other.as_str()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "access callback failed");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "temporary failure: nothing was changed, send it again",
            )
        }
    }
}

/// The three Standard Webhooks headers, in the `http` 1 map the verifier takes.
fn signature_headers(req: &HttpRequest) -> HeaderMap {
    let mut map = HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(v) = req
            .headers()
            .get(name)
            .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        {
            map.insert(HeaderName::from_static(name), v);
        }
    }
    map
}
