//! Finishes bookings that Knock could not confirm during the renter's request.
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::BookingService;
use crate::config::{Communities, Retention};
use crate::staff::{IDLE_TIMEOUT, MAX_LIFETIME};
use crate::store::{PruneBefore, Pruned, Store, StoreError};

pub async fn run_booking_worker(
    service: BookingService,
    communities: Communities,
    stop: CancellationToken,
) {
    loop {
        match service
            .finish_pending(&communities, chrono::Utc::now())
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(bookings = n, "worked on pending bookings"),
            Err(e) => tracing::error!(error = %e, "booking worker pass failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// A minute late on a decision taken fifteen minutes after the fact is fine.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// The periodic sweep of ended tour windows in a `serve` process (`tour::sweep_ended_windows`);
/// its commits ring the outbox's bell for the visits they queue.
pub async fn run_window_sweep(service: BookingService, stop: CancellationToken) {
    loop {
        if let Err(e) = service.sweep_ended_windows(chrono::Utc::now()).await {
            tracing::error!(error = %e, "tour window sweep failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

/// Prunes what is kept only for a while, as of `now` (README "Security limits"): webhook ids
/// older than `keep.webhook_days`, delivered and skipped outbox rows older than
/// `keep.delivered_days` (the booking's history lines stay), and staff sessions past their idle
/// time-out or lifetime.
pub async fn prune_old_records(
    store: &Store,
    keep: &Retention,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Pruned, StoreError> {
    let days = |d: u32| chrono::Duration::days(i64::from(d));
    store
        .prune(&PruneBefore {
            webhooks: now - days(keep.webhook_days),
            finished_jobs: now - days(keep.delivered_days),
            sessions_seen: now - IDLE_TIMEOUT,
            sessions_begun: now - MAX_LIFETIME,
        })
        .await
}

/// Often enough that nothing outlives its term by much; each pass is three indexed deletes.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The hourly prune in a `serve` process (every process runs it: the deletes are idempotent).
pub async fn run_prune(store: Store, keep: Retention, stop: CancellationToken) {
    loop {
        match prune_old_records(&store, &keep, chrono::Utc::now()).await {
            Ok(p) if p == Pruned::default() => {}
            Ok(p) => tracing::info!(
                webhooks = p.webhooks,
                jobs = p.jobs,
                sessions = p.sessions,
                "pruned old records"
            ),
            Err(e) => tracing::error!(error = %e, "pruning old records failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}
