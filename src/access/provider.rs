//! The port every access provider implements (../shared/access/PROVIDERS.md §4): access for a
//! booking's window, and its revocation. The built-in code provider is the first; lock
//! vendors (Seam, ...) add their own.
use std::future::Future;

use chrono::{DateTime, Utc};

use crate::config::Community;
use crate::domain::{Booking, BookingId};

/// A door code. Debug never shows it; read it with `reveal` where it is meant to be seen.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode(String);

impl AccessCode {
    /// Providers make codes; nobody else does.
    pub(super) fn new(code: String) -> Self {
        Self(code)
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessCode(******)")
    }
}

/// What the renter gets.
#[derive(Debug, Clone)]
pub struct AccessGrant {
    /// A keypad code, for providers that use one.
    pub code: Option<AccessCode>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Worth trying again (the vendor is down).
    #[error("access provider temporarily unavailable: {0}")]
    Unavailable(String),
    /// The vendor refused (unknown device, ...).
    #[error("access provider refused: {0}")]
    Refused(String),
    /// The lock does not have the code yet: nothing to show or send for now.
    #[error("the lock does not have the code yet ({0})")]
    NotReady(String),
    #[error("access state unreadable: {0}")]
    Store(String),
}

/// How a provider ties a door opening to a code (PROVIDERS.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// Entries name the code's id (Seam with August, Yale, Schlage, ...).
    Exact,
    /// Entries carry the PIN typed.
    ByCode,
    /// Entries name only the lock.
    LockOnly,
    /// No entry reports at all.
    None,
}

/// What a provider can do, as data: the tour reads these, never a provider's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// We choose the PIN (Tourgate's own code is set on the lock).
    pub custom_code: bool,
    /// The code can be taken back before its window ends.
    pub revocable: bool,
    /// The code reaches the lock some time after we ask: the renter waits for the lock.
    pub async_provisioning: bool,
    /// The smallest step a window may be given in.
    pub window_granularity: chrono::Duration,
    pub attribution: Attribution,
    /// Missed events can be read back from the provider's log.
    pub pull_events: bool,
}

pub trait AccessProvider: Send + Sync {
    fn name(&self) -> &'static str;

    /// Access for the booking's window; issuing again for the same booking is idempotent.
    fn issue(
        &self,
        community: &Community,
        booking: &Booking,
    ) -> impl Future<Output = Result<AccessGrant, AccessError>> + Send;

    /// The booking moved: access for its new window; the old window's access stops.
    fn move_access(
        &self,
        community: &Community,
        booking: &Booking,
    ) -> impl Future<Output = Result<AccessGrant, AccessError>> + Send;

    fn revoke(&self, booking: &BookingId) -> impl Future<Output = Result<(), AccessError>> + Send;
}
