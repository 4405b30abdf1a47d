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
        let Some((generation, device_id)) = target(job) else {
            return Ok(LockWrite::Dead("unreadable payload".into()));
        };
        let Some(grant) = o.store.access_grant_on(&b.id, &device_id).await? else {
            return Ok(LockWrite::Skipped(
                "no grant for this booking on this lock".into(),
            ));
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
                // Our PIN where the lock takes one (the same on every lock of the booking).
                let code = seam
                    .capabilities(&grant.device_id)
                    .custom_code
                    .then(|| self.codes.code_for(&b.id, b.slot_start()));
                let answer = seam
                    .issue(
                        &b.id,
                        &grant.device_id,
                        code.as_ref(),
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
                        &grant.device_id,
                        generation,
                        state,
                        grant.state_at,
                        id.as_deref(),
                        problem.as_deref(),
                        now,
                    )
                    .await?;
                    if state == GrantState::Failed {
                        let why = problem.as_deref().unwrap_or("refused");
                        code_alert(&mut tx, c, &b, &grant.device_id, state, why, now).await?;
                    }
                } else if let Some(id) = id.as_deref() {
                    // A report got here first; the id still needs keeping.
                    tx.set_grant_code_id(&b.id, &grant.device_id, generation, id, now)
                        .await?;
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
                        &grant.device_id,
                        generation,
                        state,
                        grant.state_at,
                        None,
                        problem.as_deref(),
                        now,
                    )
                    .await?;
                    if state == GrantState::RevokeFailed {
                        let why = problem.as_deref().unwrap_or("refused");
                        code_alert(&mut tx, c, &b, &grant.device_id, state, why, now).await?;
                    }
                }
                tx.commit().await?;
                Ok(result)
            }
        }
    }
}

/// The job's grant: its generation and lock.
fn target(job: &OutboxJob) -> Option<(i64, String)> {
    match job.kind {
        JobKind::AccessIssue => serde_json::from_str::<AccessIssueJob>(&job.payload)
            .ok()
            .map(|j| (j.generation, j.device_id)),
        _ => serde_json::from_str::<AccessRevokeJob>(&job.payload)
            .ok()
            .map(|j| (j.generation, j.device_id)),
    }
}

impl Access {
    /// The outbox gave up on lock write `job` (its deadline or tries ran out): its grant is
    /// `failed` (an issue) or `revoke_failed` (a revoke) with the last error as the problem,
    /// and staff are alerted, unless a report moved the grant on meanwhile. Fenced like a
    /// try's answer: only while the try still holds its lease.
    pub async fn gave_up(
        &self,
        job: &OutboxJob,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(());
        };
        let Some((generation, device_id)) = target(job) else {
            return Ok(());
        };
        let mut tx = o.store.begin().await?;
        if !tx.job_still_ours(job.id, job.attempts).await? {
            return Ok(());
        }
        let Some(b) = tx.booking(&job.booking_id).await? else {
            return Ok(());
        };
        let (Some(c), Some(g)) = (
            o.communities.get(&b.community_slug),
            tx.access_grant(&b.id, &device_id).await?,
        ) else {
            return Ok(());
        };
        let to = match job.kind {
            JobKind::AccessIssue => GrantState::Failed,
            _ => GrantState::RevokeFailed,
        };
        if g.generation != generation
            || !crate::domain::grant::grant_moves(g.state, g.state_at, to, g.state_at)
        {
            return Ok(());
        }
        let problem = format!("the lock could not be reached in time: {error}");
        tx.set_grant_state(
            &b.id,
            &device_id,
            generation,
            to,
            g.state_at,
            None,
            Some(&problem),
            now,
        )
        .await?;
        code_alert(&mut tx, c, &b, &device_id, to, &problem, now).await?;
        tx.commit().await
    }
}

/// Tells the community's staff contact, once per failure, that a code could not be set on or
/// removed from lock `device_id` (staff pages show it whether or not a contact is
/// configured). A unit's lock does not hold back the renter's code: the mail says so.
pub async fn code_alert(
    tx: &mut Tx,
    c: &Community,
    b: &Booking,
    device_id: &str,
    state: GrantState,
    problem: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(g) = tx.access_grant(&b.id, device_id).await? else {
        return Ok(());
    };
    if g.alerted_at.is_some() {
        return Ok(());
    }
    let when = crate::domain::describe(b.slot_start(), c.timezone);
    let lock = match &g.unit {
        None => "the lock".to_string(),
        Some(u) => format!("the lock of unit {u}"),
    };
    let (subject, what) = match (state, &g.unit) {
        (GrantState::RevokeFailed, _) => (
            format!("Security: a door code at {} could not be removed", c.name),
            format!(
                "could not be removed from {lock}: it may still open the door. Check the lock \
                 and remove the code by hand if it stays there"
            ),
        ),
        (_, None) => (
            format!("A door code at {} could not be set", c.name),
            format!(
                "could not be set on {lock}: the renter has not been sent a code. Check the \
                 lock (online? room for codes?) or let the renter in another way"
            ),
        ),
        (_, Some(u)) => (
            format!("A door code at {} could not be set on unit {u}", c.name),
            format!(
                "could not be set on {lock}: the renter has the building's code but may not \
                 get into the unit. Check the lock (online? room for codes?) or open the unit \
                 another way"
            ),
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
            &DedupeKey::of(format!(
                "{}:{}:{}",
                state.as_str(),
                g.device_id,
                g.generation
            )),
            now,
            now,
        )
        .await?;
    }
    tx.mark_grant_alerted(&b.id, device_id, now).await?;
    Ok(())
}
