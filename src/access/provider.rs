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
    /// Codes of unit locks that pick their own PIN (an offline-code lockbox): the renter needs
    /// each besides `code`. Units whose locks take `code` are not listed.
    pub unit_codes: Vec<UnitCode>,
}

/// A unit's own code, for a unit lock that does not take the booking's.
#[derive(Debug, Clone)]
pub struct UnitCode {
    pub unit: String,
    pub code: AccessCode,
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

impl Capabilities {
    /// `window` widened to whole steps of `window_granularity` (start down, end up), as the
    /// lock takes it; unchanged at one second.
    pub fn round(&self, window: (DateTime<Utc>, DateTime<Utc>)) -> (DateTime<Utc>, DateTime<Utc>) {
        let step = self.window_granularity.num_seconds();
        if step <= 1 {
            return window;
        }
        let s = window.0.timestamp();
        let e = window.1.timestamp() + i64::from(window.1.timestamp_subsec_nanos() > 0);
        let start = s.div_euclid(step) * step;
        let end = e + (step - e.rem_euclid(step)) % step;
        let at = |t: i64, or: DateTime<Utc>| DateTime::<Utc>::from_timestamp(t, 0).unwrap_or(or);
        (at(start, window.0), at(end, window.1))
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_hour_granularity_widens_the_window_to_whole_hours_and_a_second_keeps_it() {
        let t = |h, m| Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).unwrap();
        let hourly = Capabilities {
            window_granularity: chrono::Duration::hours(1),
            ..crate::access::BUILT_IN
        };
        assert_eq!(hourly.round((t(9, 45), t(10, 45))), (t(9, 0), t(11, 0)));
        assert_eq!(hourly.round((t(9, 0), t(10, 0))), (t(9, 0), t(10, 0)));
        assert_eq!(
            crate::access::BUILT_IN.round((t(9, 45), t(10, 45))),
            (t(9, 45), t(10, 45))
        );
    }
}
