//! Rescheduling: the new appointment is requested first and the old one cancelled after, so
//! that a refused or failed request leaves the booking (and Knock) as they were. Knock itself
//! replaces a prospect's upcoming appointment at the community on a new request (API.md §4
//! behaviour 5); the queued cancel of the old one makes sure of it.
use chrono::{DateTime, Utc};

use super::queue::queue_knock_cancel;
use super::service::{appointment_request, BookError, BookingService};
use super::slots::Slot;
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
    /// Another change to the booking (a reschedule, a cancel) is on its way: nothing changed
    /// and Knock was not called; try again in a moment.
    ChangeInProgress,
}

impl BookingService {
    /// Moves `booking` to `slot`, one change at a time: the booking's change hold is taken
    /// (with the booking read again under its row lock, so that the move starts from what it
    /// is now, not from what the renter's page showed) before Knock hears of anything, and
    /// given back in the transaction that keeps or gives up the move, or on any earlier
    /// return. A second change meanwhile is answered `ChangeInProgress` without calling Knock,
    /// so that two requests never race in Knock, whose replace rule would cancel the
    /// appointment the other one keeps. A hold left by a process that died runs out after
    /// [`BookingService::change_hold`] (the longest the Knock calls it covers may take); one
    /// that cannot be given back after an error runs out the same way.
    pub async fn reschedule(
        &self,
        community: &Community,
        booking: &Booking,
        slot: Slot,
    ) -> Result<RescheduleResult, BookError> {
        let now = Utc::now();
        let hold = now + self.change_hold();
        let mut tx = self.store.begin().await?;
        let Some(booking) = tx.booking(&booking.id).await? else {
            return Ok(RescheduleResult::NotMovable);
        };
        if booking.knock_appointment_id.is_none() || !booking.state.is_movable() {
            return Ok(RescheduleResult::NotMovable);
        }
        if !tx.take_change_hold(&booking.id, hold, now).await? {
            tracing::info!(booking = %booking.id, "not moved: another change holds the booking");
            return Ok(RescheduleResult::ChangeInProgress);
        }
        if slot.utc() == booking.slot_start() {
            // Rolled back: the hold was never taken.
            return Ok(RescheduleResult::SlotUnavailable);
        }
        tx.commit().await?;
        match self.reschedule_held(community, &booking, slot, hold).await {
            Ok(Held::Settled(result)) => Ok(result),
            Ok(Held::Open(result)) => {
                self.release_change_hold(&booking.id, hold).await?;
                Ok(result)
            }
            Err(e) => {
                if let Err(store) = self.release_change_hold(&booking.id, hold).await {
                    tracing::error!(booking = %booking.id, error = %store,
                        "the change hold was not given back; it runs out by itself");
                }
                Err(e)
            }
        }
    }

    /// The reschedule once the hold is ours: `Open` when the hold is still to give back.
    async fn reschedule_held(
        &self,
        community: &Community,
        booking: &Booking,
        slot: Slot,
        hold: DateTime<Utc>,
    ) -> Result<Held, BookError> {
        let Some(old_appointment) = booking.knock_appointment_id.as_deref() else {
            return Ok(Held::Open(RescheduleResult::NotMovable));
        };
        let offered = self.available_slots(community).await?;
        if !offered.iter().any(|s| s.start == slot.start) {
            return Ok(Held::Open(RescheduleResult::SlotUnavailable));
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
                return Ok(Held::Open(RescheduleResult::KnockUnavailable(e)));
            }
            Err(e) => {
                tracing::warn!(booking = %booking.id, error = %e, "Knock refused the new time");
                return Ok(Held::Open(RescheduleResult::Refused(e)));
            }
        };
        let mails = crate::mail::schedule::on_confirm(community, moved.slot_start(), Utc::now());
        let to = Move {
            old_appointment,
            new_appointment: appointment.id.as_str(),
            slot: &slot,
            slot_end,
            mails: &mails,
            hold,
        };
        let result = match self.keep_move(&booking.id, &to, Utc::now()).await? {
            MoveSlot::Moved => {
                self.availability.taken(community, slot.utc());
                self.availability.invalidate(community);
                let b = self
                    .store
                    .booking_by_id(&booking.id)
                    .await?
                    .unwrap_or(moved);
                RescheduleResult::Moved(Box::new(b))
            }
            MoveSlot::SlotTaken => RescheduleResult::SlotUnavailable,
            // Cancelled (or otherwise changed) while Knock answered: the page says what it is.
            MoveSlot::BookingChanged => RescheduleResult::NotMovable,
        };
        Ok(Held::Settled(result))
    }

    /// Gives the change hold back on its own (the reschedule ended before keeping a move).
    async fn release_change_hold(
        &self,
        id: &BookingId,
        hold: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.store.begin().await?;
        tx.release_change_hold(id, hold).await?;
        tx.commit().await
    }

    /// Moves the booking to the slot Knock confirmed, in one transaction: the slot and the
    /// new appointment, the old appointment's cancel, the history, the mails timed for the old
    /// start skipped and the new time's queued (the first being the reschedule mail). When
    /// the booking changed meanwhile or another booking took the slot, Knock's new appointment
    /// stands for nothing of ours: its cancel is queued instead, and what was found is
    /// returned. Either way the change hold is given back in the same transaction.
    ///
    /// `move_slot` re-checks the booking under its row lock (confirmed, still holding the old
    /// appointment): the hold keeps cancels out while Knock answers, but a hold that ran out
    /// (a process stalled past it) must not let a cancelled booking move back to life.
    async fn keep_move(
        &self,
        id: &BookingId,
        to: &Move<'_>,
        now: DateTime<Utc>,
    ) -> Result<MoveSlot, StoreError> {
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
            tx.release_change_hold(id, to.hold).await?;
            tx.commit().await?;
            return Ok(found);
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
        // The code for the new window replaces the old one on every lock, in this commit.
        self.access.ensure_in(&mut tx, id, now).await?;
        tx.release_change_hold(id, to.hold).await?;
        tx.commit().await?;
        Ok(MoveSlot::Moved)
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
    /// The change hold this reschedule took, given back with the move.
    hold: DateTime<Utc>,
}

/// Where a held reschedule ended.
enum Held {
    /// The hold was given back with the move (kept or given up).
    Settled(RescheduleResult),
    /// The hold is still to give back (an earlier return: nothing changed).
    Open(RescheduleResult),
}
