//! The emulator's clock: real time, or a pinned moment that moves only when a test says so
//! (`set_now`, `advance`). Every lifecycle step, event time, rate-limit window and webhook
//! retry reads this clock, so tests drive Seam's timing without sleeping.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A shared handle on the emulator's clock; clones see the same time.
#[derive(Debug, Clone, Default)]
pub struct SeamClock {
    pinned: Arc<Mutex<Option<DateTime<Utc>>>>,
}

impl SeamClock {
    /// A clock pinned at `now` (None: real time).
    pub fn new(now: Option<DateTime<Utc>>) -> Self {
        Self {
            pinned: Arc::new(Mutex::new(now)),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.lock().unwrap_or_else(Utc::now)
    }

    /// Pins the clock at `now`; it stays there until moved again.
    pub fn set_now(&self, now: DateTime<Utc>) {
        *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
    }

    /// Moves a pinned clock forward (a real-time clock is pinned at real now first).
    pub fn advance(&self, by: Duration) {
        let mut pinned = self.pinned.lock().unwrap_or_else(|e| e.into_inner());
        let base = pinned.unwrap_or_else(Utc::now);
        *pinned = Some(base + TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX));
    }

    /// Back to real time.
    pub fn use_real_time(&self) {
        *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn is_pinned(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> Option<DateTime<Utc>> {
        *self.pinned.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_moves_only_when_told() {
        let start = DateTime::parse_from_rfc3339("2026-10-28T12:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        let clock = SeamClock::new(Some(start));
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + TimeDelta::seconds(90));
        clock.use_real_time();
        assert!((clock.now() - Utc::now()).abs() < TimeDelta::seconds(5));
    }
}
