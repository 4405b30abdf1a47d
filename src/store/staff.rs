//! Staff accounts, their community grants, sign-in sessions and the audit of staff actions.
use chrono::{DateTime, Utc};

use super::booking_row::{BookingRow, COLUMNS};
use super::{is_unique_violation, on_backend, on_writer, Store, StoreError};
use crate::domain::attention::{ACCESS_NOT_SET, ACCESS_SET};
use crate::domain::{Booking, BookingId, BookingState};

/// A staff account as the application sees it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    pub id: i64,
    /// Lower-cased.
    pub email: String,
    /// Sees every community, present and future.
    pub is_admin: bool,
    pub communities: Vec<String>,
}

impl StaffMember {
    pub fn sees(&self, slug: &str) -> bool {
        self.is_admin || self.communities.iter().any(|c| c == slug)
    }
}

/// One row of the staff audit.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub booking_id: Option<String>,
    pub detail: String,
}

/// A session as stored: whose, when it began, when it was last seen.
#[derive(Debug, Clone, Copy)]
pub struct StoredSession {
    pub staff_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

/// What an account change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChange {
    Done,
    NoSuchStaff,
    /// The change was already in place (granted twice, revoked what was not granted).
    Unchanged,
}

/// Whom a refused sign-in counts against.
#[derive(Debug, Clone, Copy)]
pub struct SignInKeys<'a> {
    /// The client address's rate key.
    pub client: &'a str,
    /// The lower-cased e-mail, when the input was an e-mail address.
    pub account: Option<&'a str>,
    /// The nonce of a device cookie valid for `account`, when the browser sent one.
    pub device: Option<&'a str>,
}

/// One value per sign-in limit: per client address, per (account, address), per account
/// (refusals without a device cookie only), per device cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailures<T> {
    pub address: T,
    pub pair: T,
    pub account: T,
    pub device: T,
}

/// A sign-in to record with its new session.
pub struct NewStaffSession<'a> {
    /// SHA-256 of the new token.
    pub id: &'a str,
    /// The session the browser presented, if any: ended, so one browser holds one session.
    pub replaces: Option<&'a str>,
    pub staff: &'a StaffMember,
    pub detail: &'a str,
    pub now: DateTime<Utc>,
    /// This account's sessions seen last before this, or begun before `started_before`, are
    /// over and dropped.
    pub idle_since: DateTime<Utc>,
    pub started_before: DateTime<Utc>,
}

impl Store {
    /// Adds an account with its grants. None when the e-mail is taken (nothing is changed).
    pub async fn insert_staff(
        &self,
        email: &str,
        password_hash: &str,
        is_admin: bool,
        communities: &[String],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let detail = format!(
            "added {email}{} with communities [{}]",
            if is_admin { " (admin)" } else { "" },
            communities.join(", ")
        );
        let mut tx = self.begin().await?;
        let id = match tx
            .insert_staff_row(email, password_hash, is_admin, now)
            .await
        {
            Ok(id) => id,
            Err(e) if is_unique_violation(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for slug in communities {
            tx.grant_row(id, slug).await?;
        }
        tx.audit(now, actor, "staff_add", None, &detail).await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// The account's id and password hash, by lower-cased e-mail.
    pub async fn staff_credentials(
        &self,
        email: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(on_backend!(self, p => {
            sqlx::query_as("SELECT id, password_hash FROM staff WHERE email = $1")
                .bind(email)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn staff_member(&self, id: i64) -> Result<Option<StaffMember>, StoreError> {
        let row: Option<(i64, String, bool)> = on_backend!(self, p => {
            sqlx::query_as("SELECT id, email, is_admin FROM staff WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        match row {
            Some(r) => Ok(Some(self.with_communities(r).await?)),
            None => Ok(None),
        }
    }

    pub async fn list_staff(&self) -> Result<Vec<StaffMember>, StoreError> {
        let rows: Vec<(i64, String, bool)> = on_backend!(self, p => {
            sqlx::query_as("SELECT id, email, is_admin FROM staff ORDER BY email")
                .fetch_all(p)
                .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.with_communities(r).await?);
        }
        Ok(out)
    }

    async fn with_communities(
        &self,
        (id, email, is_admin): (i64, String, bool),
    ) -> Result<StaffMember, StoreError> {
        let slugs: Vec<(String,)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT community_slug FROM staff_communities WHERE staff_id = $1 \
                 ORDER BY community_slug",
            )
            .bind(id)
            .fetch_all(p)
            .await?
        });
        Ok(StaffMember {
            id,
            email,
            is_admin,
            communities: slugs.into_iter().map(|(s,)| s).collect(),
        })
    }

    /// Removes an account; its grants and sessions go with it (ON DELETE CASCADE).
    pub async fn remove_staff(
        &self,
        email: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        let mut tx = self.begin().await?;
        if !tx.delete_staff_row(email).await? {
            return Ok(StaffChange::NoSuchStaff);
        }
        tx.audit(
            now,
            actor,
            "staff_remove",
            None,
            &format!("removed {email}"),
        )
        .await?;
        tx.commit().await?;
        Ok(StaffChange::Done)
    }

    pub async fn grant_community(
        &self,
        email: &str,
        slug: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        let Some((id, _)) = self.staff_credentials(email).await? else {
            return Ok(StaffChange::NoSuchStaff);
        };
        let mut tx = self.begin().await?;
        if !tx.grant_row(id, slug).await? {
            return Ok(StaffChange::Unchanged);
        }
        tx.audit(
            now,
            actor,
            "staff_grant",
            None,
            &format!("granted {email} {slug}"),
        )
        .await?;
        tx.commit().await?;
        Ok(StaffChange::Done)
    }

    pub async fn revoke_community(
        &self,
        email: &str,
        slug: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        let Some((id, _)) = self.staff_credentials(email).await? else {
            return Ok(StaffChange::NoSuchStaff);
        };
        let mut tx = self.begin().await?;
        if !tx.revoke_row(id, slug).await? {
            return Ok(StaffChange::Unchanged);
        }
        tx.audit(
            now,
            actor,
            "staff_revoke",
            None,
            &format!("revoked {email} {slug}"),
        )
        .await?;
        tx.commit().await?;
        Ok(StaffChange::Done)
    }

    /// Records a sign-in: ends the session the browser came with, drops this account's
    /// sessions that are over (idle or too old), starts the new one and audits it, all in one
    /// transaction.
    pub async fn start_staff_session(&self, s: &NewStaffSession<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        if let Some(old) = s.replaces {
            tx.delete_session(old).await?;
        }
        tx.delete_stale_sessions(s.staff.id, s.idle_since, s.started_before)
            .await?;
        tx.insert_session(s.id, s.staff.id, s.now).await?;
        tx.audit(s.now, &s.staff.email, "sign_in", None, s.detail)
            .await?;
        tx.commit().await
    }

    pub async fn staff_session(&self, id: &str) -> Result<Option<StoredSession>, StoreError> {
        let row: Option<(i64, DateTime<Utc>, DateTime<Utc>)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT staff_id, last_seen_at, created_at FROM staff_sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        Ok(
            row.map(|(staff_id, last_seen_at, created_at)| StoredSession {
                staff_id,
                created_at,
                last_seen_at,
            }),
        )
    }

    pub async fn mark_session_seen(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        on_writer!(self, p => {
            sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Deletes a session; true when there was one.
    pub async fn end_staff_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(on_writer!(self, p => {
            sqlx::query("DELETE FROM staff_sessions WHERE id = $1")
                .bind(id)
                .execute(p)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// Appends to the staff audit (who, when, what, on which booking, why).
    pub async fn record_staff_action(
        &self,
        actor: &str,
        action: &str,
        booking: Option<&BookingId>,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.audit(now, actor, action, booking, detail).await?;
        tx.commit().await
    }

    /// Records a refused sign-in (see `SignInKeys`) and forgets those from before
    /// `forget_before`, in one transaction.
    pub async fn record_sign_in_failure(
        &self,
        keys: &SignInKeys<'_>,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        tx.record_sign_in_failure(keys.client, keys.account, keys.device, now, forget_before)
            .await?;
        tx.commit().await
    }

    /// The refused sign-ins since `since` that count against each of this attempt's limits,
    /// as every `serve` process sharing the database recorded them: the limits that hold
    /// behind a load balancer. Each field is the time of the `nth` newest such refusal (None
    /// when there are fewer): with `nth` the limit, the limit is spent until that refusal is
    /// a window old.
    pub async fn sign_in_failures_since(
        &self,
        keys: &SignInKeys<'_>,
        nth: &SignInFailures<i64>,
        since: DateTime<Utc>,
    ) -> Result<SignInFailures<Option<DateTime<Utc>>>, StoreError> {
        // The nth newest is the one past the n - 1 newer ones.
        let nth_newest = |key: &str| {
            format!(
                "(SELECT at FROM sign_in_failures WHERE {key} AND at > $1 \
                 ORDER BY at DESC LIMIT 1 OFFSET "
            )
        };
        let sql = format!(
            "SELECT {}$5), {}$6), {}$7), {}$8)",
            nth_newest("client = $2"),
            nth_newest("account = $3 AND client = $2"),
            nth_newest("account = $3 AND device IS NULL"),
            nth_newest("device = $4"),
        );
        let offset = |n: i64| (n - 1).max(0);
        type Row = (
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let (address, pair, account, device): Row = on_backend!(self, p => {
            sqlx::query_as(&sql)
                .bind(since)
                .bind(keys.client)
                .bind(keys.account)
                .bind(keys.device)
                .bind(offset(nth.address))
                .bind(offset(nth.pair))
                .bind(offset(nth.account))
                .bind(offset(nth.device))
                .fetch_one(p)
                .await?
        });
        Ok(SignInFailures {
            address,
            pair,
            account,
            device,
        })
    }

    /// The account's latest sign-ins and refused attempts, newest first.
    pub async fn recent_sign_ins(
        &self,
        email: &str,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT at, actor, action, booking_id, detail FROM staff_audit \
                 WHERE actor = $1 AND action IN ('sign_in', 'sign_in_refused') \
                 ORDER BY id DESC LIMIT $2",
            )
            .bind(email)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    /// Staff actions on one booking, oldest first.
    pub async fn staff_actions_on(&self, id: &BookingId) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT at, actor, action, booking_id, detail FROM staff_audit \
                 WHERE booking_id = $1 ORDER BY id",
            )
            .bind(id.as_str())
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(AuditEntry::from).collect())
    }

    /// Bookings of a community created since `since`, whatever their date: new ones always
    /// reach the staff list.
    pub async fn booking_ids_created_since(
        &self,
        community_slug: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<BookingId>, StoreError> {
        let rows: Vec<(String,)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT id FROM bookings WHERE community_slug = $1 AND created_at >= $2 \
                 ORDER BY created_at",
            )
            .bind(community_slug)
            .bind(since)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|(id,)| {
                BookingId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))
            })
            .collect()
    }
}

/// What the Today board's "needs attention" strip reads for one community: the bookings that
/// may need a look (`domain::attention` decides which do, and why) and which of them had a door
/// code the access provider could not set.
pub struct AttentionCandidates {
    pub bookings: Vec<Booking>,
    pub code_not_set: Vec<BookingId>,
    /// Those whose door code could not be removed from the lock (any state).
    pub code_not_removed: Vec<BookingId>,
}

impl Store {
    /// Bookings of `community` that may need attention: failed or no-show and changed since
    /// `since`, every request (stuck or waiting for a review), live ones whose door code could
    /// not be set, and any with a dead delivery; soonest first.
    pub async fn attention_candidates(
        &self,
        community: &str,
        since: DateTime<Utc>,
    ) -> Result<AttentionCandidates, StoreError> {
        let live = BookingState::sql_list(BookingState::is_live);
        // The latest of the provider's two access lines decides (see `domain::attention`).
        // A lock provider with a grant record (Seam: `access_grants`) says so there; one
        // without writes the two history lines.
        let code_not_set = format!(
            "state IN ({live}) AND ((SELECT e.kind FROM booking_events e \
             WHERE e.booking_id = bookings.id AND e.kind IN ('{ACCESS_NOT_SET}', '{ACCESS_SET}') \
             ORDER BY e.id DESC LIMIT 1) = '{ACCESS_NOT_SET}' \
             OR id IN (SELECT booking_id FROM access_grants WHERE state = 'failed'))"
        );
        let code_not_removed =
            "id IN (SELECT booking_id FROM access_grants WHERE state = 'revoke_failed')";
        let sql = format!(
            "SELECT {COLUMNS} FROM bookings WHERE community_slug = $1 AND ( \
             (state IN ('failed', 'no_show') AND updated_at >= $2) \
             OR state = 'requesting' \
             OR id IN (SELECT booking_id FROM outbox_jobs WHERE state = 'dead') \
             OR ({code_not_set}) OR {code_not_removed}) ORDER BY slot_start"
        );
        let rows: Vec<BookingRow> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(community).bind(since).fetch_all(p).await?
        });
        let bookings = rows
            .into_iter()
            .map(Booking::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let code_not_set = self.booking_ids_where(community, &code_not_set).await?;
        let code_not_removed = self.booking_ids_where(community, code_not_removed).await?;
        Ok(AttentionCandidates {
            bookings,
            code_not_set,
            code_not_removed,
        })
    }

    /// Ids of `community`'s bookings matching `predicate` (SQL over `bookings`).
    async fn booking_ids_where(
        &self,
        community: &str,
        predicate: &str,
    ) -> Result<Vec<BookingId>, StoreError> {
        let sql = format!("SELECT id FROM bookings WHERE community_slug = $1 AND {predicate}");
        let ids: Vec<(String,)> = on_backend!(self, p => {
            sqlx::query_as(&sql).bind(community).fetch_all(p).await?
        });
        ids.into_iter()
            .map(|(id,)| {
                BookingId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))
            })
            .collect()
    }
}

type AuditRow = (DateTime<Utc>, String, String, Option<String>, String);

impl From<AuditRow> for AuditEntry {
    fn from((at, actor, action, booking_id, detail): AuditRow) -> Self {
        AuditEntry {
            at,
            actor,
            action,
            booking_id,
            detail,
        }
    }
}
