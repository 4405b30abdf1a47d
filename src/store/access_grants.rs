//! Access grants on outside locks (migrations 0016, 0018): a booking's code on each Seam lock
//! it opens (the building's, and its units'), where each is in its life, and the newest
//! provider event seen. Staff pages read [`Store::grants_needing_attention`].
use chrono::{DateTime, Utc};

use super::tx::Tx;
use super::{on_backend, on_writer, Store, StoreError};
use crate::domain::{BookingId, GrantState};

/// The `state_at` of a state we wrote ourselves (queued, the provider's answer): older than
/// any report of the provider's, whose times are its clock's, not ours, so that every report
/// counts against it (`domain::grant::grant_moves`).
pub const LOCAL_STATE_AT: DateTime<Utc> = DateTime::<Utc>::UNIX_EPOCH;

const GRANT_COLUMNS: &str = "booking_id, provider, device_id, unit, generation, starts_at, \
    ends_at, access_code_id, state, problem, state_at, arrival_attribution, alerted_at, opened_at";

/// The building's lock first, then the units' by name.
const LOCK_ORDER: &str = "ORDER BY (unit IS NOT NULL), unit";

#[derive(sqlx::FromRow)]
struct GrantDbRow {
    booking_id: String,
    provider: String,
    device_id: String,
    unit: Option<String>,
    generation: i64,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    access_code_id: Option<String>,
    state: String,
    problem: Option<String>,
    state_at: DateTime<Utc>,
    arrival_attribution: Option<String>,
    alerted_at: Option<DateTime<Utc>>,
    opened_at: Option<DateTime<Utc>>,
}

/// One booking's code on one outside lock.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRow {
    pub booking_id: BookingId,
    pub provider: String,
    pub device_id: String,
    /// The unit whose lock this is; None for the building's own lock.
    pub unit: Option<String>,
    pub generation: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub access_code_id: Option<String>,
    pub state: GrantState,
    /// Why it could not be set or removed.
    pub problem: Option<String>,
    pub state_at: DateTime<Utc>,
    pub arrival_attribution: Option<String>,
    pub alerted_at: Option<DateTime<Utc>>,
    /// The first time this lock opened with the booking's code.
    pub opened_at: Option<DateTime<Utc>>,
}

impl TryFrom<GrantDbRow> for GrantRow {
    type Error = StoreError;
    fn try_from(r: GrantDbRow) -> Result<Self, StoreError> {
        Ok(GrantRow {
            booking_id: BookingId::parse(&r.booking_id)
                .ok_or_else(|| StoreError::Corrupt(format!("grant booking {}", r.booking_id)))?,
            state: GrantState::parse(&r.state)
                .ok_or_else(|| StoreError::Corrupt(format!("grant state {}", r.state)))?,
            provider: r.provider,
            device_id: r.device_id,
            unit: r.unit,
            generation: r.generation,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            access_code_id: r.access_code_id,
            problem: r.problem,
            state_at: r.state_at,
            arrival_attribution: r.arrival_attribution,
            alerted_at: r.alerted_at,
            opened_at: r.opened_at,
        })
    }
}

/// Which lock a grant is on.
#[derive(Debug, Clone, Copy)]
pub struct GrantLock<'a> {
    pub provider: &'a str,
    pub device_id: &'a str,
    /// None: the building's own lock.
    pub unit: Option<&'a str>,
}

fn rows(rs: Vec<GrantDbRow>) -> Result<Vec<GrantRow>, StoreError> {
    rs.into_iter().map(GrantRow::try_from).collect()
}

impl Store {
    /// The booking's code on the building's own lock (None when that lock is not an outside
    /// provider's, or nothing was asked of it yet).
    pub async fn access_grant(&self, booking: &BookingId) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM access_grants WHERE booking_id = $1 AND unit IS NULL"
        );
        let r: Option<GrantDbRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(booking.as_str()).fetch_optional(p).await?
        });
        r.map(GrantRow::try_from).transpose()
    }

    /// The booking's code on lock `device_id`.
    pub async fn access_grant_on(
        &self,
        booking: &BookingId,
        device_id: &str,
    ) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM access_grants WHERE booking_id = $1 AND device_id = $2"
        );
        let r: Option<GrantDbRow> = on_backend!(self, p => {
            sqlx::query_as(&sql)
                .bind(booking.as_str())
                .bind(device_id)
                .fetch_optional(p)
                .await?
        });
        r.map(GrantRow::try_from).transpose()
    }

    /// The booking's codes on every lock it opens, the building's first.
    pub async fn access_grants(&self, booking: &BookingId) -> Result<Vec<GrantRow>, StoreError> {
        let sql =
            format!("SELECT {GRANT_COLUMNS} FROM access_grants WHERE booking_id = $1 {LOCK_ORDER}");
        let r: Vec<GrantDbRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(booking.as_str()).fetch_all(p).await?
        });
        rows(r)
    }

    /// Codes staff must act on: could not be set (`failed`), could not be removed
    /// (`revoke_failed`, a security alert), newest first.
    pub async fn grants_needing_attention(&self) -> Result<Vec<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM access_grants WHERE state IN ('failed', 'revoke_failed') \
             ORDER BY updated_at DESC"
        );
        let r: Vec<GrantDbRow> =
            on_backend!(self, p => { sqlx::query_as(&sql).fetch_all(p).await? });
        rows(r)
    }

    /// The newest event seen from `provider`.
    pub async fn access_event_cursor(
        &self,
        provider: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let r: Option<(DateTime<Utc>,)> = on_backend!(self, p => {
            sqlx::query_as("SELECT last_event_at FROM access_event_cursors WHERE provider = $1")
                .bind(provider)
                .fetch_optional(p)
                .await?
        });
        Ok(r.map(|(t,)| t))
    }

    /// Moves the cursor forward (never back) to `at`.
    pub async fn advance_access_event_cursor(
        &self,
        provider: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_writer!(self, p => {
            sqlx::query(
                "INSERT INTO access_event_cursors (provider, last_event_at, updated_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (provider) DO UPDATE SET \
                 last_event_at = CASE WHEN access_event_cursors.last_event_at < excluded.last_event_at \
                 THEN excluded.last_event_at ELSE access_event_cursors.last_event_at END, \
                 updated_at = excluded.updated_at",
            )
            .bind(provider)
            .bind(at)
            .bind(now)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// Bookings at `slug` whose codes on its `locks` outside locks may need a job: live ones
    /// short of a code on one of them or with one revoked, and ended or called-off ones that
    /// still have a code that is not removed (a code that cannot be revoked comes back each
    /// time: the look is cheap). Bounded to windows near `now` so that it stays small.
    pub async fn bookings_for_lock_reconcile(
        &self,
        slug: &str,
        locks: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingId>, StoreError> {
        let locks = i64::try_from(locks).unwrap_or(i64::MAX);
        let r: Vec<(String,)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT b.id FROM bookings b WHERE b.community_slug = $1 AND b.slot_end > $2 AND ( \
                 (b.state IN ('confirmed', 'in_progress') AND ( \
                   (SELECT COUNT(*) FROM access_grants g WHERE g.booking_id = b.id) < $3 \
                   OR EXISTS (SELECT 1 FROM access_grants g WHERE g.booking_id = b.id \
                     AND g.state IN ('revoking', 'removed', 'revoke_failed')))) \
                 OR (b.state IN ('cancelled', 'no_show') AND EXISTS (SELECT 1 FROM access_grants g \
                   WHERE g.booking_id = b.id \
                   AND g.state NOT IN ('revoking', 'removed', 'revoke_failed'))))",
            )
            .bind(slug)
            .bind(now - chrono::Duration::days(2))
            .bind(locks)
            .fetch_all(p)
            .await?
        });
        r.into_iter()
            .map(|(id,)| BookingId::parse(&id).ok_or_else(|| StoreError::Corrupt(id)))
            .collect()
    }
}

/// The blocks a use case builds its transaction from.
impl Tx {
    /// The booking's code on lock `device_id`.
    pub async fn access_grant(
        &mut self,
        booking: &BookingId,
        device_id: &str,
    ) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM access_grants WHERE booking_id = $1 AND device_id = $2"
        );
        let r: Option<GrantDbRow> = super::tx::on_tx!(self, c => {
            sqlx::query_as(&sql)
                .bind(booking.as_str())
                .bind(device_id)
                .fetch_optional(c)
                .await?
        });
        r.map(GrantRow::try_from).transpose()
    }

    /// The booking's codes on every lock, the building's first.
    pub async fn access_grants(
        &mut self,
        booking: &BookingId,
    ) -> Result<Vec<GrantRow>, StoreError> {
        let sql =
            format!("SELECT {GRANT_COLUMNS} FROM access_grants WHERE booking_id = $1 {LOCK_ORDER}");
        let r: Vec<GrantDbRow> = super::tx::on_tx!(self, c => {
            sqlx::query_as(&sql).bind(booking.as_str()).fetch_all(c).await?
        });
        rows(r)
    }

    /// The grant whose provider id is `access_code_id`.
    pub async fn grant_by_code_id(
        &mut self,
        access_code_id: &str,
    ) -> Result<Option<GrantRow>, StoreError> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM access_grants WHERE access_code_id = $1");
        let r: Option<GrantDbRow> = super::tx::on_tx!(self, c => {
            sqlx::query_as(&sql).bind(access_code_id).fetch_optional(c).await?
        });
        r.map(GrantRow::try_from).transpose()
    }

    /// Grants on `device_id` whose window holds `at` (widened by `slack` each side).
    pub async fn grants_on_device_at(
        &mut self,
        device_id: &str,
        at: DateTime<Utc>,
        slack: chrono::Duration,
    ) -> Result<Vec<GrantRow>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM access_grants WHERE device_id = $1 AND starts_at <= $2 \
             AND ends_at >= $3"
        );
        let r: Vec<GrantDbRow> = super::tx::on_tx!(self, c => {
            sqlx::query_as(&sql)
                .bind(device_id)
                .bind(at + slack)
                .bind(at - slack)
                .fetch_all(c)
                .await?
        });
        rows(r)
    }

    /// A new generation of the booking's grant on `lock.device_id`: a window to set
    /// (`Issuing`) or a revoke (`Revoking`). Returns the generation.
    pub async fn put_grant(
        &mut self,
        booking: &BookingId,
        lock: GrantLock<'_>,
        window: (DateTime<Utc>, DateTime<Utc>),
        state: GrantState,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let GrantLock {
            provider,
            device_id,
            unit,
        } = lock;
        let (g,): (i64,) = super::tx::on_tx!(self, c => {
            sqlx::query_as(
                "INSERT INTO access_grants (booking_id, provider, device_id, generation, starts_at, \
                 ends_at, state, state_at, updated_at, unit) \
                 VALUES ($1, $2, $3, 1, $4, $5, $6, $8, $7, $9) \
                 ON CONFLICT (booking_id, device_id) DO UPDATE SET provider = excluded.provider, \
                 unit = excluded.unit, generation = access_grants.generation + 1, \
                 starts_at = excluded.starts_at, ends_at = excluded.ends_at, \
                 state = excluded.state, problem = NULL, state_at = excluded.state_at, \
                 alerted_at = NULL, updated_at = excluded.updated_at \
                 RETURNING generation",
            )
            .bind(booking.as_str())
            .bind(provider)
            .bind(device_id)
            .bind(window.0)
            .bind(window.1)
            .bind(state.as_str())
            .bind(now)
            .bind(LOCAL_STATE_AT)
            .bind(unit)
            .fetch_one(c)
            .await?
        });
        Ok(g)
    }

    /// Sets the grant's state on `device_id` (and its provider id / problem when given), as
    /// of `state_at`, for generation `generation` only. False when the generation moved on.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_grant_state(
        &mut self,
        booking: &BookingId,
        device_id: &str,
        generation: i64,
        state: GrantState,
        state_at: DateTime<Utc>,
        access_code_id: Option<&str>,
        problem: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE access_grants SET state = $1, state_at = $2, \
                 access_code_id = COALESCE($3, access_code_id), problem = $4, updated_at = $5, \
                 alerted_at = CASE WHEN $1 IN ('failed', 'revoke_failed') THEN alerted_at ELSE NULL END \
                 WHERE booking_id = $6 AND generation = $7 AND device_id = $8",
            )
            .bind(state.as_str())
            .bind(state_at)
            .bind(access_code_id)
            .bind(problem)
            .bind(now)
            .bind(booking.as_str())
            .bind(generation)
            .bind(device_id)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Keeps the provider's id for the grant's code (generation `generation` only).
    pub async fn set_grant_code_id(
        &mut self,
        booking: &BookingId,
        device_id: &str,
        generation: i64,
        access_code_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE access_grants SET access_code_id = $1, updated_at = $2 \
                 WHERE booking_id = $3 AND generation = $4 AND device_id = $5",
            )
            .bind(access_code_id)
            .bind(now)
            .bind(booking.as_str())
            .bind(generation)
            .bind(device_id)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// Staff were mailed about the current failure of the grant on `device_id`.
    pub async fn mark_grant_alerted(
        &mut self,
        booking: &BookingId,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE access_grants SET alerted_at = $1 WHERE booking_id = $2 AND device_id = $3",
            )
            .bind(now)
            .bind(booking.as_str())
            .bind(device_id)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// How the arrival was tied to the booking (code_id | code | probable), on the lock that
    /// opened.
    pub async fn set_arrival_attribution(
        &mut self,
        booking: &BookingId,
        device_id: &str,
        how: &str,
    ) -> Result<(), StoreError> {
        super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE access_grants SET arrival_attribution = $1 WHERE booking_id = $2 \
                 AND device_id = $3 AND arrival_attribution IS NULL",
            )
            .bind(how)
            .bind(booking.as_str())
            .bind(device_id)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// Lock `device_id` opened with the booking's code at `at`: its first opening is kept
    /// (the earliest, whatever order the reports come in).
    pub async fn mark_grant_opened(
        &mut self,
        booking: &BookingId,
        device_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE access_grants SET opened_at = $1 WHERE booking_id = $2 AND device_id = $3 \
                 AND (opened_at IS NULL OR opened_at > $1)",
            )
            .bind(at)
            .bind(booking.as_str())
            .bind(device_id)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// The units whose lock opened with the booking's code, by name.
    pub async fn opened_units(&mut self, booking: &BookingId) -> Result<Vec<String>, StoreError> {
        let r: Vec<(String,)> = super::tx::on_tx!(self, c => {
            sqlx::query_as(
                "SELECT unit FROM access_grants WHERE booking_id = $1 AND unit IS NOT NULL \
                 AND opened_at IS NOT NULL ORDER BY unit",
            )
            .bind(booking.as_str())
            .fetch_all(c)
            .await?
        });
        Ok(r.into_iter().map(|(u,)| u).collect())
    }

    /// An entry reported late but from before the first one we heard of: the arrival is the
    /// earlier (only while the tour is under way; a visit sent stays as sent).
    pub async fn earlier_first_access(
        &mut self,
        booking: &BookingId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET first_access_at = $1 WHERE id = $2 AND state = 'in_progress' \
                 AND first_access_at > $1",
            )
            .bind(at)
            .bind(booking.as_str())
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Pending access-instruction mail for the booking is due now: the lock has the code.
    pub async fn hurry_pending_mail(
        &mut self,
        booking: &BookingId,
        mail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        super::tx::on_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox_jobs SET next_attempt_at = $1, updated_at = $1 WHERE booking_id = $2 \
                 AND kind = 'email' AND dedupe_key = $3 AND state = 'pending' AND next_attempt_at > $1 \
                 AND attempts > 0",
            )
            .bind(now)
            .bind(booking.as_str())
            .bind(mail)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// True while outbox job `id` is still at try `attempt` and being delivered: a worker
    /// whose lease ran out must not write what its late answer said.
    pub async fn job_still_ours(&mut self, id: i64, attempt: i32) -> Result<bool, StoreError> {
        let r: Option<(i64,)> = super::tx::on_tx!(self, c => {
            sqlx::query_as(
                "SELECT id FROM outbox_jobs WHERE id = $1 AND attempts = $2 AND state = 'delivering'",
            )
            .bind(id)
            .bind(attempt)
            .fetch_optional(c)
            .await?
        });
        Ok(r.is_some())
    }
}
