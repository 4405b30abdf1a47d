//! The outbox's Prometheus metrics, registered through `Metrics::register`.
use chrono::{DateTime, Utc};
use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts};

use super::{JobKind, JobState};
use crate::metrics::Metrics;
use crate::store::OutboxCount;

#[derive(Clone)]
pub(crate) struct OutboxMetrics {
    /// Jobs by kind and state (read from the database: shared by every process).
    depth: IntGaugeVec,
    /// Age of the oldest job not yet delivered (pending or delivering), by kind.
    oldest_pending: GaugeVec,
    /// Tries by kind and outcome (delivered, found_earlier, retry, dead, out_of_time).
    pub attempts: IntCounterVec,
}

impl OutboxMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let depth = IntGaugeVec::new(
            Opts::new("tourgate_outbox_jobs", "Outbox jobs by kind and state"),
            &["kind", "state"],
        )
        .expect("valid metric");
        let oldest_pending = GaugeVec::new(
            Opts::new(
                "tourgate_outbox_oldest_pending_seconds",
                "Age of the oldest outbox job not yet delivered, by kind",
            ),
            &["kind"],
        )
        .expect("valid metric");
        let attempts = IntCounterVec::new(
            Opts::new(
                "tourgate_outbox_attempts_total",
                "Outbox delivery tries by kind and outcome",
            ),
            &["kind", "outcome"],
        )
        .expect("valid metric");
        metrics.register(Box::new(depth.clone()));
        metrics.register(Box::new(oldest_pending.clone()));
        metrics.register(Box::new(attempts.clone()));
        Self {
            depth,
            oldest_pending,
            attempts,
        }
    }

    /// Sets every kind × state, zero included, so that an emptied queue reads 0.
    pub fn observe(&self, counts: &[OutboxCount], now: DateTime<Utc>) {
        for kind in JobKind::ALL {
            for state in JobState::ALL {
                let n = counts
                    .iter()
                    .find(|c| c.kind == kind && c.state == state)
                    .map_or(0, |c| c.count);
                self.depth
                    .with_label_values(&[kind.as_str(), state.as_str()])
                    .set(n);
            }
            let oldest = counts
                .iter()
                .filter(|c| {
                    c.kind == kind && matches!(c.state, JobState::Pending | JobState::Delivering)
                })
                .filter_map(|c| c.oldest_created_at)
                .min();
            let age = oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0);
            self.oldest_pending
                .with_label_values(&[kind.as_str()])
                .set(age);
        }
    }
}
