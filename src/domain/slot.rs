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
