//! Bookings and their history.
use chrono::{DateTime, Utc};

use super::booking_row::{BookingRow, COLUMNS};
use super::tx::{ClientAllowance, WebhookRecord};
use super::{is_unique_violation, on_backend, on_writer, Store, StoreError};
use crate::domain::{
    Booking, BookingEvent, BookingId, BookingState, BookingToken, Email, HeldSlots, NewBooking,
    Phone,
};

/// Why an insert did not happen.
#[derive(Debug)]
pub enum InsertOutcome {
    /// Written: the booking as stored.
    Inserted(Box<Booking>),
    /// The same form was submitted before (double tap, back and resubmit).
    AlreadySubmitted(Box<Booking>),
    /// Another live booking holds this slot at this community.
    SlotTaken,
    /// The renter (by e-mail or by phone) has a live booking at this community already: this
    /// one, which a racing request wrote first.
    RenterHasLiveBooking(Box<Booking>),
    /// The client's bookings for the window are spent (a racing post took the last one):
    /// nothing was written.
    ClientLimited,
}

impl Store {
    /// Writes the request before Knock hears of it, held by the writer until `held_until`:
    /// the booking worker takes it only after that (the renter's own request is still on its
    /// way to Knock until then). Duplicates are told apart by looking again, because SQLite
    /// does not name the violated constraint.
    pub async fn insert_booking(
        &self,
        b: &NewBooking,
        held_until: DateTime<Utc>,
    ) -> Result<InsertOutcome, StoreError> {
        self.insert_booking_within(b, held_until, None).await
    }

    /// [`Store::insert_booking`], counted against the client's `allowance` (when given) in
    /// the same transaction: the booking and its count are written together or not at all.
    pub async fn insert_booking_within(
        &self,
        b: &NewBooking,
        held_until: DateTime<Utc>,
        allowance: Option<&ClientAllowance<'_>>,
    ) -> Result<InsertOutcome, StoreError> {
        // No look for a resubmission first: the unique key refuses it in the transaction, and
        // the violation is told apart below (one round trip fewer for every booking).
        let mut tx = self.begin().await?;
        if let Some(a) = allowance {
            if !tx.take_client_allowance(a, &b.id, b.created_at).await? {
                drop(tx);
                // The twin of a post that took the client's last booking is that booking.
                if let Some(existing) = self.booking_by_idempotency_key(&b.idempotency_key).await? {
                    return Ok(InsertOutcome::AlreadySubmitted(Box::new(existing)));
                }
                return Ok(InsertOutcome::ClientLimited);
            }
        }
        let inserted = tx.insert_booking_row(b, held_until).await;
        let result = match inserted {
            Ok(written) => {
                tx.history(
                    &b.id,
                    b.created_at,
                    "renter",
                    "requested",
                    &format!("Requested {} from the booking form", b.slot.value),
                )
                .await?;
                // The row as written: the caller needs it, not another query.
                let written = Booking::try_from(written)?;
                tx.commit().await?;
                Ok(written)
            }
            Err(e) => {
                // Rolled back (the client's count with it) before looking again.
                drop(tx);
                Err(e)
            }
        };
        match result {
            Ok(written) => Ok(InsertOutcome::Inserted(Box::new(written))),
            Err(e) if is_unique_violation(&e) => {
                if let Some(existing) = self.booking_by_idempotency_key(&b.idempotency_key).await? {
                    return Ok(InsertOutcome::AlreadySubmitted(Box::new(existing)));
                }
                // The renter's own live booking before the slot: it is what the renter needs
                // to hear about (and a racing twin of theirs may hold both).
                let r = &b.renter;
                match self
                    .renter_live_booking(&b.community_slug, &r.email, &r.phone)
                    .await?
                {
                    Some(existing) => Ok(InsertOutcome::RenterHasLiveBooking(Box::new(existing))),
                    None => Ok(InsertOutcome::SlotTaken),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A booking at `community_slug` that holds a slot (requesting, confirmed, in progress)
    /// with this e-mail (case-insensitively, as Knock merges prospects) or this phone (E.164).
    /// The comparison is the one the unique indexes of migration 0010 make (`lower(email)`),
    /// so that what the database refuses is what this finds. The oldest first, should there
    /// ever be two (one by e-mail, another by phone).
    pub async fn renter_live_booking(
        &self,
        community_slug: &str,
        email: &Email,
        phone: &Phone,
    ) -> Result<Option<Booking>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bookings WHERE community_slug = $1 AND state IN ({}) \
             AND (lower(email) = lower($2) OR phone = $3) ORDER BY created_at, id LIMIT 1",
            BookingState::sql_list(BookingState::holds_slot)
        );
        let row: Option<BookingRow> = on_backend!(self, p => {
            sqlx::query_as(&sql)
                .bind(community_slug)
                .bind(email.as_str())
                .bind(phone.as_e164())
                .fetch_optional(p)
                .await?
        });
        row.map(Booking::try_from).transpose()
    }

    /// Bookings accepted from `client` (its rate key) since `since`, as every `serve`
    /// process sharing the database recorded them, and when the oldest of them was made.
    pub async fn client_bookings_since(
        &self,
        client: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<DateTime<Utc>>), StoreError> {
        let row: (i64, Option<DateTime<Utc>>) = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM client_bookings WHERE client = $1 AND at >= $2",
            )
            .bind(client)
            .bind(since)
            .fetch_one(p)
            .await?
        });
        Ok(row)
    }

    pub async fn booking_by_idempotency_key(
        &self,
        key: &str,
    ) -> Result<Option<Booking>, StoreError> {
        self.one_booking("idempotency_key", key).await
    }

    pub async fn booking_by_token(
        &self,
        token: &BookingToken,
    ) -> Result<Option<Booking>, StoreError> {
        self.one_booking("token", token.as_str()).await
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
        on_writer!(self, p => {
            sqlx::query("UPDATE bookings SET knock_prospect_id = $1, updated_at = $2 WHERE id = $3")
                .bind(prospect_id)
                .bind(now)
                .bind(id.as_str())
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Records a callback that changed nothing, in one statement outside a transaction, on
    /// condition that its booking is still in `state`, the state it was decided from; false
    /// when it is not, or the webhook-id is on record (the caller then decides again under
    /// the write lock, which tells the two apart).
    pub async fn record_unchanged_report(
        &self,
        webhook: &WebhookRecord<'_>,
        state: BookingState,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        debug_assert!(!webhook.changed);
        let recorded = on_writer!(self, p => {
            sqlx::query(
                "INSERT INTO access_callbacks (webhook_id, booking_id, kind, occurred_at, \
                 received_at, effect) SELECT $1, $2, $3, $4, $5, 'none' \
                 WHERE EXISTS (SELECT 1 FROM bookings WHERE id = $2 AND state = $6) \
                 ON CONFLICT (webhook_id) DO NOTHING",
            )
            .bind(webhook.webhook_id)
            .bind(webhook.booking.as_str())
            .bind(webhook.kind)
            .bind(webhook.occurred_at)
            .bind(now)
            .bind(state.as_str())
            .execute(p)
            .await?
            .rows_affected()
                == 1
        });
        Ok(recorded)
    }

    /// Counts a Knock attempt that did not settle the booking and says when to try again;
    /// `uncertain` when Knock may have acted on it (a lost answer), which stays so.
    pub async fn schedule_knock_retry(
        &self,
        id: &BookingId,
        next_at: DateTime<Utc>,
        uncertain: bool,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.count_knock_attempt(id, next_at, uncertain, now).await?;
        tx.history(id, now, "knock", "retry", why).await?;
        tx.commit().await
    }

    /// One request waiting for Knock whose next attempt is due, leased by moving its next
    /// attempt to `lease_until` with a conditional update: of several processes only one
    /// works on a booking at a time, and a dead worker's lease simply runs out. One at a time,
    /// so that each booking is worked under a lease of its own.
    pub async fn claim_due_request(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Booking>, StoreError> {
        loop {
            let due: Option<(String,)> = on_backend!(self, p => {
                sqlx::query_as(
                    "SELECT id FROM bookings WHERE state = 'requesting' AND review IS NULL \
                     AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT 1",
                )
                .bind(now)
                .fetch_optional(p)
                .await?
            });
            let Some((id,)) = due else {
                return Ok(None);
            };
            let won = on_writer!(self, p => {
                sqlx::query(
                    "UPDATE bookings SET next_attempt_at = $1 WHERE id = $2 \
                     AND state = 'requesting' AND review IS NULL AND next_attempt_at <= $3",
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
                return self.one_booking("id", &id).await;
            }
        }
    }

    /// Starts held by live bookings at a community from `from` on: Knock may not know of a
    /// request that is still on its way, so these are never offered to another renter.
    pub async fn held_slots(
        &self,
        community_slug: &str,
        from: DateTime<Utc>,
    ) -> Result<HeldSlots, StoreError> {
        let sql = format!(
            "SELECT slot_start FROM bookings WHERE community_slug = $1 AND slot_start >= $2 \
             AND state IN ({})",
            BookingState::sql_list(BookingState::holds_slot)
        );
        let rows: Vec<(DateTime<Utc>,)> = on_backend!(self, p => {
            sqlx::query_as(&sql)
            .bind(community_slug)
            .bind(from)
            .fetch_all(p)
            .await?
        });
        Ok(HeldSlots::new(rows.into_iter().map(|(t,)| t).collect()))
    }

    /// Bookings of some communities whose id begins with `start` (a booking reference's
    /// code, `tg_` and a few characters of the id's alphabet), for staff looking one up.
    pub async fn bookings_with_id_start(
        &self,
        communities: &[String],
        start: &str,
    ) -> Result<Vec<Booking>, StoreError> {
        // The length is ours (a parsed reference), never the caller's text.
        let sql = format!(
            "SELECT {COLUMNS} FROM bookings WHERE community_slug = $1 AND substr(id, 1, {}) = $2 \
             ORDER BY slot_start",
            start.len()
        );
        let mut out = Vec::new();
        for slug in communities {
            let rows: Vec<BookingRow> = on_backend!(self, p => {
                sqlx::query_as(&sql).bind(slug).bind(start).fetch_all(p).await?
            });
            for r in rows {
                out.push(Booking::try_from(r)?);
            }
        }
        Ok(out)
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
        out.sort_by_key(|b| b.slot_start());
        Ok(out)
    }
}

impl Store {
    /// An attempt of a booking still requesting may have reached Knock (its answer was lost).
    pub async fn mark_knock_uncertain(
        &self,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_writer!(self, p => {
            sqlx::query(
                "UPDATE bookings SET knock_uncertain = TRUE, updated_at = $1 \
                 WHERE id = $2 AND state = 'requesting'",
            )
            .bind(now)
            .bind(id.as_str())
            .execute(p)
            .await?;
        });
        Ok(())
    }
}
