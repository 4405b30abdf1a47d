//! Forgetting what is needed only for a while (README "Security limits"): webhook ids kept for
//! replay detection, delivered and skipped outbox rows, and staff sessions that are over.
//! The booking's history (`booking_events`) and the staff audit are never pruned here.
use chrono::{DateTime, Utc};

use super::{on_writer, Store, StoreError};

/// Everything from before these moments goes.
#[derive(Debug, Clone, Copy)]
pub struct PruneBefore {
    /// `access_callbacks` received before this.
    pub webhooks: DateTime<Utc>,
    /// `outbox_jobs` delivered or skipped (last changed) before this; pending, delivering and
    /// dead jobs stay whatever their age.
    pub finished_jobs: DateTime<Utc>,
    /// Staff sessions last seen at or before this (idle too long)...
    pub sessions_seen: DateTime<Utc>,
    /// ...or begun at or before this (past their lifetime).
    pub sessions_begun: DateTime<Utc>,
}

/// How many rows each prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub webhooks: u64,
    pub jobs: u64,
    pub sessions: u64,
}

impl Store {
    pub async fn prune(&self, before: &PruneBefore) -> Result<Pruned, StoreError> {
        let webhooks = on_writer!(self, p => {
            sqlx::query("DELETE FROM access_callbacks WHERE received_at < $1")
                .bind(before.webhooks)
                .execute(p)
                .await?
                .rows_affected()
        });
        let jobs = on_writer!(self, p => {
            sqlx::query(
                "DELETE FROM outbox_jobs WHERE state IN ('delivered', 'skipped') \
                 AND updated_at < $1",
            )
            .bind(before.finished_jobs)
            .execute(p)
            .await?
            .rows_affected()
        });
        let sessions = on_writer!(self, p => {
            sqlx::query("DELETE FROM staff_sessions WHERE last_seen_at <= $1 OR created_at <= $2")
                .bind(before.sessions_seen)
                .bind(before.sessions_begun)
                .execute(p)
                .await?
                .rows_affected()
        });
        Ok(Pruned {
            webhooks,
            jobs,
            sessions,
        })
    }
}
