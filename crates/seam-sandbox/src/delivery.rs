//! Working off the webhook queue: each due delivery is POSTed, signed at the moment it is sent
//! (`svix-timestamp` is the wall clock, as Svix stamps it, even when the emulator's clock is
//! pinned), and its outcome recorded; a failure is retried on Svix's schedule, which runs on
//! the emulator's clock.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::webhooks::{sign, DeliveryAttempt, DeliveryState, HeaderStyle};
use super::SeamSandbox;

/// How long the emulator waits for an endpoint (Svix waits 15 s; shorter keeps tests quick).
pub const ENDPOINT_TIMEOUT: Duration = Duration::from_secs(5);

/// What one `tick()` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Deliveries attempted.
    pub attempted: usize,
    /// Of those, answered 2xx.
    pub delivered: usize,
}

struct Due {
    delivery_id: String,
    svix_id: String,
    url: String,
    secret: String,
    body: String,
    style: HeaderStyle,
}

impl SeamSandbox {
    /// Advances the lifecycle to the emulator's now and attempts every delivery due, in order.
    pub async fn tick(&self) -> TickReport {
        let _one_at_a_time = self.inner.tick_lock.lock().await;
        let now = self.now();
        let due: Vec<Due> = {
            let mut state = self.state();
            state.advance(now);
            if state
                .deliveries
                .iter()
                .any(|d| d.state == DeliveryState::Held)
            {
                // A reorder batch that did not fill up goes out now, reversed.
                state.release_held(now);
            }
            let mut due: Vec<_> = state.deliveries.iter().filter(|d| d.is_due(now)).collect();
            due.sort_by_key(|d| (d.due_at, d.seq));
            due.into_iter()
                .map(|d| Due {
                    delivery_id: d.delivery_id.clone(),
                    svix_id: d.svix_id.clone(),
                    url: d.url.clone(),
                    secret: d.secret.clone(),
                    body: d.body.clone(),
                    style: state.header_style,
                })
                .collect()
        };
        let mut report = TickReport::default();
        for d in due {
            let attempt = self.post(&d, now).await;
            report.attempted += 1;
            let ok = attempt.status.is_some_and(|s| (200..300).contains(&s));
            if ok {
                report.delivered += 1;
            } else {
                tracing::info!(
                    url = %d.url,
                    status = ?attempt.status,
                    error = ?attempt.error,
                    "seam sandbox: webhook delivery failed, will retry"
                );
            }
            let mut state = self.state();
            if let Some(delivery) = state
                .deliveries
                .iter_mut()
                .find(|x| x.delivery_id == d.delivery_id)
            {
                delivery.attempts.push(attempt);
                if ok {
                    delivery.state = DeliveryState::Delivered;
                } else {
                    delivery.schedule_retry(now);
                }
            }
        }
        report
    }

    /// Same as [`SeamSandbox::tick`].
    pub async fn run_due(&self) -> TickReport {
        self.tick().await
    }

    /// `now` is the emulator's clock (the attempt's time, from which a retry is scheduled);
    /// the signature is stamped with the moment of sending, as Svix does, so that a receiver
    /// checking the timestamp against its own clock accepts a delivery from a pinned emulator.
    async fn post(&self, d: &Due, now: DateTime<Utc>) -> DeliveryAttempt {
        let timestamp = Utc::now().timestamp();
        let Some(signature) = sign(&d.secret, &d.svix_id, timestamp, &d.body) else {
            return DeliveryAttempt {
                at: now,
                status: None,
                error: Some("the endpoint's secret is not a whsec_ base64 key".into()),
            };
        };
        let [id_header, timestamp_header, signature_header] = d.style.names();
        let sent = self
            .inner
            .http
            .post(&d.url)
            .header("content-type", "application/json")
            .header(id_header, &d.svix_id)
            .header(timestamp_header, timestamp.to_string())
            .header(signature_header, signature)
            .body(d.body.clone())
            .timeout(ENDPOINT_TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(response) => DeliveryAttempt {
                at: now,
                status: Some(response.status().as_u16()),
                error: None,
            },
            Err(e) => DeliveryAttempt {
                at: now,
                status: None,
                error: Some(e.to_string()),
            },
        }
    }
}
