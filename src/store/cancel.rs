//! Cancelling a booking: the state change, the Knock cancel in the outbox and the history (and,
//! for staff, the audit row with the reason) in one transaction. Access needs no write of its
//! own: door codes open only for live bookings, so the state change revokes them.
use chrono::{DateTime, Utc};

use super::bookings::insert_event;
use super::outbox::enqueue_job;
use super::staff::insert_audit;
use super::{on_backend, Store, StoreError, WriteTx};
use crate::booking::{BookingId, BookingState};
use crate::mail::MailKind;
use crate::outbox::{AppointmentCancelJob, EmailJob, Job, JobKind};

/// Who cancels.
#[derive(Debug, Clone, Copy)]
pub enum Canceller<'a> {
    Renter,
    /// A staff member, by e-mail, with the reason they gave.
    Staff {
        email: &'a str,
        reason: &'a str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now; `knock_cancel_queued` when Knock had an appointment to cancel.
    Cancelled {
        knock_cancel_queued: bool,
    },
    /// It was cancelled before: nothing changed (a double tap, two staff at once).
    AlreadyCancelled,
    /// Past the point where cancelling means anything (completed, no show, failed, touring).
    NotCancellable(BookingState),
    UnknownBooking,
}

/// The Knock cancel job for `appointment`, as payload text.
pub(super) fn cancel_payload(appointment: &str) -> Result<String, StoreError> {
    Job::AppointmentCancel(AppointmentCancelJob {
        appointment_id: appointment.to_string(),
    })
    .to_json()
    .map_err(|e| StoreError::Corrupt(format!("cancel payload: {e}")))
}

impl Store {
    /// requesting | confirmed → cancelled, with Knock's cancel queued when an appointment
    /// exists. A request still on its way to Knock is caught by `confirm_booking`, which
    /// queues the cancel when Knock's answer arrives for a cancelled booking.
    pub async fn cancel_booking(
        &self,
        id: &BookingId,
        by: Canceller<'_>,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, StoreError> {
        let (actor, detail) = match by {
            Canceller::Renter => ("renter".to_string(), "Cancelled by the renter".to_string()),
            Canceller::Staff { email, reason } => {
                (email.to_string(), format!("Cancelled by staff: {reason}"))
            }
        };
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let row: Option<(String, Option<String>)> = sqlx::query_as(
                "SELECT state, knock_appointment_id FROM bookings WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((state, appointment)) = row else {
                return Ok(CancelOutcome::UnknownBooking);
            };
            let state = BookingState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("booking {id}: state")))?;
            match state {
                BookingState::Requesting | BookingState::Confirmed => {}
                BookingState::Cancelled => return Ok(CancelOutcome::AlreadyCancelled),
                other => {
                    tracing::warn!(booking = %id, state = other.as_str(),
                        "refused to cancel a booking in this state");
                    return Ok(CancelOutcome::NotCancellable(other));
                }
            }
            let moved = sqlx::query(
                "UPDATE bookings SET state = 'cancelled', next_attempt_at = NULL, updated_at = $1 \
                 WHERE id = $2 AND state = $3",
            )
            .bind(now)
            .bind(id.as_str())
            .bind(state.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !moved {
                // PostgreSQL: another transaction moved it between our read and our write.
                let now_state: Option<(String,)> =
                    sqlx::query_as("SELECT state FROM bookings WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                return Ok(match now_state.and_then(|(s,)| BookingState::parse(&s)) {
                    Some(BookingState::Cancelled) => CancelOutcome::AlreadyCancelled,
                    Some(other) => CancelOutcome::NotCancellable(other),
                    None => CancelOutcome::UnknownBooking,
                });
            }
            let queued = match &appointment {
                Some(a) => {
                    enqueue_job!(&mut *tx, id, JobKind::AppointmentCancel, cancel_payload(a)?, now, a.as_str())?
                }
                None => false,
            };
            if appointment.is_some() {
                // The renter is told, with a calendar CANCEL that outranks every invitation
                // sent so far (one per confirmation and reschedule).
                let (moves,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM booking_events WHERE booking_id = $1 AND kind = 'rescheduled'",
                )
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let payload = Job::Email(EmailJob::new(MailKind::Cancellation, moves as u32 + 1))
                    .to_json()
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                enqueue_job!(&mut *tx, id, JobKind::Email, MailKind::Cancellation.as_str(), payload, now, now)?;
            }
            let knock = if queued { "; Knock cancel queued" } else { "" };
            insert_event!(&mut *tx, id, now, actor.as_str(), "cancelled", &format!("{detail}{knock}"))?;
            if let Canceller::Staff { email, reason } = by {
                insert_audit!(&mut *tx, now, email, "cancel", Some(id.as_str()), reason)?;
            }
            tx.commit().await?;
            Ok(CancelOutcome::Cancelled { knock_cancel_queued: queued })
        })
    }
}

impl Store {
    /// Knock answered a request for a booking cancelled in the meantime: keep the appointment id
    /// and queue its cancel. Nothing for a booking in any other state, or one that already has
    /// an appointment (a second worker's answer).
    pub(crate) async fn cancel_late_appointment(
        &self,
        id: &BookingId,
        appointment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let kept = sqlx::query(
                "UPDATE bookings SET knock_appointment_id = $1, updated_at = $2 \
                 WHERE id = $3 AND state = 'cancelled' AND knock_appointment_id IS NULL",
            )
            .bind(appointment_id)
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !kept {
                return Ok(false);
            }
            enqueue_job!(&mut *tx, id, JobKind::AppointmentCancel, cancel_payload(appointment_id)?, now, appointment_id)?;
            insert_event!(&mut *tx, id, now, "knock", "cancel_queued",
                &format!("Knock confirmed appointment {appointment_id} after the cancellation; Knock cancel queued"))?;
            tx.commit().await?;
            tracing::warn!(booking = %id, appointment = appointment_id,
                "Knock confirmed a booking that was cancelled meanwhile: cancel queued");
            Ok(true)
        })
    }
}
