//! When a tour's window ends (plus a grace period), SPEC.md "States": a confirmed booking with
//! no door access becomes `no_show` (no visit); a booking the renter got into but nobody
//! reported finished becomes `completed`, and its visit goes to Knock all the same.
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::booking::BookingId;
use crate::store::{Store, StoreError};

/// A late renter (or a late lock report) still counts within this after the window ends.
pub const WINDOW_GRACE: chrono::Duration = chrono::Duration::minutes(15);
/// A minute late on a decision taken fifteen minutes after the fact is fine.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// What one sweep moved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WindowSweep {
    pub no_shows: Vec<BookingId>,
    pub completed: Vec<BookingId>,
}

/// One sweep as if it were `now`.
pub async fn sweep_ended_windows(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<WindowSweep, StoreError> {
    let ended_before = now - WINDOW_GRACE;
    let no_shows = store.mark_no_shows(ended_before, now).await?;
    for id in &no_shows {
        tracing::info!(booking = %id, "no access by the end of the tour window: no show");
    }
    let completed = store.complete_after_window(ended_before, now).await?;
    for id in &completed {
        tracing::info!(booking = %id, "the tour window ended after an arrival: completed");
    }
    Ok(WindowSweep {
        no_shows,
        completed,
    })
}

/// The periodic sweep of a `serve` process; several processes sweeping is harmless (each
/// booking moves once, under its conditional update). Wakes the outbox for new visits.
pub async fn run_window_sweep(
    store: Store,
    wake: impl Fn() + Send + Sync + 'static,
    stop: CancellationToken,
) {
    loop {
        match sweep_ended_windows(&store, Utc::now()).await {
            Ok(s) if !s.completed.is_empty() => wake(),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "tour window sweep failed"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
