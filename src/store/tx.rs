//! A write transaction on either backend, and the small typed blocks use cases build theirs
//! from: load a booking for update, move its state, append history and audit, queue a job.
//! Use cases own the transaction (what happens together, and why); the blocks own the SQL.
//!
//! Each block matches the backend once and runs one statement on its concrete connection, so
//! every future stays `Send` (generic sqlx executors would not be provably so).
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Sqlite, Transaction};

use super::booking_row::{BookingRow, COLUMNS};
use super::{is_unique_violation, Db, Store, StoreError};
use crate::domain::job::{DedupeKey, JobKind, JobPayload, GIVE_UP_AFTER};
use crate::domain::{Bedrooms, Booking, BookingId, BookingState, NewBooking, Review, Slot};

/// An open write transaction, and the bell to ring if it queued work.
pub struct Tx {
    pub(super) inner: Backend,
    bell: std::sync::Arc<tokio::sync::Notify>,
    queued: bool,
    /// This process's turn to write (SQLite), held until commit or rollback. Declared after
    /// `inner`, so that it is released after the transaction.
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

pub(super) enum Backend {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$c` bound to the transaction's concrete connection.
macro_rules! on_tx_impl {
    ($tx:expr, $c:ident => $body:expr) => {
        match &mut $tx.inner {
            $crate::store::tx::Backend::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::store::tx::Backend::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

pub(super) use on_tx_impl as on_tx;

impl Tx {
    /// `BEGIN IMMEDIATE` on SQLite, so that two writers never both read and then fail to
    /// upgrade their lock (SQLITE_BUSY in the middle of a transaction).
    pub(super) async fn begin(store: &Store) -> Result<Tx, StoreError> {
        let turn = store.write_turn().await?;
        let inner = match store.db() {
            Db::Sqlite(p) => Backend::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(p) => Backend::Postgres(p.begin().await?),
        };
        Ok(Tx {
            inner,
            bell: store.bell().clone(),
            queued: false,
            _turn: turn,
        })
    }
}

/// How a booking's columns change along with its state (each `None` leaves one as it is).
#[derive(Debug, Default, Clone)]
pub struct BookingChange<'a> {
    pub appointment_id: Option<&'a str>,
    pub failure: Option<&'a str>,
    pub first_access_at: Option<DateTime<Utc>>,
}

impl Tx {
    /// Commits; rings the outbox's bell when a job was queued, so this process's worker
    /// starts at once (other processes find it by polling).
    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            Backend::Sqlite(t) => t.commit().await?,
            Backend::Postgres(t) => t.commit().await?,
        }
        if self.queued {
            self.bell.notify_one();
        }
        Ok(())
    }

    /// The booking, locked until commit (PostgreSQL: `FOR UPDATE`; SQLite's write lock is
    /// already held since `BEGIN IMMEDIATE`).
    pub async fn booking(&mut self, id: &BookingId) -> Result<Option<Booking>, StoreError> {
        let row: Option<BookingRow> = match &mut self.inner {
            Backend::Sqlite(t) => {
                sqlx::query_as(&format!("SELECT {COLUMNS} FROM bookings WHERE id = $1"))
                    .bind(id.as_str())
                    .fetch_optional(&mut **t)
                    .await?
            }
            Backend::Postgres(t) => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM bookings WHERE id = $1 FOR UPDATE"
                ))
                .bind(id.as_str())
                .fetch_optional(&mut **t)
                .await?
            }
        };
        row.map(Booking::try_from).transpose()
    }

    /// The booking row as the form made it (`requesting`, held until `held_until`), as the
    /// database wrote it (`RETURNING`: no second query to read it back). The raw sqlx error is
    /// returned so that the caller can tell a unique violation.
    pub(super) async fn insert_booking_row(
        &mut self,
        b: &NewBooking,
        held_until: DateTime<Utc>,
    ) -> Result<BookingRow, sqlx::Error> {
        let r = &b.renter;
        let sql = format!(
            "INSERT INTO bookings (id, token, idempotency_key, community_slug, state, \
             first_name, last_name, email, phone, sms_consent, move_date, bedrooms, message, \
             source_title, slot_start, slot_start_knock, slot_end, knock_attempts, \
             next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'requesting', $5, $6, $7, $8, $9, $10, $11, $12, $13, \
             $14, $15, $16, 0, $17, $18, $18) RETURNING {COLUMNS}"
        );
        let row = on_tx!(self, c => {
            sqlx::query_as(&sql)
            .bind(b.id.as_str())
            .bind(b.token.as_str())
            .bind(&b.idempotency_key)
            .bind(&b.community_slug)
            .bind(r.first_name.as_str())
            .bind(r.last_name.as_str())
            .bind(r.email.as_str())
            .bind(r.phone.as_e164())
            .bind(r.sms_consent)
            .bind(r.move_date)
            .bind(r.bedrooms.map(Bedrooms::as_knock))
            .bind(r.message.as_deref())
            .bind(b.source_title.as_str())
            .bind(b.slot.utc())
            .bind(&b.slot.value)
            .bind(b.slot_end)
            .bind(held_until)
            .bind(b.created_at)
            .fetch_one(c)
            .await?
        });
        Ok(row)
    }

    /// Counts a Knock attempt of a booking still requesting, next due at `next_at`;
    /// `uncertain` marks (for good) that Knock may have acted on it.
    pub async fn count_knock_attempt(
        &mut self,
        id: &BookingId,
        next_at: DateTime<Utc>,
        uncertain: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET knock_attempts = knock_attempts + 1, next_attempt_at = $1, \
                 updated_at = $2, knock_uncertain = (knock_uncertain OR $4) \
                 WHERE id = $3 AND state = 'requesting'",
            )
            .bind(next_at)
            .bind(now)
            .bind(id.as_str())
            .bind(uncertain)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// Ids of bookings in `state` whose window ended at or before `ended_before`.
    pub async fn bookings_ended(
        &mut self,
        state: BookingState,
        ended_before: DateTime<Utc>,
    ) -> Result<Vec<BookingId>, StoreError> {
        let ids: Vec<(String,)> = on_tx!(self, c => {
            sqlx::query_as("SELECT id FROM bookings WHERE state = $1 AND slot_end <= $2 ORDER BY slot_end")
                .bind(state.as_str())
                .bind(ended_before)
                .fetch_all(c)
                .await?
        });
        ids.into_iter()
            .map(|(id,)| {
                BookingId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))
            })
            .collect()
    }

    /// `from` → `to`, with `change` to its columns. False when the booking is not in `from`
    /// (someone else moved it first), and then nothing is written. Leaving `requesting` ends
    /// the booking's Knock retries.
    pub async fn set_state(
        &mut self,
        id: &BookingId,
        from: BookingState,
        to: BookingState,
        change: BookingChange<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let moved = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET state = $1, updated_at = $2, \
                 next_attempt_at = CASE WHEN $1 = 'requesting' THEN next_attempt_at ELSE NULL END, \
                 review = CASE WHEN $1 = 'requesting' THEN review ELSE NULL END, \
                 knock_appointment_id = COALESCE($3, knock_appointment_id), \
                 failure = COALESCE($4, failure), \
                 first_access_at = COALESCE($5, first_access_at) \
                 WHERE id = $6 AND state = $7",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(change.appointment_id)
            .bind(change.failure)
            .bind(change.first_access_at)
            .bind(id.as_str())
            .bind(from.as_str())
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(moved)
    }

    /// A request now waits for staff (`review`, with what was found); the worker leaves it.
    /// `appointment_id` is kept when Knock named one. False when it is not requesting.
    pub async fn set_review(
        &mut self,
        id: &BookingId,
        review: Review,
        detail: &str,
        appointment_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let set = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET review = $1, review_detail = $2, next_attempt_at = NULL, \
                 knock_appointment_id = COALESCE($3, knock_appointment_id), updated_at = $4 \
                 WHERE id = $5 AND state = 'requesting'",
            )
            .bind(review.as_str())
            .bind(detail)
            .bind(appointment_id)
            .bind(now)
            .bind(id.as_str())
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(set)
    }

    /// Keeps Knock's appointment id on a booking that has none yet (an answer that came
    /// after the booking stopped waiting for it). False when it already had one.
    pub async fn adopt_appointment(
        &mut self,
        id: &BookingId,
        appointment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let kept = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET knock_appointment_id = $1, updated_at = $2 \
                 WHERE id = $3 AND knock_appointment_id IS NULL",
            )
            .bind(appointment_id)
            .bind(now)
            .bind(id.as_str())
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(kept)
    }

    /// A confirmed booking moves to `slot` with Knock's new appointment, if it still holds
    /// `old_appointment`. False when it changed meanwhile; `Err` with a unique violation
    /// when another booking holds the slot (see [`is_unique_violation`]).
    pub async fn move_slot(
        &mut self,
        id: &BookingId,
        slot: &Slot,
        slot_end: DateTime<Utc>,
        old_appointment: &str,
        new_appointment: &str,
        now: DateTime<Utc>,
    ) -> Result<MoveSlot, StoreError> {
        // A unique violation aborts a PostgreSQL transaction: the savepoint keeps the rest.
        on_tx!(self, c => { sqlx::query("SAVEPOINT move_slot").execute(c).await?; });
        let result = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET slot_start = $1, slot_end = $2, slot_start_knock = $3, \
                 knock_appointment_id = $4, updated_at = $5 \
                 WHERE id = $6 AND state = 'confirmed' AND knock_appointment_id = $7",
            )
            .bind(slot.utc())
            .bind(slot_end)
            .bind(&slot.value)
            .bind(new_appointment)
            .bind(now)
            .bind(id.as_str())
            .bind(old_appointment)
            .execute(c)
            .await
            .map(|done| done.rows_affected())
        });
        let outcome = match result {
            Ok(1) => MoveSlot::Moved,
            Ok(_) => MoveSlot::BookingChanged,
            Err(e) if is_unique_violation(&e) => MoveSlot::SlotTaken,
            Err(e) => return Err(e.into()),
        };
        let end = match outcome {
            MoveSlot::SlotTaken => "ROLLBACK TO SAVEPOINT move_slot",
            _ => "RELEASE SAVEPOINT move_slot",
        };
        on_tx!(self, c => { sqlx::query(end).execute(c).await?; });
        Ok(outcome)
    }

    /// Takes the booking's change hold until `until`, with one conditional update: won only
    /// when nobody holds it, or the last hold ran out by `now` (its process died). False when
    /// another change holds it; then nothing is written.
    pub async fn take_change_hold(
        &mut self,
        id: &BookingId,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let won = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET change_held_until = $1 WHERE id = $2 \
                 AND (change_held_until IS NULL OR change_held_until <= $3)",
            )
            .bind(until)
            .bind(id.as_str())
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(won)
    }

    /// Gives back the hold taken until `until`. A hold that ran out and was taken by another
    /// change since is theirs, and left as it is (false).
    pub async fn release_change_hold(
        &mut self,
        id: &BookingId,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let released = on_tx!(self, c => {
            sqlx::query(
                "UPDATE bookings SET change_held_until = NULL \
                 WHERE id = $1 AND change_held_until = $2",
            )
            .bind(id.as_str())
            .bind(until)
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(released)
    }

    /// Appends one line to a booking's history.
    pub async fn history(
        &mut self,
        id: &BookingId,
        now: DateTime<Utc>,
        actor: &str,
        kind: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO booking_events (booking_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id.as_str())
            .bind(now)
            .bind(actor)
            .bind(kind)
            .bind(detail)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// How many lines of `kind` the booking's history holds (e.g. its moves).
    pub async fn history_count(&mut self, id: &BookingId, kind: &str) -> Result<u32, StoreError> {
        let (n,): (i64,) = on_tx!(self, c => {
            sqlx::query_as("SELECT COUNT(*) FROM booking_events WHERE booking_id = $1 AND kind = $2")
                .bind(id.as_str())
                .bind(kind)
                .fetch_one(c)
                .await?
        });
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Appends to the staff audit (who, when, what, on which booking, why).
    pub async fn audit(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        action: &str,
        booking: Option<&BookingId>,
        detail: &str,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO staff_audit (at, actor, action, booking_id, detail) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(now)
            .bind(actor)
            .bind(action)
            .bind(booking.map(BookingId::as_str))
            .bind(detail)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    /// Queues `job` for `booking`, first tried at `due`; false when the booking already has a
    /// job of this kind and key, which is then left as it is.
    pub async fn enqueue(
        &mut self,
        booking: &BookingId,
        job: &impl JobPayload,
        key: &DedupeKey,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.enqueue_all(booking, &[(job, key.clone(), due)], now)
            .await
    }

    /// [`Tx::enqueue`] for several jobs of one booking, in one statement (a confirmation
    /// queues its mails together: one round trip, not one per mail). True when any was queued.
    pub async fn enqueue_all<J: JobPayload>(
        &mut self,
        booking: &BookingId,
        jobs: &[(J, DedupeKey, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if jobs.is_empty() {
            return Ok(false);
        }
        let mut payloads = Vec::with_capacity(jobs.len());
        for (job, _, _) in jobs {
            payloads.push(job.to_json().map_err(|e| {
                StoreError::Corrupt(format!("{} payload: {e}", job.kind().as_str()))
            })?);
        }
        // $1 the booking, $2 now; then five per job.
        let rows: Vec<String> = (0..jobs.len())
            .map(|i| {
                let p = 3 + 5 * i;
                format!(
                    "(${}, $1, ${}, ${}, 'pending', 0, ${}, ${}, FALSE, $2, $2)",
                    p,
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO outbox_jobs (kind, booking_id, dedupe_key, payload, state, attempts, \
             next_attempt_at, give_up_at, uncertain, created_at, updated_at) VALUES {} \
             ON CONFLICT (booking_id, kind, dedupe_key) DO NOTHING",
            rows.join(", ")
        );
        let queued = on_tx!(self, c => {
            let mut q = sqlx::query(&sql).bind(booking.as_str()).bind(now);
            for ((job, key, due), payload) in jobs.iter().zip(payloads) {
                q = q
                    .bind(job.kind().as_str())
                    .bind(key.as_str())
                    .bind(payload)
                    .bind(*due)
                    .bind(*due + GIVE_UP_AFTER);
            }
            q.execute(c).await?.rows_affected() > 0
        });
        self.queued |= queued;
        Ok(queued)
    }

    /// The payloads of the booking's jobs of `kind` queued after `since` (the mails a rate
    /// limit counts). Call after locking the booking ([`Tx::booking`]) so that two counts for
    /// one booking never run side by side.
    pub async fn payloads_since(
        &mut self,
        booking: &BookingId,
        kind: JobKind,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_tx!(self, c => {
            sqlx::query_as(
                "SELECT payload FROM outbox_jobs WHERE booking_id = $1 AND kind = $2 \
                 AND created_at > $3 ORDER BY id",
            )
            .bind(booking.as_str())
            .bind(kind.as_str())
            .bind(since)
            .fetch_all(c)
            .await?
        });
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// The booking's pending jobs of `kind` will not be sent: `skipped`, with `why`.
    pub async fn skip_pending(
        &mut self,
        booking: &BookingId,
        kind: JobKind,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let n = on_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox_jobs SET state = 'skipped', knock_result = $3, updated_at = $4 \
                 WHERE booking_id = $1 AND kind = $2 AND state = 'pending'",
            )
            .bind(booking.as_str())
            .bind(kind.as_str())
            .bind(why)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// The booking's pending jobs of `kind`: id and payload.
    pub async fn pending_jobs(
        &mut self,
        booking: &BookingId,
        kind: JobKind,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(on_tx!(self, c => {
            sqlx::query_as(
                "SELECT id, payload FROM outbox_jobs WHERE booking_id = $1 AND kind = $2 \
                 AND state = 'pending' ORDER BY id",
            )
            .bind(booking.as_str())
            .bind(kind.as_str())
            .fetch_all(c)
            .await?
        }))
    }

    /// One pending job will not be sent: `skipped`, with `why`. False when it is not pending.
    pub async fn skip_job(
        &mut self,
        id: i64,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox_jobs SET state = 'skipped', knock_result = $2, updated_at = $3 \
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(id)
            .bind(why)
            .bind(now)
            .execute(c)
            .await?
            .rows_affected()
                == 1
        }))
    }

    /// dead → pending, due now, retried until `give_up_at`. The job's booking, or None when
    /// the job is not dead (unknown, or already pending or delivered).
    pub async fn revive_dead_job(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        give_up_at: DateTime<Utc>,
    ) -> Result<Option<BookingId>, StoreError> {
        let booking: Option<(String,)> = on_tx!(self, c => {
            sqlx::query_as(
                "UPDATE outbox_jobs SET state = 'pending', next_attempt_at = $1, give_up_at = $2, \
                 updated_at = $1 WHERE id = $3 AND state = 'dead' RETURNING booking_id",
            )
            .bind(now)
            .bind(give_up_at)
            .bind(id)
            .fetch_optional(c)
            .await?
        });
        self.queued |= booking.is_some();
        booking
            .map(|(b,)| {
                BookingId::parse(&b).ok_or_else(|| StoreError::Corrupt(format!("booking id {b}")))
            })
            .transpose()
    }

    /// A mail job was handed to the mail server: delivered, fenced by `attempt` like
    /// `Store::finish_outbox_try`. False when fenced off.
    pub async fn mark_mail_sent(
        &mut self,
        id: i64,
        attempt: i32,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox_jobs SET state = 'delivered', lease_until = NULL, \
                 knock_result = 'sent', delivered_at = $1, updated_at = $1 \
                 WHERE id = $2 AND attempts = $3 AND state = 'delivering'",
            )
            .bind(now)
            .bind(id)
            .bind(attempt)
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(done)
    }

    /// True when this webhook-id was acted on before.
    pub async fn webhook_seen(&mut self, webhook_id: &str) -> Result<bool, StoreError> {
        let seen: Option<(String,)> = on_tx!(self, c => {
            sqlx::query_as("SELECT webhook_id FROM access_callbacks WHERE webhook_id = $1")
                .bind(webhook_id)
                .fetch_optional(c)
                .await?
        });
        Ok(seen.is_some())
    }

    /// Records a webhook-id with what it did; false when the same id raced us and is on
    /// record already (the caller then rolls back).
    pub async fn record_webhook(
        &mut self,
        webhook: &WebhookRecord<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let recorded = on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO access_callbacks (webhook_id, booking_id, kind, occurred_at, \
                 received_at, effect) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (webhook_id) DO NOTHING",
            )
            .bind(webhook.webhook_id)
            .bind(webhook.booking.as_str())
            .bind(webhook.kind)
            .bind(webhook.occurred_at)
            .bind(now)
            .bind(if webhook.changed { "changed" } else { "none" })
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(recorded)
    }
}

/// What [`WriteTx::move_slot`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveSlot {
    Moved,
    /// The booking is not confirmed with the old appointment any more.
    BookingChanged,
    /// Another live booking holds the new slot.
    SlotTaken,
}

/// One provider callback as kept for replay detection.
pub struct WebhookRecord<'a> {
    pub webhook_id: &'a str,
    pub booking: &'a BookingId,
    pub kind: &'a str,
    pub occurred_at: DateTime<Utc>,
    pub changed: bool,
}

/// Staff accounts and sessions: the rows the staff use cases change together with their audit.
impl Tx {
    pub(super) async fn insert_staff_row(
        &mut self,
        email: &str,
        password_hash: &str,
        is_admin: bool,
        now: DateTime<Utc>,
    ) -> Result<i64, sqlx::Error> {
        let (id,): (i64,) = on_tx!(self, c => {
            sqlx::query_as(
                "INSERT INTO staff (email, password_hash, is_admin, created_at) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(is_admin)
            .bind(now)
            .fetch_one(c)
            .await?
        });
        Ok(id)
    }

    /// Grants `slug` to the account; false when it was granted already.
    pub(super) async fn grant_row(&mut self, staff: i64, slug: &str) -> Result<bool, StoreError> {
        let n = on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO staff_communities (staff_id, community_slug) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(staff)
            .bind(slug)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Takes `slug` from the account; false when it was not granted.
    pub(super) async fn revoke_row(&mut self, staff: i64, slug: &str) -> Result<bool, StoreError> {
        let n = on_tx!(self, c => {
            sqlx::query("DELETE FROM staff_communities WHERE staff_id = $1 AND community_slug = $2")
                .bind(staff)
                .bind(slug)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Deletes the account (its grants and sessions go with it); false when there was none.
    pub(super) async fn delete_staff_row(&mut self, email: &str) -> Result<bool, StoreError> {
        let n = on_tx!(self, c => {
            sqlx::query("DELETE FROM staff WHERE email = $1")
                .bind(email)
                .execute(c)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub(super) async fn delete_session(&mut self, id: &str) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query("DELETE FROM staff_sessions WHERE id = $1")
                .bind(id)
                .execute(c)
                .await?;
        });
        Ok(())
    }

    /// Drops the account's sessions idle since `idle_since` or started before
    /// `started_before`.
    pub(super) async fn delete_stale_sessions(
        &mut self,
        staff: i64,
        idle_since: DateTime<Utc>,
        started_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query(
                "DELETE FROM staff_sessions WHERE staff_id = $1 \
                 AND (last_seen_at <= $2 OR created_at <= $3)",
            )
            .bind(staff)
            .bind(idle_since)
            .bind(started_before)
            .execute(c)
            .await?;
        });
        Ok(())
    }

    pub(super) async fn insert_session(
        &mut self,
        id: &str,
        staff: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO staff_sessions (id, staff_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(id)
            .bind(staff)
            .bind(now)
            .execute(c)
            .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// A refused sign-in from `client` (for `account`, when the input was an e-mail address;
    /// under `device`, the nonce of a device cookie valid for the account, when one was sent);
    /// those from before `forget_before` are forgotten.
    pub(super) async fn record_sign_in_failure(
        &mut self,
        client: &str,
        account: Option<&str>,
        device: Option<&str>,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => {
            sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
                .bind(forget_before)
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO sign_in_failures (at, client, account, device) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(now)
            .bind(client)
            .bind(account)
            .bind(device)
            .execute(c)
            .await?;
        });
        Ok(())
    }
}

/// Bookings per client address: the limit every `serve` process sharing the database counts.
impl Tx {
    /// Takes one booking from `client`'s allowance: `per_window` bookings since `since`. False
    /// (and nothing written) when they are spent. Rows from before `since` are forgotten.
    /// Concurrent takers for one client are serialized (PostgreSQL: a transaction-scoped
    /// advisory lock on the client; SQLite: `BEGIN IMMEDIATE` holds the write lock), so two
    /// racing posts never both take the last booking. Rolled back with the transaction: a
    /// booking that is not written does not count.
    pub(super) async fn take_client_allowance(
        &mut self,
        allowance: &ClientAllowance<'_>,
        booking: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        match &mut self.inner {
            Backend::Postgres(t) => {
                sqlx::query("SELECT pg_advisory_xact_lock(74120012, hashtext($1))")
                    .bind(allowance.client)
                    .execute(&mut **t)
                    .await?;
                // Old rows another transaction is deleting are left to it: no waiting on
                // (or deadlock with) other clients' bookings.
                sqlx::query(
                    "DELETE FROM client_bookings WHERE id IN (SELECT id FROM client_bookings \
                     WHERE at < $1 FOR UPDATE SKIP LOCKED)",
                )
                .bind(allowance.since)
                .execute(&mut **t)
                .await?;
            }
            Backend::Sqlite(t) => {
                sqlx::query("DELETE FROM client_bookings WHERE at < $1")
                    .bind(allowance.since)
                    .execute(&mut **t)
                    .await?;
            }
        }
        // Counted and taken in one statement: nothing is inserted once the window is spent.
        let taken = on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO client_bookings (at, client, booking_id) SELECT $1, $2, $3 \
                 WHERE (SELECT COUNT(*) FROM client_bookings WHERE client = $2 AND at >= $4) < $5",
            )
            .bind(now)
            .bind(allowance.client)
            .bind(booking.as_str())
            .bind(allowance.since)
            .bind(i64::from(allowance.per_window))
            .execute(c)
            .await?
            .rows_affected()
                == 1
        });
        Ok(taken)
    }
}

/// What one client may still book: at most `per_window` bookings since `since`.
#[derive(Debug, Clone, Copy)]
pub struct ClientAllowance<'a> {
    /// The client's rate key (an address; an IPv6 client's /64).
    pub client: &'a str,
    pub per_window: u32,
    pub since: DateTime<Utc>,
}

impl Tx {
    /// The renter's answer to "How was your tour?", unless the booking has one already
    /// (then false, and nothing is written).
    pub async fn insert_feedback(
        &mut self,
        id: &BookingId,
        f: &crate::domain::TourFeedback,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(self, c => {
            sqlx::query(
                "INSERT INTO tour_feedback (booking_id, rating, comment, answered_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (booking_id) DO NOTHING",
            )
            .bind(id.as_str())
            .bind(f.rating.as_str())
            .bind(f.comment.as_deref())
            .bind(f.answered_at)
            .execute(c)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// The booking's answer, if it has one.
    pub async fn feedback(
        &mut self,
        id: &BookingId,
    ) -> Result<Option<crate::domain::TourFeedback>, StoreError> {
        let row: Option<super::feedback::FeedbackRow> = on_tx!(self, c => {
            sqlx::query_as(super::feedback::SELECT)
                .bind(id.as_str())
                .fetch_optional(c)
                .await?
        });
        row.map(super::feedback::FeedbackRow::parse).transpose()
    }
}
