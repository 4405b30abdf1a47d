//! Outbox jobs as stored: their kind, their state, and the row. The payloads (what each job
//! asks of Knock or the mailer) are the outbox's; the store sees them through [`JobPayload`].
use chrono::{DateTime, Utc};

use super::BookingId;

/// Jobs that cannot be delivered within this long after they were due are dead.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::days(3);

/// A typed job the store can queue: its kind comes from the job itself, never beside it.
pub trait JobPayload {
    fn kind(&self) -> JobKind;
    /// The payload column's text.
    fn to_json(&self) -> Result<String, serde_json::Error>;
}

/// A borrowed job is queued as the job itself, so that one job goes through the same
/// statement as several.
impl<T: JobPayload + ?Sized> JobPayload for &T {
    fn kind(&self) -> JobKind {
        (**self).kind()
    }

    fn to_json(&self) -> Result<String, serde_json::Error> {
        (**self).to_json()
    }
}

/// Tells apart jobs of one kind for one booking (the appointment a cancel is for, the mail a
/// log is of); with the booking and the kind it is the job's natural key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupeKey(String);

impl DedupeKey {
    /// One job of its kind per booking.
    pub fn single() -> Self {
        Self(String::new())
    }

    pub fn of(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One kind per Knock write; with the booking id it is the job's natural key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    Visit,
    AppointmentCancel,
    EmailLog,
    /// An e-mail to the renter, sent through the Mailer (not a Knock write; its log is).
    Email,
    /// A code on an outside lock for the booking's window (`/access_codes/create`).
    AccessIssue,
    /// The booking's code removed from the lock (`/access_codes/delete`).
    AccessRevoke,
    /// An e-mail to a community's staff contact (a code that could not be set or removed).
    StaffAlert,
}

impl JobKind {
    pub const ALL: [Self; 7] = [
        Self::Visit,
        Self::AppointmentCancel,
        Self::EmailLog,
        Self::Email,
        Self::AccessIssue,
        Self::AccessRevoke,
        Self::StaffAlert,
    ];

    /// A write to the booking's lock provider, delivered by `access`.
    pub fn is_access(self) -> bool {
        matches!(self, Self::AccessIssue | Self::AccessRevoke)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visit => "visit",
            Self::AppointmentCancel => "appointment_cancel",
            Self::EmailLog => "email_log",
            Self::Email => "email",
            Self::AccessIssue => "access_issue",
            Self::AccessRevoke => "access_revoke",
            Self::StaffAlert => "staff_alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A code on the lock for a window (`access_grants` generation `generation`): the delivery
/// looks for the booking's code by name first (Seam has no idempotency key), so a retry after
/// a crash adopts the code an earlier try created instead of making a second.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessIssueJob {
    pub generation: i64,
    pub device_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// Every code of the booking's on the lock removed (generation `generation`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessRevokeJob {
    pub generation: i64,
    pub device_id: String,
}

/// A plain-text mail to staff. No door code ever goes in one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StaffAlertJob {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl JobPayload for AccessIssueJob {
    fn kind(&self) -> JobKind {
        JobKind::AccessIssue
    }
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

impl JobPayload for AccessRevokeJob {
    fn kind(&self) -> JobKind {
        JobKind::AccessRevoke
    }
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

impl JobPayload for StaffAlertJob {
    fn kind(&self) -> JobKind {
        JobKind::StaffAlert
    }
    fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// pending → delivering → delivered, or → skipped (deliberately not sent, with the reason), or
/// → dead; staff move dead back to pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    Pending,
    Delivering,
    Delivered,
    Skipped,
    Dead,
}

impl JobState {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Delivering,
        Self::Delivered,
        Self::Skipped,
        Self::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Skipped => "skipped",
            Self::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored job.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub id: i64,
    pub kind: JobKind,
    pub booking_id: BookingId,
    /// The request as JSON text (see [`Job`]).
    pub payload: String,
    pub state: JobState,
    /// Tries started so far (a claim counts as a try: a worker may die inside it).
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub give_up_at: DateTime<Utc>,
    /// An earlier try may have reached Knock without our hearing the answer.
    pub uncertain: bool,
    pub last_error: Option<String>,
    /// Knock's own errorMessage when it refused for good.
    pub knock_error_message: Option<String>,
    /// Knock's id for what it recorded (visitId, communicationId, appointment id).
    pub knock_result: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A job id as a URL names it: the decimal digits of a positive id, nothing else (no sign, no
/// spaces, nothing beyond an `i64`).
pub fn parse_job_id(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|id| *id > 0)
}

#[cfg(test)]
mod tests {
    use super::parse_job_id;

    #[test]
    fn job_ids_are_positive_decimal_numbers_that_fit() {
        assert_eq!(parse_job_id("42"), Some(42));
        assert_eq!(parse_job_id("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            "0",
            "-1",
            "+5",
            " 5",
            "9223372036854775808",
            "99999999999999999999999",
            "1e3",
            "٣",
        ] {
            assert_eq!(parse_job_id(bad), None, "{bad:?}");
        }
    }
}
