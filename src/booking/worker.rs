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
