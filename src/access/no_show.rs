//! No-show: a confirmed booking with no door access by the end of its window plus a grace
//! period becomes `no_show` (SPEC.md "States"); no visit is posted to Knock.
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::booking::BookingId;
use crate::store::{Store, StoreError};

/// A late renter (or a late lock report) still counts within this after the window ends.
pub const NO_SHOW_GRACE: chrono::Duration = chrono::Duration::minutes(15);
/// A minute late on a decision taken fifteen minutes after the fact is fine.
const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// One sweep as if it were `now`: the bookings it marked.
pub async fn sweep_no_shows(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<BookingId>, StoreError> {
    let marked = store.mark_no_shows(now - NO_SHOW_GRACE, now).await?;
    for id in &marked {
        tracing::info!(booking = %id, "no access by the end of the tour window: no show");
    }
    Ok(marked)
}

/// The periodic sweep of a `serve` process; several processes sweeping is harmless (each
/// booking moves once, under its conditional update).
pub async fn run_no_show_sweep(store: Store, stop: CancellationToken) {
    loop {
        if let Err(e) = sweep_no_shows(&store, Utc::now()).await {
            tracing::error!(error = %e, "no-show sweep failed");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
