//! Webhook endpoints and deliveries (PROVIDERS.md §1.6 "Webhook delivery", §4.4 item 9):
//! each event is POSTed as the bare event JSON, signed Svix-style, retried on the documented
//! schedule with the same `svix-id`, and bent by the delivery knobs (drop, duplicate, delay,
//! reorder). Deliveries wait in a queue that `tick()` works off against the emulator's clock.
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::Serialize;

use super::events::{filter_matches, SeamEvent};
use super::wire::new_id;

/// Svix's retry schedule after a failed attempt (S-WH): immediately, 5 s, 5 min, 30 min,
/// 2 h, 5 h, 10 h, 10 h; then it gives up.
pub const RETRY_SCHEDULE: [Duration; 8] = [
    Duration::from_secs(0),
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// A registered endpoint (`/webhooks/create`, or `set_webhook`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEndpoint {
    pub webhook_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    /// `whsec_<base64 key>`.
    pub secret: String,
}

impl WebhookEndpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|f| filter_matches(f, event_type))
    }
}

/// A fresh `whsec_` secret: 24 random bytes, base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// `svix-signature` for one attempt: `v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let webhook = standardwebhooks::Webhook::new(secret).ok()?;
    webhook.sign(msg_id, timestamp, body.as_bytes()).ok()
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its due time.
    Pending,
    /// Held back by the reorder knob until its batch is complete.
    Held,
    /// Answered 2xx.
    Delivered,
    /// Every retry failed.
    GaveUp,
    /// Dropped by the knob: never sent.
    Dropped,
}

/// One attempt to POST a delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The endpoint's HTTP status, if it answered.
    pub status: Option<u16>,
    /// A transport error, if it did not.
    pub error: Option<String>,
}

/// One message to one endpoint (a duplicate is a second delivery with the same `svix_id`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub delivery_id: String,
    /// `svix-id`: the same on every retry and duplicate of this message.
    pub svix_id: String,
    pub event_id: String,
    pub event_type: String,
    pub webhook_id: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// The exact bytes POSTed.
    pub body: String,
    pub state: DeliveryState,
    pub due_at: DateTime<Utc>,
    /// Order among deliveries due at the same time (lower first).
    pub seq: u64,
    pub attempts: Vec<DeliveryAttempt>,
}

impl Delivery {
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state == DeliveryState::Pending && self.due_at <= now
    }

    /// After a failed attempt: the next due time, or give up.
    pub fn schedule_retry(&mut self, now: DateTime<Utc>) {
        let retries_done = self.attempts.len().saturating_sub(1);
        match RETRY_SCHEDULE.get(retries_done) {
            Some(wait) => {
                self.due_at = now + TimeDelta::from_std(*wait).unwrap_or(TimeDelta::MAX);
            }
            None => self.state = DeliveryState::GaveUp,
        }
    }
}

/// The delivery knobs: each counts events (not endpoints) and applies to the next ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeliveryKnobs {
    /// The next N events are never delivered (still in `/events/list`).
    pub drop_next: u32,
    /// The next N events are delivered twice, same `svix-id`.
    pub duplicate_next: u32,
    /// The next N events are first attempted `delay` later.
    pub delay_next: u32,
    pub delay: Duration,
    /// Batches of this many events are held and released in reverse order.
    pub reorder_batch: u32,
    /// Deliveries held for the current reorder batch, and how many events they cover.
    #[serde(skip)]
    pub held_events: u32,
}

/// The deliveries for one event across the endpoints that want it, with the knobs applied.
pub fn plan(
    event: &SeamEvent,
    endpoints: &[WebhookEndpoint],
    knobs: &mut DeliveryKnobs,
    now: DateTime<Utc>,
    next_seq: &mut u64,
) -> Vec<Delivery> {
    let wanted: Vec<&WebhookEndpoint> = endpoints
        .iter()
        .filter(|e| e.wants(&event.event_type))
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let body = event.body.to_string();
    let dropped = take(&mut knobs.drop_next);
    let duplicated = take(&mut knobs.duplicate_next);
    let delayed = take(&mut knobs.delay_next);
    let held = knobs.reorder_batch > 0;
    let due_at = if delayed {
        now + TimeDelta::from_std(knobs.delay).unwrap_or(TimeDelta::MAX)
    } else {
        now
    };
    let mut out = Vec::new();
    for endpoint in wanted {
        let svix_id = format!("msg_{}", new_id().replace('-', ""));
        let copies = if duplicated { 2 } else { 1 };
        for _ in 0..copies {
            *next_seq += 1;
            out.push(Delivery {
                delivery_id: new_id(),
                svix_id: svix_id.clone(),
                event_id: event.event_id.clone(),
                event_type: event.event_type.clone(),
                webhook_id: endpoint.webhook_id.clone(),
                url: endpoint.url.clone(),
                secret: endpoint.secret.clone(),
                body: body.clone(),
                state: if dropped {
                    DeliveryState::Dropped
                } else if held {
                    DeliveryState::Held
                } else {
                    DeliveryState::Pending
                },
                due_at,
                seq: *next_seq,
                attempts: Vec::new(),
            });
        }
    }
    if held && !dropped {
        knobs.held_events += 1;
    }
    out
}

/// Releases the held deliveries in reverse order of holding.
pub fn release_held(deliveries: &mut [Delivery], now: DateTime<Utc>, next_seq: &mut u64) {
    let mut held: Vec<&mut Delivery> = deliveries
        .iter_mut()
        .filter(|d| d.state == DeliveryState::Held)
        .collect();
    held.sort_by_key(|d| std::cmp::Reverse(d.seq));
    for d in held {
        *next_seq += 1;
        d.seq = *next_seq;
        d.state = DeliveryState::Pending;
        d.due_at = d.due_at.max(now);
    }
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}
