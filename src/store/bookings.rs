//! Bookings and their history.
use chrono::{DateTime, NaiveDate, Utc};

use super::outbox::enqueue_job;
use super::{is_unique_violation, on_backend, Store, StoreError, WriteTx};
use crate::booking::model::{Booking, BookingEvent, BookingId, BookingState, NewBooking};
use crate::domain::Bedrooms;
use crate::mail::QueuedMail;
use crate::outbox::{EmailJob, Job, JobKind};

/// Why an insert did not happen.
#[derive(Debug)]
pub enum InsertOutcome {
    Inserted,
    /// The same form was submitted before (double tap, back and resubmit).
    AlreadySubmitted(Box<Booking>),
    /// Another live booking holds this slot at this community.
    SlotTaken,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: String,
    token: String,
    community_slug: String,
    state: String,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    sms_consent: bool,
    move_date: Option<NaiveDate>,
    bedrooms: Option<String>,
    message: Option<String>,
    source_title: String,
    slot_start: DateTime<Utc>,
    slot_start_knock: String,
    slot_end: DateTime<Utc>,
    knock_prospect_id: Option<String>,
    knock_appointment_id: Option<String>,
    failure: Option<String>,
    knock_attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;

    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("booking {}: {what}", r.id));
        Ok(Booking {
            id: BookingId::parse(&r.id).ok_or_else(|| corrupt("id"))?,
            state: BookingState::parse(&r.state).ok_or_else(|| corrupt("state"))?,
            bedrooms: match &r.bedrooms {
                Some(b) => Some(Bedrooms::parse(b).ok_or_else(|| corrupt("bedrooms"))?),
                None => None,
            },
            token: r.token,
            community_slug: r.community_slug,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            phone: r.phone,
            sms_consent: r.sms_consent,
            move_date: r.move_date,
            message: r.message,
            source_title: r.source_title,
            slot_start: r.slot_start,
            slot_start_knock: r.slot_start_knock,
            slot_end: r.slot_end,
            knock_prospect_id: r.knock_prospect_id,
            knock_appointment_id: r.knock_appointment_id,
            failure: r.failure,
            knock_attempts: r.knock_attempts,
            next_attempt_at: r.next_attempt_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "id, token, community_slug, state, first_name, last_name, email, phone, \
    sms_consent, move_date, bedrooms, message, source_title, slot_start, slot_start_knock, \
    slot_end, knock_prospect_id, knock_appointment_id, failure, knock_attempts, \
    next_attempt_at, created_at, updated_at";

impl Store {
    /// Writes the request before Knock hears of it. Duplicates are told apart by looking again,
    /// because SQLite does not name the violated constraint.
    pub async fn insert_booking(&self, b: &NewBooking) -> Result<InsertOutcome, StoreError> {
        if let Some(existing) = self.booking_by_idempotency_key(&b.idempotency_key).await? {
            return Ok(InsertOutcome::AlreadySubmitted(Box::new(existing)));
        }
        let r = &b.renter;
        let result = on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let inserted = sqlx::query(
                "INSERT INTO bookings (id, token, idempotency_key, community_slug, state, \
                 first_name, last_name, email, phone, sms_consent, move_date, bedrooms, message, \
                 source_title, slot_start, slot_start_knock, slot_end, knock_attempts, \
                 next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'requesting', $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, $16, 0, $17, $17, $17)",
            )
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
            .bind(b.slot_start)
            .bind(&b.slot_start_knock)
            .bind(b.slot_end)
            .bind(b.created_at)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {
                    insert_event!(&mut *tx, &b.id, b.created_at, "renter", "requested",
                        &format!("Requested {} from the booking form", b.slot_start_knock))?;
                    tx.commit().await?;
                    Ok(())
                }
                Err(e) => Err(e),
            }
        });
        match result {
            Ok(()) => Ok(InsertOutcome::Inserted),
            Err(e) if is_unique_violation(&e) => {
                match self.booking_by_idempotency_key(&b.idempotency_key).await? {
                    Some(existing) => Ok(InsertOutcome::AlreadySubmitted(Box::new(existing))),
                    None => Ok(InsertOutcome::SlotTaken),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn booking_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<Booking>, StoreError> {
        self.one_booking("idempotency_key", key).await
    }

    pub async fn booking_by_token(&self, token: &str) -> Result<Option<Booking>, StoreError> {
        self.one_booking("token", token).await
    }

    pub async fn booking_by_id(&self, id: &BookingId) -> Result<Option<Booking>, StoreError> {
        self.one_booking("id", id.as_str()).await
    }

    async fn one_booking(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<Booking>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM bookings WHERE {column} = $1");
        let row: Option<BookingRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(value).fetch_optional(p).await?
        });
        row.map(Booking::try_from).transpose()
    }

    pub async fn booking_events(&self, id: &BookingId) -> Result<Vec<BookingEvent>, StoreError> {
        let rows: Vec<(DateTime<Utc>, String, String, String)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT at, actor, kind, detail FROM booking_events WHERE booking_id = $1 ORDER BY id",
            )
            .bind(id.as_str())
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(at, actor, kind, detail)| BookingEvent {
                at,
                actor,
                kind,
                detail,
            })
            .collect())
    }

    /// Knock's prospect id, kept as soon as we have it: the visit needs it later.
    pub async fn set_prospect_id(
        &self,
        id: &BookingId,
        prospect_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, p => {
            sqlx::query("UPDATE bookings SET knock_prospect_id = $1, updated_at = $2 WHERE id = $3")
                .bind(prospect_id)
                .bind(now)
                .bind(id.as_str())
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// requesting → confirmed, with Knock's appointment id; `mails` (the confirmation and what
    /// follows it) are queued in the same transaction. False when the booking was not
    /// requesting any more (a second worker got there first, or it was cancelled). A booking
    /// cancelled while its request was on its way keeps the appointment id and gets Knock's
    /// cancel queued, so that no appointment stays in Knock without a live booking.
    pub async fn confirm_booking(
        &self,
        id: &BookingId,
        appointment_id: &str,
        mails: &[QueuedMail],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let confirmed = self
            .transition(
                id,
                BookingState::Requesting,
                BookingState::Confirmed,
                now,
                "knock",
                "confirmed",
                &format!("Knock confirmed appointment {appointment_id}"),
                Some(appointment_id),
                None,
                mails,
            )
            .await?;
        if !confirmed {
            self.cancel_late_appointment(id, appointment_id, now)
                .await?;
        }
        Ok(confirmed)
    }

    /// requesting → failed: Knock refused for good; nothing of ours is left in Knock.
    pub async fn fail_booking(
        &self,
        id: &BookingId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.transition(
            id,
            BookingState::Requesting,
            BookingState::Failed,
            now,
            "knock",
            "failed",
            reason,
            None,
            Some(reason),
            &[],
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn transition(
        &self,
        id: &BookingId,
        from: BookingState,
        to: BookingState,
        now: DateTime<Utc>,
        actor: &str,
        kind: &str,
        detail: &str,
        appointment_id: Option<&str>,
        failure: Option<&str>,
        mails: &[QueuedMail],
    ) -> Result<bool, StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let done = sqlx::query(
                "UPDATE bookings SET state = $1, updated_at = $2, next_attempt_at = NULL, \
                 knock_appointment_id = COALESCE($3, knock_appointment_id), \
                 failure = COALESCE($4, failure) WHERE id = $5 AND state = $6",
            )
            .bind(to.as_str())
            .bind(now)
            .bind(appointment_id)
            .bind(failure)
            .bind(id.as_str())
            .bind(from.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                insert_event!(&mut *tx, id, now, actor, kind, detail)?;
                for mail in mails {
                    let payload = Job::Email(EmailJob::new(mail.kind, mail.sequence))
                        .to_json()
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    enqueue_job!(&mut *tx, id, JobKind::Email, mail.kind.as_str(), payload,
                        mail.due, now)?;
                }
                tx.commit().await?;
            } else {
                tracing::warn!(booking = %id, from = from.as_str(), to = to.as_str(),
                    "refused a state change: the booking is not in the expected state");
            }
            Ok(done)
        })
    }

    /// Counts a Knock attempt that did not settle the booking and says when to try again.
    pub async fn schedule_knock_retry(
        &self,
        id: &BookingId,
        next_at: DateTime<Utc>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            sqlx::query(
                "UPDATE bookings SET knock_attempts = knock_attempts + 1, next_attempt_at = $1, \
                 updated_at = $2 WHERE id = $3 AND state = 'requesting'",
            )
            .bind(next_at)
            .bind(now)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            insert_event!(&mut *tx, id, now, "knock", "retry", why)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Requests still waiting for Knock whose next attempt is due. Each is leased by moving its
    /// next attempt past `lease_until` with a conditional update, so that of several processes
    /// only one works on a booking at a time; a dead worker's lease simply runs out.
    pub async fn claim_due_requests(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Booking>, StoreError> {
        let due: Vec<(String,)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT id FROM bookings WHERE state = 'requesting' AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        let mut claimed = Vec::new();
        for (id,) in due {
            let won = on_backend!(self, p => {
                sqlx::query(
                    "UPDATE bookings SET next_attempt_at = $1 WHERE id = $2 \
                     AND state = 'requesting' AND next_attempt_at <= $3",
                )
                .bind(lease_until)
                .bind(&id)
                .bind(now)
                .execute(p)
                .await?
                .rows_affected()
                    == 1
            });
            if won {
                if let Some(b) = self.one_booking("id", &id).await? {
                    claimed.push(b);
                }
            }
        }
        Ok(claimed)
    }

    /// Starts held by live bookings at a community from `from` on: Knock may not know of a
    /// request that is still on its way, so these are never offered to another renter.
    pub async fn held_slots(
        &self,
        community_slug: &str,
        from: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let rows: Vec<(DateTime<Utc>,)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT slot_start FROM bookings WHERE community_slug = $1 AND slot_start >= $2 \
                 AND state IN ('requesting', 'confirmed', 'in_progress')",
            )
            .bind(community_slug)
            .bind(from)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|(t,)| t).collect())
    }

    /// Bookings of some communities starting in [from, to), for the staff pages.
    pub async fn bookings_between(
        &self,
        communities: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Booking>, StoreError> {
        let mut out = Vec::new();
        for slug in communities {
            let sql = format!(
                "SELECT {COLUMNS} FROM bookings WHERE community_slug = $1 AND slot_start >= $2 \
                 AND slot_start < $3 ORDER BY slot_start"
            );
            let rows: Vec<BookingRow> = on_backend!(self, p => {
                sqlx::query_as(&sql).bind(slug).bind(from).bind(to).fetch_all(p).await?
            });
            for r in rows {
                out.push(Booking::try_from(r)?);
            }
        }
        out.sort_by_key(|b| b.slot_start);
        Ok(out)
    }
}

/// Appends to a booking's history inside the caller's transaction. A macro rather than a
/// generic function: generic sqlx executors make futures that are not provably `Send`.
macro_rules! insert_event {
    ($tx:expr, $id:expr, $at:expr, $actor:expr, $kind:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO booking_events (booking_id, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($id.as_str())
        .bind($at)
        .bind($actor)
        .bind($kind)
        .bind($detail)
        .execute($tx)
        .await
    };
}
pub(crate) use insert_event;
