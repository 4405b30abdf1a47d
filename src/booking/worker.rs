//! Finishes bookings that Knock could not confirm during the renter's request.
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::BookingService;
use crate::config::Communities;

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
