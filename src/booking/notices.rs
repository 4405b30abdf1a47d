//! What the renter's page may say about what has just happened: whether our mail went out,
//! and who cancelled the tour. Read only, from the outbox and the booking's history.
use super::BookingService;
use crate::domain::job::{JobKind, JobState};
use crate::domain::{BookingId, MailKind};
use crate::outbox::Job;
use crate::store::StoreError;

/// Our mail of one kind for a booking, as far as it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailSent {
    /// Handed to the mail server.
    Sent,
    /// Queued or being sent now.
    Sending,
}

impl BookingService {
    /// The newest mail of `kind` for the booking, if one was sent or is on its way (None: none
    /// was queued, or it was skipped or could not be delivered: the page then says nothing).
    pub async fn renter_mail(
        &self,
        id: &BookingId,
        kind: MailKind,
    ) -> Result<Option<MailSent>, StoreError> {
        let jobs = self.store.outbox_jobs_for_booking(id).await?;
        let newest = jobs
            .iter()
            .rev()
            .filter(|j| j.kind == JobKind::Email)
            .find(|j| matches!(j.job(), Ok(Job::Email(e)) if e.mail == kind.as_str()));
        Ok(newest.and_then(|j| match j.state {
            JobState::Delivered => Some(MailSent::Sent),
            JobState::Pending | JobState::Delivering => Some(MailSent::Sending),
            JobState::Skipped | JobState::Dead => None,
        }))
    }

    /// Whether the leasing office (a staff member), not the renter, cancelled the booking.
    pub async fn cancelled_by_staff(&self, id: &BookingId) -> Result<bool, StoreError> {
        let events = self.store.booking_events(id).await?;
        Ok(events
            .iter()
            .rev()
            .find(|e| e.kind == "cancelled")
            .is_some_and(|e| e.actor != "renter"))
    }
}
