//! Cancelling a booking: the state change, Knock's cancel in the outbox, the renter's
//! cancellation mail and the history (and, for staff, the audit row with the reason) in one
//! transaction. Access is revoked through the port; the built-in codes need no write, since
//! they open only for live bookings.
use chrono::{DateTime, Utc};

use super::queue::queue_knock_cancel;
use super::BookingService;
use crate::access::AccessProvider;
use crate::domain::job::DedupeKey;
use crate::domain::rules::{self, CancelDecision};
use crate::domain::{BookingId, BookingState, MailKind};
use crate::outbox::{EmailJob, Job};
use crate::store::{BookingChange, Store, StoreError};

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

/// requesting | confirmed → cancelled, with Knock's cancel queued when an appointment exists.
/// A request still on its way to Knock is caught when Knock answers (`keep_late_answer`).
pub async fn cancel(
    store: &Store,
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
    let change = BookingChange::default();
    if !tx
        .set_state(id, b.state, BookingState::Cancelled, change, now)
        .await?
    {
        // Cannot happen under the row lock; answered as the state it is in, to be safe.
        return Ok(CancelOutcome::NotCancellable(b.state));
    }
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
    tx.commit().await?;
    Ok(CancelOutcome::Cancelled {
        knock_cancel_queued: queued,
    })
}

impl BookingService {
    /// Cancels (see [`cancel`]) and, once that is on record, revokes the booking's access.
    pub async fn cancel(
        &self,
        id: &BookingId,
        by: Canceller<'_>,
        now: DateTime<Utc>,
    ) -> Result<CancelOutcome, StoreError> {
        let outcome = cancel(&self.store, id, by, now).await?;
        if matches!(outcome, CancelOutcome::Cancelled { .. }) {
            if let Err(e) = self.access.revoke(id).await {
                tracing::error!(booking = %id, error = %e, "access not revoked");
            }
        }
        Ok(outcome)
    }
}
