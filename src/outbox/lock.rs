//! Lock writes and staff alerts in the outbox: what `access` answered (or the mail server),
//! turned into the job's next state with the same backoff, Retry-After and end as Knock
//! writes.
use chrono::{DateTime, Utc};
use lettre::message::{header::ContentType, Mailbox};

use super::jobs::{Job, OutboxJob};
use super::retry::next_attempt;
use crate::access::{Access, LockWrite};
use crate::mail::{MailDesk, MailError};
use crate::store::{StoreError, TryOutcome};

fn retry(
    job: &OutboxJob,
    error: String,
    after: Option<std::time::Duration>,
    uncertain: bool,
    now: DateTime<Utc>,
) -> (TryOutcome, &'static str) {
    match next_attempt(
        job.attempts,
        after,
        now,
        job.give_up_at,
        &mut rand::thread_rng(),
    ) {
        Some(at) => (
            TryOutcome::Retry {
                next_attempt_at: at,
                error,
                uncertain,
            },
            "retry",
        ),
        None => dead(format!("gave up after {} tries: {error}", job.attempts)),
    }
}

fn dead(error: String) -> (TryOutcome, &'static str) {
    (
        TryOutcome::Dead {
            error,
            knock_error_message: None,
        },
        "dead",
    )
}

pub(super) async fn try_lock_write(
    access: Option<&Access>,
    job: &OutboxJob,
    now: DateTime<Utc>,
) -> Result<(TryOutcome, &'static str), StoreError> {
    let Some(access) = access else {
        return Ok(retry(
            job,
            "no access provider in this process".into(),
            None,
            false,
            now,
        ));
    };
    Ok(match access.deliver(job, now).await? {
        LockWrite::Done(result) => {
            tracing::info!(%result, "lock write delivered");
            (
                TryOutcome::Delivered {
                    knock_result: Some(result),
                },
                "delivered",
            )
        }
        LockWrite::Retry {
            error,
            retry_after,
            uncertain,
        } => {
            let (outcome, label) = retry(job, error.clone(), retry_after, uncertain, now);
            if matches!(outcome, TryOutcome::Dead { .. }) {
                // Out of time: the grant says so and staff hear of it, not left `issuing`.
                tracing::error!(%error, "lock write given up");
                access.gave_up(job, &error, now).await?;
            } else {
                tracing::warn!(%error, "lock write will be retried");
            }
            (outcome, label)
        }
        LockWrite::Dead(error) => {
            tracing::error!(%error, "lock write refused for good");
            dead(error)
        }
        LockWrite::Skipped(why) => (TryOutcome::Skipped { why }, "skipped"),
    })
}

pub(super) async fn try_staff_alert(
    desk: Option<&MailDesk>,
    job: &OutboxJob,
    now: DateTime<Utc>,
) -> (TryOutcome, &'static str) {
    let Some(desk) = desk else {
        return retry(job, "no mailer in this process".into(), None, false, now);
    };
    let alert = match job.job() {
        Ok(Job::StaffAlert(a)) => a,
        Ok(_) => return dead("not a staff alert".into()),
        Err(why) => return dead(why),
    };
    let to: Mailbox = match alert.to.parse() {
        Ok(m) => m,
        Err(e) => return dead(format!("staff address unusable: {e}")),
    };
    let message = match lettre::Message::builder()
        .from(desk.from.clone())
        .to(to)
        .subject(alert.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(alert.body)
    {
        Ok(m) => m,
        Err(e) => return dead(format!("cannot build the alert: {e}")),
    };
    match desk.mailer.send(message).await {
        Ok(()) => (
            TryOutcome::Delivered {
                knock_result: Some("sent".into()),
            },
            "delivered",
        ),
        Err(MailError::Permanent(e)) => dead(e),
        Err(e) => retry(job, e.to_string(), None, false, now),
    }
}
