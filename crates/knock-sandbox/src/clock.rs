//! The sandbox's clock: real time, or a chosen moment from which time keeps flowing.
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

#[derive(Debug, Default)]
pub(super) struct SandboxClock {
    /// The chosen moment and when it was chosen.
    pinned: Mutex<Option<(DateTime<Utc>, Instant)>>,
}

impl SandboxClock {
    pub fn set(&self, now: Option<DateTime<Utc>>) {
        *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) = now.map(|t| (t, Instant::now()));
    }

    pub fn now(&self) -> DateTime<Utc> {
        match *self.pinned.lock().unwrap_or_else(|e| e.into_inner()) {
            Some((base, since)) => base + TimeDelta::from_std(since.elapsed()).unwrap_or_default(),
            None => Utc::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_starts_at_the_chosen_moment_and_keeps_flowing() {
        let clock = SandboxClock::default();
        let moment = DateTime::parse_from_rfc3339("2026-10-28T12:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        clock.set(Some(moment));
        let first = clock.now();
        assert!(first >= moment && first - moment < TimeDelta::seconds(5));
        assert!(clock.now() >= first);
        clock.set(None);
        assert!((clock.now() - Utc::now()).abs() < TimeDelta::seconds(5));
    }
}
