//! Door access for tours: the provider port, the built-in code provider, and the Seam adapter.
//!
//! Which provider serves a booking is its community's `lock` (communities file): the built-in
//! codes, or a Seam device. What the tour does with a provider's reports is decided from
//! normalized events ([`event`]) and [`Capabilities`], never from a provider's name.
mod codes;
pub mod event;
mod lock_jobs;
mod proof;
mod provider;
pub mod seam;
pub mod webhook;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use crate::domain::rules::WINDOW_GRACE;
pub use codes::{window, CodeProvider};
pub use event::{AccessEvent, EntryMethod, InboundEvent};
pub use lock_jobs::{code_alert, LockWrite};
pub use proof::{EmailProof, PROOF_COOKIE, PROOF_PARAM};
pub use provider::{
    AccessCode, AccessError, AccessGrant, AccessProvider, Attribution, Capabilities,
};
pub use seam::Seam;

use crate::config::{Communities, Community, Lock};
use crate::domain::job::{AccessIssueJob, AccessRevokeJob, DedupeKey};
use crate::domain::{Booking, BookingId, GrantState};
use crate::store::{Store, StoreError};

/// The built-in codes: ours to check, nothing to provision, revoked by our own keypad
/// refusing bookings that are not live; entries only through a partner's callback.
pub const BUILT_IN: Capabilities = Capabilities {
    custom_code: true,
    revocable: true,
    async_provisioning: false,
    window_granularity: chrono::Duration::seconds(1),
    attribution: Attribution::Exact,
    pull_events: false,
};

/// The providers of a deployment, chosen once at start. The booking use cases ask it to
/// issue, move and revoke access and never name a provider.
#[derive(Clone)]
pub struct Access {
    codes: CodeProvider,
    outside: Option<Arc<Outside>>,
}

/// What an outside provider's writes need: the adapter, where grants are kept, and the
/// communities (their locks and staff contacts).
pub(crate) struct Outside {
    pub(crate) seam: Seam,
    pub(crate) store: Store,
    pub(crate) communities: Communities,
}

/// The provider serving one community.
pub enum Provider<'a> {
    Codes(&'a CodeProvider),
    Seam { seam: &'a Seam, device_id: &'a str },
}

impl Access {
    /// The built-in codes, keyed by the server's secret key.
    pub fn codes(secret_key: &str) -> Self {
        Self {
            codes: CodeProvider::new(secret_key),
            outside: None,
        }
    }

    /// Seam locks too (for the communities whose `lock` is a Seam device).
    pub fn with_seam(mut self, seam: Seam, store: Store, communities: Communities) -> Self {
        self.outside = Some(Arc::new(Outside {
            seam,
            store,
            communities,
        }));
        self
    }

    /// The built-in codes (the demo keypad, and the PIN set on outside locks).
    pub fn keypad(&self) -> &CodeProvider {
        &self.codes
    }

    pub fn seam(&self) -> Option<&Seam> {
        self.outside.as_deref().map(|o| &o.seam)
    }

    pub fn provider_for<'a>(&'a self, community: &'a Community) -> Provider<'a> {
        match (&community.lock, self.seam()) {
            (Lock::Seam { device_id }, Some(seam)) => Provider::Seam { seam, device_id },
            // Settings refuse a Seam lock without Seam settings; built-in is the safe reading.
            _ => Provider::Codes(&self.codes),
        }
    }

    pub fn capabilities(&self, community: &Community) -> Capabilities {
        match self.provider_for(community) {
            Provider::Codes(_) => BUILT_IN,
            Provider::Seam { .. } => seam::CAPABILITIES,
        }
    }

    pub fn name_for(&self, community: &Community) -> &'static str {
        match self.provider_for(community) {
            Provider::Codes(p) => p.name(),
            Provider::Seam { .. } => seam::PROVIDER,
        }
    }

    /// What the renter may be shown and sent now: the code once the lock has it (at once for
    /// the built-in codes); `NotReady` while an outside lock does not.
    pub async fn grant(
        &self,
        community: &Community,
        b: &Booking,
    ) -> Result<AccessGrant, AccessError> {
        match self.provider_for(community) {
            Provider::Codes(p) => p.issue(community, b).await,
            Provider::Seam { .. } => {
                let store = &self.outside.as_ref().expect("seam is outside").store;
                let row = store
                    .access_grant(&b.id)
                    .await
                    .map_err(|e| AccessError::Store(e.to_string()))?
                    .ok_or_else(|| AccessError::NotReady("not asked of the lock yet".into()))?;
                let w = window(community, b);
                let current = row.starts_at == *w.start() && row.ends_at == *w.end();
                if !current || !row.state.lock_has_it() {
                    return Err(AccessError::NotReady(row.state.as_str().into()));
                }
                Ok(AccessGrant {
                    code: Some(self.codes.code_for(&b.id, b.slot_start())),
                    valid_from: row.starts_at,
                    valid_until: row.ends_at,
                })
            }
        }
    }

    /// Makes sure the lock is (being) given the booking's code for its current window: for an
    /// outside lock a generation of the grant and its outbox job, written together. Safe to
    /// call again: nothing is queued when the grant is already for this window.
    pub async fn issue(&self, community: &Community, b: &Booking) -> Result<(), AccessError> {
        let Provider::Seam { device_id, .. } = self.provider_for(community) else {
            return Ok(());
        };
        self.ensure(community, &b.id, device_id, Utc::now())
            .await
            .map_err(|e| AccessError::Store(e.to_string()))
    }

    /// The booking moved: the code for its new window (the issue job replaces the old one).
    pub async fn move_access(&self, community: &Community, b: &Booking) -> Result<(), AccessError> {
        self.issue(community, b).await
    }

    /// The booking is off (cancelled, no-show): its code leaves the lock, through the outbox.
    pub async fn revoke(&self, booking: &BookingId) -> Result<(), AccessError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(());
        };
        let Some(b) = o
            .store
            .booking_by_id(booking)
            .await
            .map_err(|e| AccessError::Store(e.to_string()))?
        else {
            return Ok(());
        };
        let Some(c) = o.communities.get(&b.community_slug) else {
            return Ok(());
        };
        let Some(device_id) = c.lock.seam_device() else {
            return Ok(());
        };
        self.ensure(c, booking, device_id, Utc::now())
            .await
            .map_err(|e| AccessError::Store(e.to_string()))
    }

    /// Brings one booking's grant in line with the booking, in one transaction: a live
    /// booking gets a grant for its window (a new generation and its issue job when the window
    /// differs or the grant was revoked); a cancelled or missed one gets its revoke.
    pub(crate) async fn ensure(
        &self,
        community: &Community,
        id: &BookingId,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(());
        };
        let mut tx = o.store.begin().await?;
        let Some(b) = tx.booking(id).await? else {
            return Ok(());
        };
        let grant = tx.access_grant(id).await?;
        let w = window(community, &b);
        let wanted = (*w.start(), *w.end());
        let revoked = |s: GrantState| {
            matches!(
                s,
                GrantState::Revoking | GrantState::Removed | GrantState::RevokeFailed
            )
        };
        if b.state.is_live() {
            let current = grant.as_ref().is_some_and(|g| {
                (g.starts_at, g.ends_at) == wanted && g.device_id == device_id && !revoked(g.state)
            });
            if current {
                return Ok(());
            }
            let generation = tx
                .put_grant(
                    id,
                    seam::PROVIDER,
                    device_id,
                    wanted,
                    GrantState::Issuing,
                    now,
                )
                .await?;
            let job = AccessIssueJob {
                generation,
                device_id: device_id.to_string(),
                starts_at: wanted.0,
                ends_at: wanted.1,
            };
            tx.enqueue(
                id,
                &job,
                &DedupeKey::of(format!("issue:{generation}")),
                now,
                now,
            )
            .await?;
            tx.history(
                id,
                now,
                "access",
                "access_issue",
                "Door code queued for the lock",
            )
            .await?;
        } else if matches!(
            b.state,
            crate::domain::BookingState::Cancelled | crate::domain::BookingState::NoShow
        ) {
            let Some(g) = grant.filter(|g| !revoked(g.state)) else {
                return Ok(());
            };
            let generation = tx
                .put_grant(
                    id,
                    seam::PROVIDER,
                    &g.device_id,
                    (g.starts_at, g.ends_at),
                    GrantState::Revoking,
                    now,
                )
                .await?;
            let job = AccessRevokeJob {
                generation,
                device_id: g.device_id.clone(),
            };
            tx.enqueue(
                id,
                &job,
                &DedupeKey::of(format!("revoke:{generation}")),
                now,
                now,
            )
            .await?;
            tx.history(
                id,
                now,
                "access",
                "access_revoke",
                "Door code removal queued for the lock",
            )
            .await?;
        } else {
            return Ok(());
        }
        tx.commit().await
    }

    /// The safety net behind the calls after each commit: every booking near now whose grant
    /// does not match it (a process that died between its commit and its call) gets its job.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(0);
        };
        let mut n = 0;
        for c in o.communities.all() {
            let Some(device_id) = c.lock.seam_device() else {
                continue;
            };
            for id in o.store.bookings_for_lock_reconcile(&c.slug, now).await? {
                self.ensure(c, &id, device_id, now).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Events the outside provider logged since `since` (catch-up after downtime), with the
    /// provider's name; None when no provider here keeps an event log.
    pub async fn pull_events(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Option<(&'static str, Vec<InboundEvent>)>, AccessError> {
        let Some(seam) = self.seam() else {
            return Ok(None);
        };
        match seam.events_since(since).await {
            Ok(events) => Ok(Some((seam::PROVIDER, events))),
            Err(e) => Err(AccessError::Unavailable(e.to_string())),
        }
    }

    /// The outside provider's store and communities (the tour's event handling).
    pub fn communities(&self) -> Option<&Communities> {
        self.outside.as_deref().map(|o| &o.communities)
    }
}
