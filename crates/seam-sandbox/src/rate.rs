//! Seam's per-device rate limits (S-RATE; PROVIDERS.md §1.5): per device and per kind of call,
//! so many a minute, counted over a sliding minute of the emulator's clock. Beyond that: 429.
//! Seam documents no `Retry-After`; the emulator sends one (INF) so a client can honour it.
use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, TimeDelta, Utc};

/// The kinds of call Seam limits per device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    CreateCode,
    UpdateCode,
    DeleteCode,
    Lock,
    Unlock,
}

impl RateClass {
    /// Calls allowed per minute per device (S-RATE).
    pub fn per_minute(self) -> usize {
        match self {
            Self::CreateCode | Self::UpdateCode => 10,
            Self::DeleteCode => 20,
            Self::Lock | Self::Unlock => 15,
        }
    }
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    calls: HashMap<(String, RateClass), VecDeque<DateTime<Utc>>>,
}

impl RateLimiter {
    /// Counts a call, or refuses it with the seconds until one is allowed again.
    pub fn admit(
        &mut self,
        device_id: &str,
        class: RateClass,
        now: DateTime<Utc>,
    ) -> Result<(), u64> {
        let minute = TimeDelta::seconds(60);
        let calls = self.calls.entry((device_id.to_owned(), class)).or_default();
        while calls.front().is_some_and(|t| *t + minute <= now) {
            calls.pop_front();
        }
        if calls.len() >= class.per_minute() {
            let oldest = calls.front().copied().unwrap_or(now);
            let wait = (oldest + minute - now).num_milliseconds();
            // Whole seconds, rounded up, at least one.
            return Err(((wait + 999) / 1000).max(1) as u64);
        }
        calls.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eleventh_create_in_a_minute_waits_for_the_first_to_age_out() {
        let mut limiter = RateLimiter::default();
        let t0 = DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        for i in 0..10 {
            assert!(limiter
                .admit("d", RateClass::CreateCode, t0 + TimeDelta::seconds(i))
                .is_ok());
        }
        assert_eq!(
            limiter.admit("d", RateClass::CreateCode, t0 + TimeDelta::seconds(20)),
            Err(40)
        );
        assert!(limiter.admit("other", RateClass::CreateCode, t0).is_ok());
        assert!(limiter
            .admit("d", RateClass::CreateCode, t0 + TimeDelta::seconds(60))
            .is_ok());
    }
}
