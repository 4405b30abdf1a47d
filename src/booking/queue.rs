//! What the booking use cases queue for Knock, shared by them.
use chrono::{DateTime, Utc};

use crate::domain::job::DedupeKey;
use crate::domain::BookingId;
use crate::outbox::{AppointmentCancelJob, Job};
use crate::store::{StoreError, Tx};

/// Queues Knock's cancel of `appointment` (one per appointment: a booking may cancel both
/// its old and its new one).
pub(super) async fn queue_knock_cancel(
    tx: &mut Tx,
    id: &BookingId,
    appointment: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let job = Job::AppointmentCancel(AppointmentCancelJob {
        appointment_id: appointment.to_string(),
    });
    tx.enqueue(id, &job, &DedupeKey::of(appointment), now, now)
        .await
}
