//! What a signed-in staff member can see and do, as use cases over the store: every read is
//! scoped to the communities granted to them, and every action is recorded under their name.
use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{AuditEntry, StaffMember};
use crate::domain::attention::{self, Attention};
use crate::domain::job::OutboxJob;
use crate::domain::{Booking, BookingEvent, BookingId, BookingReference};
use crate::outbox::{self, Actor};
use crate::store::{Store, StoreError};

#[derive(Clone)]
pub struct StaffDesk {
    store: Store,
}

/// One booking as staff see it: the booking, its history, staff actions on it, and its
/// deliveries (Knock writes and renter mail).
pub struct BookingRecord {
    pub booking: Booking,
    pub events: Vec<BookingEvent>,
    pub staff_actions: Vec<AuditEntry>,
    pub jobs: Vec<OutboxJob>,
    /// The renter's answer to "How was your tour?", once given.
    pub feedback: Option<crate::domain::TourFeedback>,
}

/// One thing on the "needs attention" strip: a booking and what about it needs a look.
pub struct AttentionItem {
    pub booking: Booking,
    pub why: Attention,
}

/// What asking to retry a delivery came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOutcome {
    /// Queued again; the booking's page shows it.
    Queued(i64),
    /// Not dead (pending, delivered or skipped): nothing to retry.
    NotDead,
}

impl StaffDesk {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// A sign-in attempt, within `limits`, with device cookies under `devices` (see
    /// `sign_in::sign_in`).
    pub async fn sign_in(
        &self,
        limits: &super::SignInLimits,
        devices: &super::DeviceKey,
        attempt: super::SignInAttempt<'_>,
    ) -> Result<super::SignIn, super::StaffError> {
        super::sign_in(&self.store, limits, devices, attempt).await
    }

    /// The staff member of a live session (see `session::touch`).
    pub async fn session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffMember>, StoreError> {
        super::session::touch(&self.store, id, now).await
    }

    /// Ends the session and, when there was one, records the sign-out.
    pub async fn sign_out(
        &self,
        me: &StaffMember,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.store.end_staff_session(session_id).await? {
            self.store
                .record_staff_action(&me.email, "sign_out", None, "signed out", now)
                .await?;
        }
        Ok(())
    }

    /// The booking, when `me` may see it (unknown and not granted look the same: None).
    pub async fn booking(
        &self,
        me: &StaffMember,
        id: &BookingId,
    ) -> Result<Option<Booking>, StoreError> {
        Ok(self
            .store
            .booking_by_id(id)
            .await?
            .filter(|b| me.sees(&b.community_slug)))
    }

    /// The bookings a reference read out on the phone may name, among `communities` (those
    /// whose prefix it carries) that `me` may see. Almost always one; all of them if not.
    pub async fn find_by_reference(
        &self,
        me: &StaffMember,
        communities: &[String],
        reference: &BookingReference,
    ) -> Result<Vec<Booking>, StoreError> {
        let mine: Vec<String> = communities
            .iter()
            .filter(|slug| me.sees(slug))
            .cloned()
            .collect();
        self.store
            .bookings_with_id_start(&mine, &reference.id_start())
            .await
    }

    pub async fn record(
        &self,
        me: &StaffMember,
        id: &BookingId,
    ) -> Result<Option<BookingRecord>, StoreError> {
        let Some(booking) = self.booking(me, id).await? else {
            return Ok(None);
        };
        Ok(Some(BookingRecord {
            events: self.store.booking_events(id).await?,
            staff_actions: self.store.staff_actions_on(id).await?,
            jobs: self.store.outbox_jobs_for_booking(id).await?,
            feedback: self.store.feedback_for(id).await?,
            booking,
        }))
    }

    /// Tours of one community starting in [from, to), and, when `recent_since` is given, those
    /// booked since then whatever their date (new ones always reach the list). None when `me`
    /// may not see the community.
    pub async fn tours(
        &self,
        me: &StaffMember,
        community: &str,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        recent_since: Option<DateTime<Utc>>,
    ) -> Result<Option<Vec<Booking>>, StoreError> {
        if !me.sees(community) {
            return Ok(None);
        }
        let slugs = [community.to_string()];
        let mut bookings = self.store.bookings_between(&slugs, from, to).await?;
        if let Some(since) = recent_since {
            let listed: HashSet<String> = bookings.iter().map(|b| b.id.to_string()).collect();
            for id in self
                .store
                .booking_ids_created_since(community, since)
                .await?
            {
                if listed.contains(id.as_str()) {
                    continue;
                }
                if let Some(b) = self.store.booking_by_id(&id).await? {
                    bookings.push(b);
                }
            }
            bookings.sort_by_key(|b| b.slot_start());
        }
        Ok(Some(bookings))
    }

    /// The deliveries of bookings already read through this desk.
    pub async fn deliveries(&self, bookings: &[Booking]) -> Result<Vec<OutboxJob>, StoreError> {
        let ids: Vec<BookingId> = bookings.iter().map(|b| b.id.clone()).collect();
        self.store.outbox_jobs_for_bookings(&ids).await
    }

    /// What needs attention at `community` at `now`, one item per problem, soonest tour
    /// first; None when `me` may not see the community.
    pub async fn attention(
        &self,
        me: &StaffMember,
        community: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<AttentionItem>>, StoreError> {
        if !me.sees(community) {
            return Ok(None);
        }
        let found = self
            .store
            .attention_candidates(community, now - attention::LOOKBACK)
            .await?;
        let jobs = self.deliveries(&found.bookings).await?;
        let mut items = Vec::new();
        for b in found.bookings {
            let lock = attention::LockReport {
                code_not_set: found.code_not_set.contains(&b.id),
                code_not_removed: found.code_not_removed.contains(&b.id),
            };
            for why in attention::attention(&b, &jobs, lock, now) {
                items.push(AttentionItem {
                    booking: b.clone(),
                    why,
                });
            }
        }
        Ok(Some(items))
    }

    pub async fn recent_sign_ins(
        &self,
        me: &StaffMember,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.recent_sign_ins(&me.email, limit).await
    }

    /// A delivery and its booking, when `me` may see the booking.
    pub async fn job(
        &self,
        me: &StaffMember,
        job: i64,
    ) -> Result<Option<(OutboxJob, Booking)>, StoreError> {
        let Some(j) = self.store.outbox_job(job).await? else {
            return Ok(None);
        };
        Ok(self.booking(me, &j.booking_id).await?.map(|b| (j, b)))
    }

    /// A dead delivery back to pending, recorded under `me` (see `outbox::retry_dead`).
    pub async fn retry_dead(
        &self,
        me: &StaffMember,
        job: i64,
        now: DateTime<Utc>,
    ) -> Result<RetryOutcome, StoreError> {
        let by = Actor::Staff(&me.email);
        Ok(match outbox::retry_dead(&self.store, job, by, now).await? {
            true => RetryOutcome::Queued(job),
            false => RetryOutcome::NotDead,
        })
    }

    /// The access instructions again, now, for a live tour; false when it is not live.
    pub async fn resend_access(
        &self,
        me: &StaffMember,
        b: &Booking,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if !b.state.is_live() {
            return Ok(false);
        }
        outbox::resend_access(&self.store, &b.id, Actor::Staff(&me.email), now).await?;
        Ok(true)
    }
}
