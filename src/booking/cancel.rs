//! Cancelling a booking: the state change, Knock's cancel in the outbox, the renter's
//! cancellation mail and the history (and, for staff, the audit row with the reason) in one
//! transaction, with the codes' removal from outside locks queued in it too
//! (`Access::ensure_in`); the built-in codes need no write, since they open only for live
//! bookings.
//!
//! A cancel takes the booking's change hold for its transaction, as a reschedule does for
//! its Knock call: while a reschedule holds the booking, the cancel is refused
//! ([`CancelOutcome::ChangeInProgress`]) and the renter or staff member asked to try again in a
//! moment. Why refuse rather than cancel underneath the reschedule: Knock is at that moment
//! deciding whether the booking's appointment is the old one or a new one (its replace rule
//! cancels the old one when it makes the new), and we know the new one's id only when the
//! answer comes. Cancelling now would queue the cancel of the old appointment only; if the
//! answer is then lost to a time-out, Knock keeps a new appointment for a cancelled booking
//! that nobody will ever cancel. Waiting a few seconds costs the person little and leaves
//! exactly one change at a time to reason about. Should a reschedule's hold run out before
//! its answer (a stalled process), its move is still re-checked under the row lock
//! (`move_slot` moves only a confirmed booking holding the old appointment) and, the booking
//! being cancelled, the new appointment's cancel is queued.
use chrono::{DateTime, Utc};

use super::queue::queue_knock_cancel;
use super::BookingService;
use crate::access::Access;
use crate::domain::job::DedupeKey;
use crate::domain::rules::{self, CancelDecision};
use crate::domain::{BookingId, BookingState, MailKind};
use crate::outbox::{EmailJob, Job};
use crate::store::{BookingChange, Store, StoreError};

/// A cancel holds its booking only for its own transaction; the length is for the record.
const CANCEL_HOLD: chrono::Duration = chrono::Duration::seconds(30);

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
    /// Another change (a reschedule waiting for Knock) holds the booking: nothing changed;
    /// try again in a moment.
    ChangeInProgress,
}

/// requesting | confirmed → cancelled, with Knock's cancel queued when an appointment exists
/// and the codes' removal from the booking's locks. A request still on its way to Knock is
/// caught when Knock answers (`keep_late_answer`).
pub async fn cancel(
    store: &Store,
    access: &Access,
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
    let mut tx = store.begin().await?;
    let Some(b) = tx.booking(id).await? else {
        return Ok(CancelOutcome::UnknownBooking);
    };
    match rules::cancel(b.state) {
        CancelDecision::Cancel => {}
        CancelDecision::AlreadyCancelled => return Ok(CancelOutcome::AlreadyCancelled),
        CancelDecision::NotCancellable => {
            tracing::warn!(booking = %id, state = b.state.as_str(),
                "refused to cancel a booking in this state");
            return Ok(CancelOutcome::NotCancellable(b.state));
        }
    }
    // Held for this transaction only: taken here, given back in the same commit.
    let hold = now + CANCEL_HOLD;
    if !tx.take_change_hold(id, hold, now).await? {
        tracing::info!(booking = %id, "not cancelled: another change holds the booking");
        return Ok(CancelOutcome::ChangeInProgress);
    }
    let change = BookingChange::default();
    if !tx
        .set_state(id, b.state, BookingState::Cancelled, change, now)
        .await?
    {
        // Cannot happen under the row lock; answered as the state it is in, to be safe.
        return Ok(CancelOutcome::NotCancellable(b.state));
    }
    super::ended::skip_unfit_mail(&mut tx, id, BookingState::Cancelled, now).await?;
    access.ensure_in(&mut tx, id, now).await?;
    let queued = match &b.knock_appointment_id {
        Some(a) => queue_knock_cancel(&mut tx, id, a, now).await?,
        None => false,
    };
    if b.knock_appointment_id.is_some() {
        // The renter is told, with a calendar CANCEL that outranks every invitation sent.
        let moves = tx.history_count(id, "rescheduled").await?;
        let mail = Job::Email(EmailJob::new(
            MailKind::Cancellation,
            rules::cancellation_sequence(moves),
        ));
        let key = DedupeKey::of(MailKind::Cancellation.as_str());
        tx.enqueue(id, &mail, &key, now, now).await?;
    }
    let knock = if queued { "; Knock cancel queued" } else { "" };
    tx.history(id, now, &actor, "cancelled", &format!("{detail}{knock}"))
        .await?;
    if let Canceller::Staff { email, reason } = by {
        tx.audit(now, email, "cancel", Some(id), reason).await?;
    }
    tx.release_change_hold(id, hold).await?;
    tx.commit().await?;
    Ok(CancelOutcome::Cancelled {
        knock_cancel_queued: queued,
    })
}

impl BookingService {
    /// Cancels (see [`cancel`]), the booking's codes' removal queued with it.
    pub async fn cancel(
        &self,
        id: &BookingId,
        by: Canceller<'_>,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, StoreError> {
        let outcome = cancel(&self.store, &self.access, id, by, now).await?;
        if matches!(outcome, CancelOutcome::Cancelled { .. }) {
            // The freed slot shows again once Knock offers it: the next read asks Knock.
            if let Some(b) = self.store.booking_by_id(id).await? {
                self.availability.invalidate_slug(&b.community_slug);
            }
        }
        Ok(outcome)
    }
}
