//! Staff accounts, their community grants, sign-in sessions and the audit of staff actions.
use chrono::{DateTime, Duration, Utc};

use super::{is_unique_violation, on_backend, Store, StoreError, WriteTx};
use crate::booking::model::BookingId;
use crate::staff::{AuditEntry, StaffMember};

/// What an account change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChange {
    Done,
    NoSuchStaff,
    /// The change was already in place (granted twice, revoked what was not granted).
    Unchanged,
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
}

/// Writes one audit row inside the caller's transaction.
macro_rules! insert_audit {
    ($tx:expr, $at:expr, $actor:expr, $action:expr, $booking:expr, $detail:expr) => {
        sqlx::query(
            "INSERT INTO staff_audit (at, actor, action, booking_id, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind($at)
        .bind($actor)
        .bind($action)
        .bind($booking)
        .bind($detail)
        .execute($tx)
        .await
    };
}
pub(crate) use insert_audit;

impl Store {
    /// Adds an account with its grants. None when the e-mail is taken (nothing is changed).
    pub async fn insert_staff(
        &self,
        email: &str,
        password_hash: &str,
        is_admin: bool,
        communities: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let detail = format!(
            "added {email}{} with communities [{}]",
            if is_admin { " (admin)" } else { "" },
            communities.join(", ")
        );
        let inserted: Result<i64, sqlx::Error> = on_backend!(self, p => {
            async {
                let mut tx = WriteTx::begin_write(p).await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO staff (email, password_hash, is_admin, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(email)
                .bind(password_hash)
                .bind(is_admin)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                for slug in communities {
                    sqlx::query(
                        "INSERT INTO staff_communities (staff_id, community_slug) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(slug)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_audit!(&mut *tx, now, "cli", "staff_add", None::<&str>, &detail)?;
                tx.commit().await?;
                Ok::<i64, sqlx::Error>(id)
            }
            .await
        });
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(e) if is_unique_violation(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
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
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let gone = sqlx::query("DELETE FROM staff WHERE email = $1")
                .bind(email)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if gone == 0 {
                return Ok(StaffChange::NoSuchStaff);
            }
            insert_audit!(&mut *tx, now, "cli", "staff_remove", None::<&str>,
                &format!("removed {email}"))?;
            tx.commit().await?;
        });
        Ok(StaffChange::Done)
    }

    pub async fn grant_community(
        &self,
        email: &str,
        slug: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        let Some((id, _)) = self.staff_credentials(email).await? else {
            return Ok(StaffChange::NoSuchStaff);
        };
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let added = sqlx::query(
                "INSERT INTO staff_communities (staff_id, community_slug) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(slug)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if added == 0 {
                return Ok(StaffChange::Unchanged);
            }
            insert_audit!(&mut *tx, now, "cli", "staff_grant", None::<&str>,
                &format!("granted {email} {slug}"))?;
            tx.commit().await?;
        });
        Ok(StaffChange::Done)
    }

    pub async fn revoke_community(
        &self,
        email: &str,
        slug: &str,
        now: DateTime<Utc>,
    ) -> Result<StaffChange, StoreError> {
        let Some((id, _)) = self.staff_credentials(email).await? else {
            return Ok(StaffChange::NoSuchStaff);
        };
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let removed = sqlx::query(
                "DELETE FROM staff_communities WHERE staff_id = $1 AND community_slug = $2",
            )
            .bind(id)
            .bind(slug)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if removed == 0 {
                return Ok(StaffChange::Unchanged);
            }
            insert_audit!(&mut *tx, now, "cli", "staff_revoke", None::<&str>,
                &format!("revoked {email} {slug}"))?;
            tx.commit().await?;
        });
        Ok(StaffChange::Done)
    }

    /// Records a sign-in: ends the session the browser came with, drops this account's
    /// sessions that are over (idle or too old), starts the new one and audits it, all in one
    /// transaction.
    pub async fn start_staff_session(&self, s: &NewStaffSession<'_>) -> Result<(), StoreError> {
        let idle_since = s.now - crate::staff::IDLE_TIMEOUT;
        let started_before = s.now - crate::staff::MAX_LIFETIME;
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            if let Some(old) = s.replaces {
                sqlx::query("DELETE FROM staff_sessions WHERE id = $1")
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "DELETE FROM staff_sessions WHERE staff_id = $1 \
                 AND (last_seen_at <= $2 OR created_at <= $3)",
            )
            .bind(s.staff.id)
            .bind(idle_since)
            .bind(started_before)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO staff_sessions (id, staff_id, created_at, last_seen_at) \
                 VALUES ($1, $2, $3, $3)",
            )
            .bind(s.id)
            .bind(s.staff.id)
            .bind(s.now)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, s.now, &s.staff.email, "sign_in", None::<&str>, s.detail)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The staff member of a live session, marking it seen. A session idle for `idle` or
    /// longer, or started `lifetime` or longer ago, is deleted and gives None.
    pub async fn touch_staff_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        idle: Duration,
        lifetime: Duration,
    ) -> Result<Option<StaffMember>, StoreError> {
        let row: Option<(i64, DateTime<Utc>, DateTime<Utc>)> = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT staff_id, last_seen_at, created_at FROM staff_sessions WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        let Some((staff_id, last_seen, created)) = row else {
            return Ok(None);
        };
        if last_seen + idle <= now || created + lifetime <= now {
            self.end_staff_session(id).await?;
            return Ok(None);
        }
        // One write a minute at most per session: page views need not each hit the disk.
        if now - last_seen >= Duration::minutes(1) {
            on_backend!(self, p => {
                sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(p)
                    .await?;
            });
        }
        self.staff_member(staff_id).await
    }

    /// Deletes a session; true when there was one.
    pub async fn end_staff_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(on_backend!(self, p => {
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
        let booking = booking.map(BookingId::as_str);
        on_backend!(self, p => {
            insert_audit!(p, now, actor, action, booking, detail)?;
        });
        Ok(())
    }

    /// Records a refused sign-in from `client` (for `account`, when the input was an e-mail
    /// address) and forgets those from before `forget_before`, in one transaction.
    pub async fn record_sign_in_failure(
        &self,
        client: &str,
        account: Option<&str>,
        now: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
                .bind(forget_before)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO sign_in_failures (at, client, account) VALUES ($1, $2, $3)")
                .bind(now)
                .bind(client)
                .bind(account)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Refused sign-ins since `since` from `client` and for `account`, as every `serve`
    /// process sharing the database recorded them: the limits that hold behind a load balancer.
    pub async fn sign_in_failures_since(
        &self,
        client: &str,
        account: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<(i64, i64), StoreError> {
        let counts: (i64, i64) = on_backend!(self, p => {
            sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM sign_in_failures WHERE client = $1 AND at > $3), \
                 (SELECT COUNT(*) FROM sign_in_failures WHERE account = $2 AND at > $3)",
            )
            .bind(client)
            .bind(account)
            .bind(since)
            .fetch_one(p)
            .await?
        });
        Ok(counts)
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
