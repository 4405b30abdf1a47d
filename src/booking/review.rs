//! Staff settle a request that waits for them (`Review`): Knock holds an appointment whose id
//! we never heard (staff read it off Knock's calendar and adopt it), or the leasing office
//! reviewed a PENDING request and Knock's calendar now shows it confirmed. Cancelling is the
//! ordinary staff cancel.
use chrono::{DateTime, Utc};

use super::BookingService;
use crate::config::Community;
use crate::domain::job::DedupeKey;
use crate::domain::{BookingId, BookingState, Review};
use crate::knock::types::AppointmentId;
use crate::outbox::{EmailJob, Job};
use crate::store::{BookingChange, StoreError};

/// What staff say Knock's calendar shows.
#[derive(Debug, Clone)]
pub enum Resolution {
    /// The appointment Knock holds for this request (needs attention).
    Adopt(AppointmentId),
    /// The office confirmed the appointment Knock answered as pending (awaiting the office).
    OfficeConfirmed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    Confirmed,
    /// The booking does not wait for this (another review, or none any more).
    NotWaiting,
    UnknownBooking,
}

impl BookingService {
    /// The request is confirmed with the appointment staff name, its mails queued, in one
    /// transaction with the history line and the audit row under `staff`.
    pub async fn resolve(
        &self,
        community: &Community,
        id: &BookingId,
        resolution: Resolution,
        staff: &str,
        now: DateTime<Utc>,
    ) -> Result<ResolveOutcome, StoreError> {
        let mut tx = self.store.begin().await?;
        let Some(b) = tx.booking(id).await? else {
            return Ok(ResolveOutcome::UnknownBooking);
        };
        let appointment = match (&resolution, b.review, &b.knock_appointment_id) {
            (Resolution::Adopt(a), Some(Review::NeedsAttention), _) => a.as_str().to_string(),
            (Resolution::OfficeConfirmed, Some(Review::AwaitingOffice), Some(a)) => a.clone(),
            _ => return Ok(ResolveOutcome::NotWaiting),
        };
        let change = BookingChange {
            appointment_id: Some(&appointment),
            ..Default::default()
        };
        if b.state != BookingState::Requesting
            || !tx
                .set_state(id, b.state, BookingState::Confirmed, change, now)
                .await?
        {
            return Ok(ResolveOutcome::NotWaiting);
        }
        let detail = match resolution {
            Resolution::Adopt(_) => {
                format!("Staff adopted Knock appointment {appointment} from Knock's calendar")
            }
            Resolution::OfficeConfirmed => {
                format!("Staff saw the office confirm Knock appointment {appointment}")
            }
        };
        tx.history(id, now, staff, "confirmed", &detail).await?;
        tx.audit(now, staff, "confirm", Some(id), &detail).await?;
        for mail in crate::mail::schedule::on_confirm(community, b.slot_start(), now) {
            let job = Job::Email(EmailJob::new(mail.kind, mail.sequence));
            tx.enqueue(id, &job, &DedupeKey::of(mail.kind.as_str()), mail.due, now)
                .await?;
        }
        self.access.ensure_in(&mut tx, id, now).await?;
        tx.commit().await?;
        Ok(ResolveOutcome::Confirmed)
    }
}
