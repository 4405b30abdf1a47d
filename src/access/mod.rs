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
mod sync;
pub mod webhook;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use crate::domain::rules::WINDOW_GRACE;
pub use codes::{window, CodeProvider};
pub use event::{AccessEvent, EntryMethod, InboundEvent};
pub use lock_jobs::{code_alert, LockWrite};
pub use proof::{EmailProof, PROOF_COOKIE, PROOF_PARAM};
pub use provider::{
    AccessCode, AccessError, AccessGrant, AccessProvider, Attribution, Capabilities, UnitCode,
};
pub use seam::Seam;

use crate::config::{Communities, Community, Lock};
use crate::domain::{Booking, BookingId};
use crate::store::{GrantRow, Store, StoreError, Tx};

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
    /// When the device list was last read (the sweep reads it again now and then).
    learned_at: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the sweep reads Seam's device list again (a lock swapped for a lockbox).
const RELEARN_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

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
            learned_at: std::sync::Mutex::new(None),
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

    /// What the community's own (building) lock can do.
    pub fn capabilities(&self, community: &Community) -> Capabilities {
        match self.provider_for(community) {
            Provider::Codes(_) => BUILT_IN,
            Provider::Seam { seam, device_id } => seam.capabilities(device_id),
        }
    }

    /// Whether the absence of an entry on the booking's locks means the renter did not come:
    /// the building's lock, which every renter passes, must report entries. A unit lock's
    /// silence proves nothing (the renter may not have gone to that unit); a lock not listed
    /// by Seam yet is taken as an online-code lock, as everywhere.
    pub fn reports_entries(&self, community_slug: &str) -> bool {
        let Some(c) = self.communities().and_then(|cs| cs.get(community_slug)) else {
            return true;
        };
        self.capabilities(c).attribution != Attribution::None
    }

    /// What outside lock `device_id` can do.
    pub fn lock_capabilities(&self, device_id: &str) -> Capabilities {
        self.seam()
            .map(|s| s.capabilities(device_id))
            .unwrap_or(BUILT_IN)
    }

    pub fn name_for(&self, community: &Community) -> &'static str {
        match self.provider_for(community) {
            Provider::Codes(p) => p.name(),
            Provider::Seam { .. } => seam::PROVIDER,
        }
    }

    /// Learns what each outside lock can do (Seam's device list): at start and by the sweep
    /// (each sweep until one read succeeds). A failure leaves what was known (logged).
    pub async fn learn_locks(&self) {
        let Some(o) = self.outside.as_deref() else {
            return;
        };
        match o.seam.learn_devices().await {
            Ok(n) => {
                if let Ok(mut at) = o.learned_at.lock() {
                    *at = Some(std::time::Instant::now());
                }
                tracing::debug!(devices = n, "learned what the Seam locks can do");
            }
            Err(e) => tracing::warn!(error = %e, "cannot read Seam's device list now"),
        }
    }

    /// [`Access::learn_locks`] when the list was last read long enough ago.
    pub async fn learn_locks_if_due(&self) {
        let Some(o) = self.outside.as_deref() else {
            return;
        };
        let due = o
            .learned_at
            .lock()
            .map(|at| at.is_none_or(|t| t.elapsed() >= RELEARN_EVERY))
            .unwrap_or(true);
        if due {
            self.learn_locks().await;
        }
    }

    /// What the renter may be shown and sent now: the code once the building's lock has it
    /// (at once for the built-in codes); `NotReady` while an outside lock does not. Unit
    /// locks do not hold it back: one that fails alerts staff.
    pub async fn grant(
        &self,
        community: &Community,
        b: &Booking,
    ) -> Result<AccessGrant, AccessError> {
        match self.provider_for(community) {
            Provider::Codes(p) => p.issue(community, b).await,
            Provider::Seam { seam, device_id } => {
                let store = &self.outside.as_ref().expect("seam is outside").store;
                // Every lock's grant in one read: the building's decides, the units' add PINs.
                let (building, units): (Vec<GrantRow>, Vec<GrantRow>) = store
                    .access_grants(&b.id)
                    .await
                    .map_err(|e| AccessError::Store(e.to_string()))?
                    .into_iter()
                    .partition(|g| g.unit.is_none());
                let row = building
                    .into_iter()
                    .next()
                    .ok_or_else(|| AccessError::NotReady("not asked of the lock yet".into()))?;
                let caps = seam.capabilities(device_id);
                let w = window(community, b);
                let wanted = caps.round((*w.start(), *w.end()));
                let current = (row.starts_at, row.ends_at) == wanted && row.device_id == device_id;
                if !current || !row.state.lock_has_it() {
                    return Err(AccessError::NotReady(row.state.as_str().into()));
                }
                let code = if caps.custom_code {
                    self.codes.code_for(&b.id, b.slot_start())
                } else {
                    // The lock's maker picked the PIN: read from Seam, never stored.
                    let id = row
                        .access_code_id
                        .as_deref()
                        .ok_or_else(|| AccessError::NotReady("no code id yet".into()))?;
                    seam.pin_of(id)
                        .await
                        .map_err(|e| AccessError::Unavailable(e.to_string()))?
                        .ok_or_else(|| AccessError::NotReady("PIN not assigned yet".into()))?
                };
                Ok(AccessGrant {
                    code: Some(code),
                    valid_from: row.starts_at,
                    valid_until: row.ends_at,
                    unit_codes: unit_codes(seam, units, b).await,
                })
            }
        }
    }

    /// Brings the booking's grants in line with it inside the caller's transaction, the one
    /// that changes the booking's state or slot (so that no crash can leave a live booking
    /// without its code queued, or a cancelled one with its code on the lock): a live booking
    /// gets a grant on each of its outside locks for its window, a cancelled or missed one
    /// gets its codes revoked where the lock allows. Safe to call again (`sync`).
    pub async fn ensure_in(
        &self,
        tx: &mut Tx,
        id: &BookingId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(());
        };
        let Some(b) = tx.booking(id).await? else {
            return Ok(());
        };
        let Some(c) = o.communities.get(&b.community_slug) else {
            return Ok(());
        };
        sync::sync_grants(tx, &o.seam, c, &b, now).await
    }

    /// [`Access::ensure_in`] in a transaction of its own (the sweep's safety net).
    async fn ensure(&self, id: &BookingId, now: DateTime<Utc>) -> Result<(), StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(());
        };
        let mut tx = o.store.begin().await?;
        self.ensure_in(&mut tx, id, now).await?;
        tx.commit().await
    }

    /// The safety net: every booking near now whose grants do not match it (a lock added to
    /// the communities file since, a write a bug missed) gets its jobs.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let Some(o) = self.outside.as_deref() else {
            return Ok(0);
        };
        let mut n = 0;
        for c in o.communities.all() {
            let locks = c.seam_locks().len();
            if locks == 0 {
                continue;
            }
            for id in o
                .store
                .bookings_for_lock_reconcile(&c.slug, locks, now)
                .await?
            {
                self.ensure(&id, now).await?;
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
        let Some(seam) = self.seam().filter(|_| self.keeps_event_log()) else {
            return Ok(None);
        };
        match seam.events_since(since).await {
            Ok(events) => Ok(Some((seam::PROVIDER, events))),
            Err(e) => Err(AccessError::Unavailable(e.to_string())),
        }
    }

    /// Whether any outside lock's provider keeps a log of events to catch up from.
    pub fn keeps_event_log(&self) -> bool {
        self.outside.as_deref().is_some_and(|o| {
            o.communities
                .all()
                .iter()
                .flat_map(|c| c.seam_locks())
                .any(|l| o.seam.capabilities(l.device_id).pull_events)
        })
    }

    /// The outside provider's store and communities (the tour's event handling).
    pub fn communities(&self) -> Option<&Communities> {
        self.outside.as_deref().map(|o| &o.communities)
    }
}

/// The PINs of the booking's unit locks that pick their own (the others take the booking's
/// code), once each lock has its code. Read from Seam, never stored; a unit whose PIN cannot be
/// read now is left out (logged) rather than holding back the building's code.
async fn unit_codes(seam: &Seam, units: Vec<GrantRow>, b: &Booking) -> Vec<UnitCode> {
    let mut codes = Vec::new();
    for g in units {
        let (Some(unit), Some(code_id)) = (g.unit, g.access_code_id) else {
            continue;
        };
        if seam.capabilities(&g.device_id).custom_code || !g.state.lock_has_it() {
            continue;
        }
        match seam.pin_of(&code_id).await {
            Ok(Some(code)) => codes.push(UnitCode { unit, code }),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(booking = %b.id, %unit, error = %e, "a unit lock's PIN not read now")
            }
        }
    }
    codes
}
