//! Claiming due jobs under a lease: the one statement written per backend.
//!
//! A claim moves a job to `delivering`, counts the try and sets `lease_until`. A job whose
//! lease ran out (its worker died, or hung past the lease) is due again; since that worker may
//! have reached Knock, such a job is marked uncertain.
use chrono::{DateTime, Utc};

use crate::store::outbox::{OutboxRow, OUTBOX_COLUMNS};
use crate::store::{Store, StoreError};

use super::OutboxJob;

const SET: &str = "SET state = 'delivering', lease_until = $2, attempts = attempts + 1, \
    uncertain = (uncertain OR state = 'delivering'), updated_at = $1";
const DUE: &str = "(state = 'pending' AND next_attempt_at <= $1) \
    OR (state = 'delivering' AND lease_until <= $1)";

pub(crate) async fn claim_due(
    store: &Store,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxJob>, StoreError> {
    let rows: Vec<OutboxRow> = match store {
        // Several processes claim at once: rows another claim holds are skipped, not waited for.
        Store::Postgres(p) => {
            let sql = format!(
                "UPDATE outbox_jobs {SET} WHERE id IN (SELECT id FROM outbox_jobs WHERE {DUE} \
                 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
                 RETURNING {OUTBOX_COLUMNS}"
            );
            sqlx::query_as(&sql)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(p)
                .await?
        }
        // SQLite has one writer at a time: a single statement is the whole claim.
        Store::Sqlite(p) => {
            let sql = format!(
                "UPDATE outbox_jobs {SET} WHERE id IN (SELECT id FROM outbox_jobs WHERE {DUE} \
                 ORDER BY next_attempt_at LIMIT $3) RETURNING {OUTBOX_COLUMNS}"
            );
            sqlx::query_as(&sql)
                .bind(now)
                .bind(lease_until)
                .bind(limit)
                .fetch_all(p)
                .await?
        }
    };
    rows.into_iter().map(OutboxJob::try_from).collect()
}
