//! Staff's two hands on the outbox: a dead job back to pending, and a mail sent again. One
//! use case each for the CLI and the staff pages alike, with the history line and the audit
//! row (under the true actor) in the same transaction as the change.
use chrono::{DateTime, Utc};

use super::{EmailJob, Job, GIVE_UP_AFTER};
use crate::domain::job::DedupeKey;
use crate::domain::{BookingId, MailKind};
use crate::store::{Store, StoreError};

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// A signed-in staff member, by e-mail.
    Staff(&'a str),
    /// The operator at `tourgate outbox ...`.
    Cli,
}

impl Actor<'_> {
    pub fn name(&self) -> &str {
        match self {
            Self::Staff(email) => email,
            Self::Cli => "cli",
        }
    }
}

/// dead → pending, due now, with a fresh retry window. False when the job is not dead
/// (unknown, or already pending or delivered); nothing is written then.
pub async fn retry_dead(
    store: &Store,
    job: i64,
    by: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    let Some(booking) = tx.revive_dead_job(job, now, now + GIVE_UP_AFTER).await? else {
        return Ok(false);
    };
    let detail = format!("Knock delivery {job} queued again");
    tx.history(&booking, now, by.name(), "outbox_retry", &detail)
        .await?;
    tx.audit(now, by.name(), "outbox_retry", Some(&booking), &detail)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Queues the access instructions for the booking now, apart from the scheduled ones (a key
/// of its own): a renter who lost them.
pub async fn resend_access(
    store: &Store,
    booking: &BookingId,
    by: Actor<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let kind = MailKind::AccessInstructions;
    let mut tx = store.begin().await?;
    let job = Job::Email(EmailJob::new(kind, 0));
    let key = DedupeKey::of(format!(
        "{}:resend:{}",
        kind.as_str(),
        now.timestamp_micros()
    ));
    tx.enqueue(booking, &job, &key, now, now).await?;
    tx.audit(
        now,
        by.name(),
        "resend_access",
        Some(booking),
        "Access e-mail queued again",
    )
    .await?;
    tx.commit().await
}
