//! What ending a booking does to its renter mail: inside the transaction that moves it to an
//! end (cancelled, completed, no-show, failed), each pending mail that no longer fits
//! (`rules::mail_fits`) is marked skipped with `rules::unsent_at_end`'s reason. The worker
//! would skip them when due anyway; doing it now keeps the staff pages true meanwhile.
use chrono::{DateTime, Utc};

use crate::domain::job::JobKind;
use crate::domain::rules;
use crate::domain::{BookingId, BookingState};
use crate::outbox::Job;
use crate::store::{StoreError, Tx};

/// How many mails were skipped. Call right after `set_state` moved the booking to `to`.
pub(super) async fn skip_unfit_mail(
    tx: &mut Tx,
    id: &BookingId,
    to: BookingState,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let Some(why) = rules::unsent_at_end(to) else {
        return Ok(0);
    };
    let mut skipped = 0;
    for (job, payload) in tx.pending_jobs(id, JobKind::Email).await? {
        // An unreadable payload is left for the worker, which marks it dead with the reason.
        let Ok(Job::Email(mail)) = Job::from_stored(JobKind::Email, &payload) else {
            continue;
        };
        let Some(kind) = mail.kind() else { continue };
        if !rules::mail_fits(kind, to) && tx.skip_job(job, why, now).await? {
            skipped += 1;
        }
    }
    Ok(skipped)
}
