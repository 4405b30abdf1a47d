//! Delivering the outbox's lock writes (`access_issue`, `access_revoke`) to the provider, and
//! writing what the provider answered onto the grant, fenced by the job's attempt number so
//! that a worker whose lease ran out never overwrites a newer try's result.
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::seam::{self, SeamError};
use super::Access;
use crate::config::Community;
use crate::domain::job::{
    AccessIssueJob, AccessRevokeJob, DedupeKey, JobKind, OutboxJob, StaffAlertJob,
};
use crate::domain::{Booking, GrantState};
use crate::store::{StoreError, Tx};

/// How one lock write came out; the outbox turns it into the job's next state.
#[derive(Debug)]
pub enum LockWrite {
    Done(String),
    /// Try again (after at least `retry_after`); `uncertain` when the provider may have acted.
    Retry {
        error: String,
        retry_after: Option<Duration>,
        uncertain: bool,
    },
    /// Refused for good: recorded on the grant, staff alerted.
    Dead(String),
    /// Not sent: the booking or its grant moved on.
    Skipped(String),
}

fn retry(e: &SeamError) -> Option<LockWrite> {
    let (retry_after, uncertain) = match e {
        SeamError::RateLimited { retry_after } => (*retry_after, false),
        SeamError::Unavailable(_) | SeamError::Contract(_) => (None, true),
        SeamError::Unauthorized => (None, false),
        SeamError::NotFound { .. } | SeamError::Refused { .. } => return None,
    };
    Some(LockWrite::Retry {
        error: e.to_string(),
        retry_after,
        uncertain,
    })
}

impl Access {
    /// Delivers lock write `job` (claimed at try `job.attempts`).
    pub async fn deliver(
        &self,
        job: &OutboxJob,
        now: DateTime<Utc>,
    ) -> Result<LockWrite, StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(LockWrite::Retry {
                error: "no outside access provider configured in this process".into(),
                retry_after: None,
                uncertain: false,
            });
        };
        let Some(b) = o.store.booking_by_id(&job.booking_id).await? else {
            return Ok(LockWrite::Dead("the booking is gone".into()));
        };
        let Some(c) = o.communities.get(&b.community_slug) else {
            return Ok(LockWrite::Dead(format!(
                "unknown community {}",
                b.community_slug
            )));
        };
        let Some(grant) = o.store.access_grant(&b.id).await? else {
            return Ok(LockWrite::Skipped("no grant for this booking".into()));
        };
        let generation = match job.kind {
            JobKind::AccessIssue => match serde_json::from_str::<AccessIssueJob>(&job.payload) {
                Ok(j) => j.generation,
                Err(e) => return Ok(LockWrite::Dead(format!("unreadable payload: {e}"))),
            },
            _ => match serde_json::from_str::<AccessRevokeJob>(&job.payload) {
                Ok(j) => j.generation,
                Err(e) => return Ok(LockWrite::Dead(format!("unreadable payload: {e}"))),
            },
        };
        if grant.generation != generation {
            return Ok(LockWrite::Skipped(format!(
                "superseded by generation {} of the booking's code",
                grant.generation
            )));
        }
        let seam = &o.seam;
        match job.kind {
            JobKind::AccessIssue => {
                if !b.state.is_live() {
                    return Ok(LockWrite::Skipped(format!(
                        "the booking is {}",
                        b.state.as_str()
                    )));
                }
                let code = self.codes.code_for(&b.id, b.slot_start());
                let answer = seam
                    .issue(
                        &b.id,
                        &grant.device_id,
                        &code,
                        (grant.starts_at, grant.ends_at),
                    )
                    .await;
                let (state, problem, id, result) = match answer {
                    Ok(c) => {
                        let (state, problem) = seam::state_of(&c);
                        (
                            state,
                            problem,
                            Some(c.access_code_id.clone()),
                            LockWrite::Done(c.access_code_id),
                        )
                    }
                    Err(e) => match retry(&e) {
                        Some(r) => return Ok(r),
                        None => (
                            GrantState::Failed,
                            Some(e.to_string()),
                            None,
                            LockWrite::Dead(e.to_string()),
                        ),
                    },
                };
                let mut tx = o.store.begin().await?;
                if !tx.job_still_ours(job.id, job.attempts).await? {
                    return Ok(result);
                }
                let moved = crate::domain::grant::grant_moves(
                    grant.state,
                    grant.state_at,
                    state,
                    grant.state_at,
                );
                if moved {
                    tx.set_grant_state(
                        &b.id,
                        generation,
                        state,
                        grant.state_at,
                        id.as_deref(),
                        problem.as_deref(),
                        now,
                    )
                    .await?;
                    if state == GrantState::Failed {
                        code_alert(
                            &mut tx,
                            c,
                            &b,
                            state,
                            problem.as_deref().unwrap_or("refused"),
                            now,
                        )
                        .await?;
                    }
                } else if let Some(id) = id.as_deref() {
                    // A report got here first; the id still needs keeping.
                    tx.set_grant_code_id(&b.id, generation, id, now).await?;
                }
                tx.commit().await?;
                Ok(result)
            }
            _ => {
                let (state, problem, result) = match seam.revoke(&b.id, &grant.device_id).await {
                    // Nothing of ours on the lock: gone already.
                    Ok(0) => (
                        GrantState::Removed,
                        None,
                        LockWrite::Done("nothing to remove".into()),
                    ),
                    // Deleted in Seam; the lock confirms with removed_from_device.
                    Ok(n) => (
                        GrantState::Revoking,
                        None,
                        LockWrite::Done(format!("{n} deleted")),
                    ),
                    Err(e) => match retry(&e) {
                        Some(r) => return Ok(r),
                        None => (
                            GrantState::RevokeFailed,
                            Some(e.to_string()),
                            LockWrite::Dead(e.to_string()),
                        ),
                    },
                };
                let mut tx = o.store.begin().await?;
                if !tx.job_still_ours(job.id, job.attempts).await? {
                    return Ok(result);
                }
                if state != grant.state {
                    tx.set_grant_state(
                        &b.id,
                        generation,
                        state,
                        grant.state_at,
                        None,
                        problem.as_deref(),
                        now,
                    )
                    .await?;
                    if state == GrantState::RevokeFailed {
                        code_alert(
                            &mut tx,
                            c,
                            &b,
                            state,
                            problem.as_deref().unwrap_or("refused"),
                            now,
                        )
                        .await?;
                    }
                }
                tx.commit().await?;
                Ok(result)
            }
        }
    }
}

/// Tells the community's staff contact, once per failure, that a code could not be set or
/// removed (staff pages show it whether or not a contact is configured).
pub async fn code_alert(
    tx: &mut Tx,
    c: &Community,
    b: &Booking,
    state: GrantState,
    problem: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(g) = tx.access_grant(&b.id).await? else {
        return Ok(());
    };
    if g.alerted_at.is_some() {
        return Ok(());
    }
    let when = crate::domain::describe(b.slot_start(), c.timezone);
    let (subject, what) = match state {
        GrantState::RevokeFailed => (
            format!("Security: a door code at {} could not be removed", c.name),
            "could not be removed from the lock: it may still open the door. Check the lock \
             and remove the code by hand if it stays there",
        ),
        _ => (
            format!("A door code at {} could not be set", c.name),
            "could not be set on the lock: the renter has not been sent a code. Check the lock \
             (online? room for codes?) or let the renter in another way",
        ),
    };
    let body = format!(
        "The door code for the tour of {} {} ({}) {what}.\n\nBooking: {}\nLock: {}\nReason: {problem}\n",
        b.first_name.as_str(),
        when,
        c.address,
        b.id.as_str(),
        g.device_id,
    );
    tx.history(
        &b.id,
        now,
        "access",
        state.as_str(),
        &format!("Door code {}: {problem}", state.as_str()),
    )
    .await?;
    if let Some(to) = &c.staff_email {
        let job = StaffAlertJob {
            to: to.as_str().to_string(),
            subject,
            body,
        };
        tx.enqueue(
            &b.id,
            &job,
            &DedupeKey::of(format!("{}:{}", state.as_str(), g.generation)),
            now,
            now,
        )
        .await?;
    }
    tx.mark_grant_alerted(&b.id, now).await?;
    Ok(())
}
