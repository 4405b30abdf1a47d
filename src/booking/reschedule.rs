//! Rescheduling: the new appointment is requested first and the old one cancelled after, so
//! that a refused or failed request leaves the booking (and Knock) as they were. Knock itself
//! replaces a prospect's upcoming appointment at the community on a new request (API.md §4
//! behaviour 5); the queued cancel of the old one makes sure of it.
use chrono::{DateTime, Utc};

use super::queue::queue_knock_cancel;
use super::service::{appointment_request, BookError, BookingService};
use super::slots::Slot;
use crate::access::AccessProvider;
use crate::config::Community;
use crate::domain::job::{DedupeKey, JobKind};
use crate::domain::{rules, Booking, BookingId, MailKind};
use crate::knock::KnockError;
use crate::mail::QueuedMail;
use crate::outbox::{EmailJob, Job};
use crate::store::{MoveSlot, StoreError};

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
            .filter(|_| booking.state.is_movable())
        else {
            return Ok(RescheduleResult::NotMovable);
        };
        if slot.utc() == booking.slot_start() {
            return Ok(RescheduleResult::SlotUnavailable);
        }
        let offered = self.available_slots(community).await?;
        if !offered.iter().any(|s| s.start == slot.start) {
            return Ok(RescheduleResult::SlotUnavailable);
        }
        let slot_end = slot.utc() + chrono::Duration::minutes(i64::from(community.tour_minutes));
        let mut moved = booking.clone();
        moved.slot = slot.clone();
        moved.slot_end = slot_end;
        // On record before Knock hears of it: an answer lost to a time-out leaves a trace.
        let mut tx = self.store.begin().await?;
        let asked = format!("Asked Knock for {}", slot.value);
        tx.history(
            &booking.id,
            Utc::now(),
            "renter",
            "reschedule_requested",
            &asked,
        )
        .await?;
        tx.commit().await?;
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
        let mails = crate::mail::schedule::on_confirm(community, moved.slot_start(), Utc::now());
        let to = Move {
            old_appointment,
            new_appointment: appointment.id.as_str(),
            slot: &slot,
            slot_end,
            mails: &mails,
        };
        if self.keep_move(&booking.id, &to, Utc::now()).await? {
            let b = self
                .store
                .booking_by_id(&booking.id)
                .await?
                .unwrap_or(moved);
            if let Err(e) = self.access.move_access(community, &b).await {
                tracing::error!(booking = %b.id, error = %e, "access not moved");
            }
            Ok(RescheduleResult::Moved(Box::new(b)))
        } else {
            Ok(RescheduleResult::SlotUnavailable)
        }
    }

    /// Moves the booking to the slot Knock confirmed, in one transaction: the slot and the
    /// new appointment, the old appointment's cancel, the history, the mails timed for the old
    /// start skipped and the new time's queued (the first being the reschedule mail). When
    /// the booking changed meanwhile or another booking took the slot, Knock's new appointment
    /// stands for nothing of ours: its cancel is queued instead, and false is returned.
    async fn keep_move(
        &self,
        id: &BookingId,
        to: &Move<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let found = tx
            .move_slot(
                id,
                to.slot,
                to.slot_end,
                to.old_appointment,
                to.new_appointment,
                now,
            )
            .await?;
        if found != MoveSlot::Moved {
            tracing::warn!(booking = %id, appointment = to.new_appointment, ?found,
                "the reschedule could not be kept: Knock's new appointment is cancelled");
            queue_knock_cancel(&mut tx, id, to.new_appointment, now).await?;
            tx.history(
                id,
                now,
                "renter",
                "reschedule_failed",
                &format!(
                    "Moving to {} failed after Knock made appointment {}; its cancel is queued",
                    to.slot.value, to.new_appointment
                ),
            )
            .await?;
            tx.commit().await?;
            return Ok(false);
        }
        queue_knock_cancel(&mut tx, id, to.old_appointment, now).await?;
        tx.history(
            id,
            now,
            "renter",
            "rescheduled",
            &format!(
                "Moved to {}; Knock appointment {} replaced by {} (cancel of the old one queued)",
                to.slot.value, to.old_appointment, to.new_appointment
            ),
        )
        .await?;
        for kind in JobKind::ALL
            .into_iter()
            .filter(|k| rules::dropped_by_move(*k))
        {
            tx.skip_pending(id, kind, "not sent: rescheduled", now)
                .await?;
        }
        let moves = tx.history_count(id, "rescheduled").await?;
        for mail in to.mails {
            let kind = match mail.kind {
                MailKind::Confirmation => MailKind::Reschedule,
                other => other,
            };
            let job = Job::Email(EmailJob::new(kind, rules::invitation_sequence(moves)));
            let key = DedupeKey::of(format!("{}:{}", kind.as_str(), to.new_appointment));
            tx.enqueue(id, &job, &key, mail.due, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// The new slot and the appointment Knock made for it.
struct Move<'a> {
    old_appointment: &'a str,
    new_appointment: &'a str,
    slot: &'a Slot,
    slot_end: DateTime<Utc>,
    /// What a confirmation at the new time would queue.
    mails: &'a [QueuedMail],
}
