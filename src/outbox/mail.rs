//! E-mail jobs: sent through the Mailer rather than to Knock; each mail sent queues its Knock
//! e-mail log in the same transaction that marks it sent.
//!
//! A worker that dies between the SMTP hand-off and that transaction leaves the job to be
//! taken again after its lease: the renter may then get the mail twice (SMTP has no
//! idempotency either). Accepted: a duplicate beats a lost confirmation.
use chrono::{DateTime, Utc};

use super::jobs::{EmailLogJob, Job};
use super::retry::next_attempt;
use super::OutboxJob;
use crate::domain::job::DedupeKey;
use crate::knock::types::EmailLogType;
use crate::mail::{MailDesk, MailError, Sent};
use crate::store::{Store, StoreError, TryOutcome};

/// What became of one try, for the metrics label.
pub(crate) async fn try_mail(
    store: &Store,
    desk: Option<&MailDesk>,
    job: &OutboxJob,
    now: DateTime<Utc>,
) -> Result<&'static str, StoreError> {
    let dead = |error: String| TryOutcome::Dead {
        error,
        knock_error_message: None,
    };
    let Some(desk) = desk else {
        return finish(
            store,
            job,
            retry(job, "no mailer in this process".into(), now),
            now,
        )
        .await;
    };
    let email = match job.job() {
        Ok(Job::Email(e)) => e,
        Ok(_) => return finish(store, job, dead("not an e-mail job".into()), now).await,
        Err(why) => return finish(store, job, dead(why), now).await,
    };
    let Some(kind) = email.kind() else {
        let why = format!("unknown mail kind {}", email.mail);
        return finish(store, job, dead(why), now).await;
    };
    let Some(booking) = store.booking_by_id(&job.booking_id).await? else {
        return finish(store, job, dead("the booking is gone".into()), now).await;
    };
    match desk.send(kind, email.sequence, &booking, now).await {
        Ok(Sent::Sent { subject, log_body }) => {
            tracing::info!(mail = kind.as_str(), "mail sent");
            let log = booking.knock_prospect_id.as_ref().map(|prospect| {
                Job::EmailLog(EmailLogJob {
                    prospect_id: prospect.clone(),
                    kind: EmailLogType::AutomatedSent,
                    sent_time: Utc::now().max(now),
                    agent_username: desk.knock_agent.clone(),
                    subject,
                    // Never the mail's own HTML: that holds the door code and the proof link.
                    body: log_body,
                })
            });
            // Delivered and, in the same transaction, Knock's log of it queued (keyed by the
            // mail job: a booking may get a mail of one kind more than once, e.g. moves and
            // manage links), so that the guest card shows every mail sent.
            let mut tx = store.begin().await?;
            let written = tx.mark_mail_sent(job.id, job.attempts, now).await?;
            if written {
                if let Some(log) = &log {
                    let key = DedupeKey::of(format!("{}:{}", kind.as_str(), job.id));
                    tx.enqueue(&booking.id, log, &key, now, now).await?;
                }
                tx.commit().await?;
            } else {
                tracing::warn!("another worker took this mail over after our lease ran out");
            }
            Ok("delivered")
        }
        Ok(Sent::Skipped(why)) => {
            tracing::info!(mail = kind.as_str(), %why, "mail not sent");
            let outcome = TryOutcome::Skipped {
                why: format!("not sent: {why}"),
            };
            finish(store, job, outcome, now).await
        }
        Err(MailError::Transient(e)) => {
            tracing::warn!(error = %e, "mail will be retried");
            finish(store, job, retry(job, e, now), now).await
        }
        Err(e) => {
            tracing::error!(error = %e, "mail is dead: staff can retry it");
            finish(store, job, dead(e.to_string()), now).await
        }
    }
}

fn retry(job: &OutboxJob, error: String, now: DateTime<Utc>) -> TryOutcome {
    match next_attempt(
        job.attempts,
        None,
        now,
        job.give_up_at,
        &mut rand::thread_rng(),
    ) {
        Some(at) => TryOutcome::Retry {
            next_attempt_at: at,
            error,
            uncertain: false,
        },
        None => TryOutcome::Dead {
            error: format!("gave up after {} tries: {error}", job.attempts),
            knock_error_message: None,
        },
    }
}

async fn finish(
    store: &Store,
    job: &OutboxJob,
    outcome: TryOutcome,
    now: DateTime<Utc>,
) -> Result<&'static str, StoreError> {
    let label = match &outcome {
        TryOutcome::Delivered { .. } => "delivered",
        TryOutcome::Skipped { .. } => "skipped",
        TryOutcome::Retry { .. } => "retry",
        TryOutcome::Dead { .. } => "dead",
    };
    store
        .finish_outbox_try(job.id, job.attempts, &outcome, Utc::now().max(now))
        .await?;
    Ok(label)
}
