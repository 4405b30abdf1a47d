//! Outbox rows: listing, finishing a try, claiming, and the numbers behind the metrics.
//! Queueing happens inside a use case's transaction (`Tx::enqueue`).
use chrono::{DateTime, Utc};

use super::{on_backend, on_writer, Db, Store, StoreError};
use crate::domain::job::{JobKind, JobState, OutboxJob};
use crate::domain::BookingId;

const OUTBOX_COLUMNS: &str = "id, kind, booking_id, payload, state, attempts, \
    next_attempt_at, lease_until, give_up_at, uncertain, last_error, knock_error_message, \
    knock_result, created_at, updated_at, delivered_at";

#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: i64,
    kind: String,
    booking_id: String,
    payload: String,
    state: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    lease_until: Option<DateTime<Utc>>,
    give_up_at: DateTime<Utc>,
    uncertain: bool,
    last_error: Option<String>,
    knock_error_message: Option<String>,
    knock_result: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    delivered_at: Option<DateTime<Utc>>,
}

impl TryFrom<OutboxRow> for OutboxJob {
    type Error = StoreError;

    fn try_from(r: OutboxRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("outbox job {}: {what}", r.id));
        Ok(OutboxJob {
            kind: JobKind::parse(&r.kind).ok_or_else(|| corrupt("kind"))?,
            state: JobState::parse(&r.state).ok_or_else(|| corrupt("state"))?,
            booking_id: BookingId::parse(&r.booking_id).ok_or_else(|| corrupt("booking id"))?,
            id: r.id,
            payload: r.payload,
            attempts: r.attempts,
            next_attempt_at: r.next_attempt_at,
            lease_until: r.lease_until,
            give_up_at: r.give_up_at,
            uncertain: r.uncertain,
            last_error: r.last_error,
            knock_error_message: r.knock_error_message,
            knock_result: r.knock_result,
            created_at: r.created_at,
            updated_at: r.updated_at,
            delivered_at: r.delivered_at,
        })
    }
}

/// How one try ended, written back under the claim it was made with.
#[derive(Debug, Clone, PartialEq)]
pub enum TryOutcome {
    /// Knock has it; `knock_result` is its id for it.
    Delivered { knock_result: Option<String> },
    /// Try again at `next_attempt_at`; `uncertain` when Knock may have acted on this try.
    Retry {
        next_attempt_at: DateTime<Utc>,
        error: String,
        uncertain: bool,
    },
    /// Deliberately not sent (`why`): the booking moved on, the moment passed.
    Skipped { why: String },
    /// Knock refused for good, or the retries ran out.
    Dead {
        error: String,
        knock_error_message: Option<String>,
    },
}

/// Queue depth of one kind and state, and the age of its oldest job.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxCount {
    pub kind: JobKind,
    pub state: JobState,
    pub count: i64,
    pub oldest_created_at: Option<DateTime<Utc>>,
}

impl Store {
    /// Jobs, newest first; `state` narrows the list (e.g. the dead ones for staff).
    pub async fn outbox_jobs(
        &self,
        state: Option<JobState>,
        limit: i64,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let rows: Vec<OutboxRow> = match state {
            Some(state) => {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox_jobs WHERE state = $1 \
                     ORDER BY id DESC LIMIT $2"
                );
                on_backend!(self, p => {
                    sqlx::query_as(&sql).bind(state.as_str()).bind(limit).fetch_all(p).await?
                })
            }
            None => {
                let sql =
                    format!("SELECT {OUTBOX_COLUMNS} FROM outbox_jobs ORDER BY id DESC LIMIT $1");
                on_backend!(self, p => { sqlx::query_as(&sql).bind(limit).fetch_all(p).await? })
            }
        };
        rows.into_iter().map(OutboxJob::try_from).collect()
    }

    pub async fn outbox_job(&self, id: i64) -> Result<Option<OutboxJob>, StoreError> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox_jobs WHERE id = $1");
        let row: Option<OutboxRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(id).fetch_optional(p).await?
        });
        row.map(OutboxJob::try_from).transpose()
    }

    /// A booking's jobs, oldest first (the staff pages show their delivery state).
    pub async fn outbox_jobs_for_booking(
        &self,
        booking: &BookingId,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let sql =
            format!("SELECT {OUTBOX_COLUMNS} FROM outbox_jobs WHERE booking_id = $1 ORDER BY id");
        let rows: Vec<OutboxRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(booking.as_str()).fetch_all(p).await?
        });
        rows.into_iter().map(OutboxJob::try_from).collect()
    }

    /// The jobs of several bookings (the staff tour list), oldest first.
    pub async fn outbox_jobs_for_bookings(
        &self,
        bookings: &[BookingId],
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let mut out = Vec::new();
        // Bounded lists keep every statement well under both backends' bind limits.
        for chunk in bookings.chunks(200) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox_jobs WHERE booking_id IN ({}) ORDER BY id",
                marks.join(", ")
            );
            let rows: Vec<OutboxRow> = on_backend!(self, p => {
                let mut q = sqlx::query_as(&sql);
                for b in chunk {
                    q = q.bind(b.as_str());
                }
                q.fetch_all(p).await?
            });
            for r in rows {
                out.push(OutboxJob::try_from(r)?);
            }
        }
        Ok(out)
    }

    /// Writes how a try ended. `attempt` fences the write: a worker whose lease ran out (and
    /// whose job another worker claimed, which counted a new attempt) changes nothing.
    /// False when fenced off.
    pub async fn finish_outbox_try(
        &self,
        id: i64,
        attempt: i32,
        outcome: &TryOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (state, next_at, uncertain, error, knock_message, result, delivered_at) = match outcome
        {
            TryOutcome::Delivered { knock_result } => (
                JobState::Delivered,
                None,
                None,
                None,
                None,
                knock_result.as_deref(),
                Some(now),
            ),
            TryOutcome::Retry {
                next_attempt_at,
                error,
                uncertain,
            } => (
                JobState::Pending,
                Some(*next_attempt_at),
                Some(*uncertain),
                Some(error.as_str()),
                None,
                None,
                None,
            ),
            TryOutcome::Skipped { why } => (
                JobState::Skipped,
                None,
                None,
                None,
                None,
                Some(why.as_str()),
                None,
            ),
            TryOutcome::Dead {
                error,
                knock_error_message,
            } => (
                JobState::Dead,
                None,
                None,
                Some(error.as_str()),
                knock_error_message.as_deref(),
                None,
                None,
            ),
        };
        let done = on_writer!(self, p => {
            sqlx::query(
                "UPDATE outbox_jobs SET state = $1, lease_until = NULL, \
                 next_attempt_at = COALESCE($2, next_attempt_at), \
                 uncertain = COALESCE($3, uncertain), \
                 last_error = COALESCE($4, last_error), \
                 knock_error_message = COALESCE($5, knock_error_message), \
                 knock_result = COALESCE($6, knock_result), \
                 delivered_at = COALESCE($7, delivered_at), updated_at = $8 \
                 WHERE id = $9 AND attempts = $10 AND state = 'delivering'",
            )
            .bind(state.as_str())
            .bind(next_at)
            .bind(uncertain)
            .bind(error)
            .bind(knock_message)
            .bind(result)
            .bind(delivered_at)
            .bind(now)
            .bind(id)
            .bind(attempt)
            .execute(p)
            .await?
            .rows_affected()
                == 1
        });
        Ok(done)
    }

    pub async fn outbox_counts(&self) -> Result<Vec<OutboxCount>, StoreError> {
        let rows: Vec<(String, String, i64, Option<DateTime<Utc>>)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT kind, state, COUNT(*), MIN(created_at) FROM outbox_jobs GROUP BY kind, state",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(kind, state, count, oldest)| {
                Ok(OutboxCount {
                    kind: JobKind::parse(&kind)
                        .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {kind}")))?,
                    state: JobState::parse(&state)
                        .ok_or_else(|| StoreError::Corrupt(format!("outbox state {state}")))?,
                    count,
                    oldest_created_at: oldest,
                })
            })
            .collect()
    }
}

const CLAIM_SET: &str = "SET state = 'delivering', lease_until = $2, attempts = attempts + 1, \
    uncertain = (uncertain OR state = 'delivering'), updated_at = $1";
const CLAIM_DUE: &str = "(state = 'pending' AND next_attempt_at <= $1) \
    OR (state = 'delivering' AND lease_until <= $1)";

impl Store {
    /// Claims due jobs under a lease: the one statement written per backend. A claim moves a
    /// job to `delivering`, counts the try and sets `lease_until`. A job whose lease ran out
    /// (its worker died, or hung past the lease) is due again; since that worker may have
    /// reached Knock, such a job is marked uncertain.
    pub async fn claim_due_jobs(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxJob>, StoreError> {
        let _turn = self.write_turn().await?;
        let rows: Vec<OutboxRow> = match self.db() {
            // Several processes claim at once: rows another claim holds are skipped, not
            // waited for.
            Db::Postgres(p) => {
                let sql = format!(
                    "UPDATE outbox_jobs {CLAIM_SET} WHERE id IN (SELECT id FROM outbox_jobs \
                     WHERE {CLAIM_DUE} ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
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
            Db::Sqlite(p) => {
                let sql = format!(
                    "UPDATE outbox_jobs {CLAIM_SET} WHERE id IN (SELECT id FROM outbox_jobs \
                     WHERE {CLAIM_DUE} ORDER BY next_attempt_at LIMIT $3) RETURNING {OUTBOX_COLUMNS}"
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
}
