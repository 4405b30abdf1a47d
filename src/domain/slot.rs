//! A start time as Knock offered it.
use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;

/// One bookable start: the exact string Knock gave (sent back verbatim) and its instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub value: String,
    pub start: DateTime<FixedOffset>,
}

impl Slot {
    pub fn from_knock(start: DateTime<FixedOffset>) -> Self {
        Self {
            value: start.to_rfc3339(),
            start,
        }
    }

    /// Parses the form's `start`: RFC 3339 with an explicit offset, nothing else.
    pub fn parse(value: &str) -> Option<Self> {
        let start = DateTime::parse_from_rfc3339(value.trim()).ok()?;
        Some(Self {
            value: value.trim().to_string(),
            start,
        })
    }

    pub fn utc(&self) -> DateTime<Utc> {
        self.start.with_timezone(&Utc)
    }
}

/// "Tuesday, November 24, 2026 at 10:30 AM PST" in the community's zone.
pub fn describe(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%A, %B %-d, %Y at %-I:%M %p %Z")
        .to_string()
}

pub fn describe_time(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%-I:%M %p %Z").to_string()
}

/// The starts live bookings hold, sorted: asked of every offered slot on a page view, so a
/// lookup is a binary search, not a scan of hundreds of bookings per slot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldSlots(Vec<DateTime<Utc>>);

impl HeldSlots {
    pub fn new(mut starts: Vec<DateTime<Utc>>) -> Self {
        starts.sort_unstable();
        starts.dedup();
        Self(starts)
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.0.binary_search(&at).is_ok()
    }

    /// These and `at`.
    pub fn with(&self, at: DateTime<Utc>) -> Self {
        let mut starts = self.0.clone();
        if let Err(i) = starts.binary_search(&at) {
            starts.insert(i, at);
        }
        Self(starts)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod held_tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_slot_added_is_held_and_the_others_stay() {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 2, h, 0, 0).unwrap();
        let held = HeldSlots::new(vec![t(9), t(15)]).with(t(12)).with(t(9));
        assert_eq!(held.len(), 3);
        assert!([9, 12, 15].iter().all(|&h| held.contains(t(h))));
        assert!(!held.contains(t(10)));
        assert!(HeldSlots::new(vec![]).with(t(8)).contains(t(8)));
    }

    #[test]
    fn held_slots_are_found_in_any_order_given() {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 2, h, 0, 0).unwrap();
        let held = HeldSlots::new(vec![t(15), t(9), t(12), t(9)]);
        assert_eq!(held.len(), 3);
        for h in [9, 12, 15] {
            assert!(held.contains(t(h)), "{h}");
        }
        for h in [8, 10, 13, 16] {
            assert!(!held.contains(t(h)), "{h}");
        }
        assert!(!HeldSlots::default().contains(t(9)));
    }
}
