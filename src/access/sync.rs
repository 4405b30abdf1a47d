//! A booking's grants brought in line with the booking, inside the transaction that changed
//! it: a generation of the grant and its outbox job per outside lock, written together.
use chrono::{DateTime, Utc};

use super::codes::window;
use super::seam::{self, Seam};
use crate::config::Community;
use crate::domain::job::{AccessIssueJob, AccessRevokeJob, DedupeKey};
use crate::domain::{Booking, BookingState, GrantState};
use crate::store::{GrantLock, StoreError, Tx};

/// The history kind said once when a cancelled booking's code cannot be taken off a lock.
const NOT_REVOCABLE: &str = "access_not_revocable";

fn revoked(s: GrantState) -> bool {
    matches!(
        s,
        GrantState::Revoking | GrantState::Removed | GrantState::RevokeFailed
    )
}

fn on_lock(unit: Option<&str>) -> String {
    match unit {
        None => "the lock".to_string(),
        Some(u) => format!("the lock of unit {u}"),
    }
}

/// A live booking gets a grant for its window (rounded as each lock takes it) on every
/// outside lock of its community: a new generation and its issue job where the window
/// differs or the grant was revoked. A cancelled or missed one gets a revoke job for each
/// code that can be revoked; one that cannot runs out at its window's end (said once).
pub(super) async fn sync_grants(
    tx: &mut Tx,
    seam: &Seam,
    c: &Community,
    b: &Booking,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let grants = tx.access_grants(&b.id).await?;
    if b.state.is_live() {
        let w = window(c, b);
        for lock in c.seam_locks() {
            let wanted = seam
                .capabilities(lock.device_id)
                .round((*w.start(), *w.end()));
            let current = grants.iter().any(|g| {
                g.device_id == lock.device_id
                    && (g.starts_at, g.ends_at) == wanted
                    && !revoked(g.state)
            });
            if current {
                continue;
            }
            let at = GrantLock {
                provider: seam::PROVIDER,
                device_id: lock.device_id,
                unit: lock.unit,
            };
            let generation = tx
                .put_grant(&b.id, at, wanted, GrantState::Issuing, now)
                .await?;
            let job = AccessIssueJob {
                generation,
                device_id: lock.device_id.to_string(),
                starts_at: wanted.0,
                ends_at: wanted.1,
            };
            let key = DedupeKey::of(format!("issue:{}:{generation}", lock.device_id));
            tx.enqueue(&b.id, &job, &key, now, now).await?;
            let line = format!("Door code queued for {}", on_lock(lock.unit));
            tx.history(&b.id, now, "access", "access_issue", &line)
                .await?;
        }
        return Ok(());
    }
    if !matches!(b.state, BookingState::Cancelled | BookingState::NoShow) {
        return Ok(());
    }
    let mut kept = Vec::new();
    for g in grants.iter().filter(|g| !revoked(g.state)) {
        if !seam.capabilities(&g.device_id).revocable {
            kept.push((on_lock(g.unit.as_deref()), g.ends_at));
            continue;
        }
        let at = GrantLock {
            provider: seam::PROVIDER,
            device_id: &g.device_id,
            unit: g.unit.as_deref(),
        };
        let generation = tx
            .put_grant(
                &b.id,
                at,
                (g.starts_at, g.ends_at),
                GrantState::Revoking,
                now,
            )
            .await?;
        let job = AccessRevokeJob {
            generation,
            device_id: g.device_id.clone(),
        };
        let key = DedupeKey::of(format!("revoke:{}:{generation}", g.device_id));
        tx.enqueue(&b.id, &job, &key, now, now).await?;
        let line = format!(
            "Door code removal queued for {}",
            on_lock(g.unit.as_deref())
        );
        tx.history(&b.id, now, "access", "access_revoke", &line)
            .await?;
    }
    if !kept.is_empty() && tx.history_count(&b.id, NOT_REVOCABLE).await? == 0 {
        let names: Vec<&str> = kept.iter().map(|(n, _)| n.as_str()).collect();
        let until = kept.iter().map(|(_, e)| *e).max().unwrap_or(b.slot_end);
        let line = format!(
            "The code on {} cannot be taken back (an offline code): it works until {}",
            names.join(", "),
            until.to_rfc3339()
        );
        tx.history(&b.id, now, "access", NOT_REVOCABLE, &line)
            .await?;
    }
    Ok(())
}
