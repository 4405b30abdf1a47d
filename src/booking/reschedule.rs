//! Rescheduling: the new appointment is requested first and the old one cancelled after, so
//! that a refused or failed request leaves the booking (and Knock) as they were. Knock itself
//! replaces a prospect's upcoming appointment at the community on a new request (API.md §4
//! behaviour 5); the queued cancel of the old one makes sure of it.
use chrono::Utc;

use super::model::{Booking, BookingState};
use super::service::{appointment_request, BookError, BookingService};
use super::slots::Slot;
use crate::config::Community;
use crate::knock::KnockError;
use crate::store::{RescheduleOutcome, Rescheduled};

#[derive(Debug)]
pub enum RescheduleResult {
    Moved(Box<Booking>),
    /// Only a confirmed booking with a Knock appointment moves.
    NotMovable,
    /// The slot is not offered any more (or is the booking's own).
    SlotUnavailable,
    /// Knock refused the new time for good: nothing changed.
    Refused(KnockError),
    /// Knock could not be reached: nothing changed, try again later.
    KnockUnavailable(KnockError),
}

impl BookingService {
    pub async fn reschedule(
        &self,
        community: &Community,
        booking: &Booking,
        slot: Slot,
    ) -> Result<RescheduleResult, BookError> {
        let Some(old_appointment) = booking
            .knock_appointment_id
            .as_deref()
            .filter(|_| booking.state == BookingState::Confirmed)
        else {
            return Ok(RescheduleResult::NotMovable);
        };
        if slot.utc() == booking.slot_start {
            return Ok(RescheduleResult::SlotUnavailable);
        }
        let offered = self.available_slots(community).await?;
        if !offered.iter().any(|s| s.start == slot.start) {
            return Ok(RescheduleResult::SlotUnavailable);
        }
        let slot_end = slot.utc() + chrono::Duration::minutes(i64::from(community.tour_minutes));
        let mut moved = booking.clone();
        moved.slot_start = slot.utc();
        moved.slot_end = slot_end;
        moved.slot_start_knock = slot.value.clone();
        // On record before Knock hears of it: an answer lost to a time-out leaves a trace.
        self.store
            .note_booking_event(
                &booking.id,
                "renter",
                "reschedule_requested",
                &format!("Asked Knock for {}", slot.value),
                Utc::now(),
            )
            .await?;
        let appointment = match self
            .knock
            .request_appointment(&appointment_request(community, &moved))
            .await
        {
            Ok(a) => a,
            Err(e) if e.is_retryable() || matches!(e, KnockError::Contract { .. }) => {
                tracing::warn!(booking = %booking.id, error = %e, "Knock unavailable while rescheduling");
                return Ok(RescheduleResult::KnockUnavailable(e));
            }
            Err(e) => {
                tracing::warn!(booking = %booking.id, error = %e, "Knock refused the new time");
                return Ok(RescheduleResult::Refused(e));
            }
        };
        let outcome = self
            .store
            .reschedule_booking(
                &booking.id,
                &Rescheduled {
                    old_appointment,
                    new_appointment: appointment.id.as_str(),
                    slot_start: moved.slot_start,
                    slot_end,
                    slot_start_knock: &slot.value,
                    mails: &crate::mail::schedule::on_confirm(
                        community,
                        moved.slot_start,
                        Utc::now(),
                    ),
                },
                Utc::now(),
            )
            .await?;
        match outcome {
            RescheduleOutcome::Moved => {
                let b = self
                    .store
                    .booking_by_id(&booking.id)
                    .await?
                    .unwrap_or(moved);
                Ok(RescheduleResult::Moved(Box::new(b)))
            }
            RescheduleOutcome::NotMoved => Ok(RescheduleResult::SlotUnavailable),
        }
    }
}
