//! How bookings read on the staff pages: plain words, times in the community's zone.
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::booking::{Booking, BookingState};
use crate::domain::Review;
use crate::mail::MailKind;
use crate::outbox::{Job, JobKind, JobState, OutboxJob};

/// Staff wording (the renter's page words some states differently).
pub fn state_label(s: BookingState) -> &'static str {
    match s {
        BookingState::Requesting => "Requested",
        BookingState::Confirmed => "Confirmed",
        BookingState::InProgress => "In progress",
        BookingState::Completed => "Completed",
        BookingState::NoShow => "No show",
        // Not a no-show: the lock cannot say whether the renter came.
        BookingState::Unverified => "Ended (entry not reported)",
        BookingState::Cancelled => "Cancelled",
        BookingState::Failed => "Not booked",
    }
}

/// The state a row shows: a request waiting for staff says why.
pub fn row_state(b: &Booking) -> (&'static str, &'static str) {
    match b.review {
        Some(r) => (r.as_str(), r.label()),
        None => (b.state.as_str(), state_label(b.state)),
    }
}

pub const STATES: [BookingState; 8] = [
    BookingState::Requesting,
    BookingState::Confirmed,
    BookingState::InProgress,
    BookingState::Completed,
    BookingState::NoShow,
    BookingState::Unverified,
    BookingState::Cancelled,
    BookingState::Failed,
];

/// Where a booking stands with Knock, in one plain status (the booking page lists each
/// delivery): `code` is stable for pages and tests, `label` is what staff read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    pub code: &'static str,
    pub label: String,
}

impl DeliveryStatus {
    fn new(code: &'static str, label: impl Into<String>) -> Self {
        Self {
            code,
            label: label.into(),
        }
    }
}

/// The one status: a delivery that gave up outranks everything (staff must act), then a
/// request's own standing, then writes still on their way, then what Knock holds.
pub fn delivery_status(b: &Booking, jobs: &[OutboxJob]) -> DeliveryStatus {
    let mine = || jobs.iter().filter(|j| j.booking_id == b.id);
    if let Some(j) = mine().find(|j| j.state == JobState::Dead) {
        return match (&j.knock_error_message, j.kind) {
            (Some(m), k) if k != JobKind::Email => {
                DeliveryStatus::new("refused", format!("Knock refused: {m}"))
            }
            _ => DeliveryStatus::new("attention", "Needs attention"),
        };
    }
    match (b.state, b.review) {
        (BookingState::Failed, _) => {
            let why = b.failure.as_deref().unwrap_or("no reason given");
            return DeliveryStatus::new("refused", format!("Knock refused: {why}"));
        }
        (BookingState::Requesting, Some(Review::NeedsAttention)) => {
            return DeliveryStatus::new("attention", "Needs attention");
        }
        (BookingState::Requesting, Some(Review::AwaitingOffice)) => {
            return DeliveryStatus::new("office", "In Knock, waiting for the office");
        }
        (BookingState::Requesting, None) => {
            return DeliveryStatus::new("sending", "Sending to Knock…");
        }
        _ => {}
    }
    let on_its_way = |j: &&OutboxJob| {
        j.kind != JobKind::Email && matches!(j.state, JobState::Pending | JobState::Delivering)
    };
    if mine().any(|j| on_its_way(&j)) {
        return DeliveryStatus::new("sending", "Sending to Knock…");
    }
    let delivered = |k: JobKind| mine().any(|j| j.kind == k && j.state == JobState::Delivered);
    match b.state {
        _ if b.knock_appointment_id.is_none() => DeliveryStatus::new("none", "Not in Knock"),
        BookingState::Cancelled if delivered(JobKind::AppointmentCancel) => {
            DeliveryStatus::new("in_knock", "Cancelled in Knock")
        }
        BookingState::Completed if delivered(JobKind::Visit) => {
            DeliveryStatus::new("in_knock", "Visit in Knock")
        }
        _ => DeliveryStatus::new("in_knock", "In Knock"),
    }
}

/// What one delivery is, for the booking page: which mail, where it applies.
pub fn delivery_label(j: &OutboxJob) -> String {
    match j.job() {
        Ok(Job::Email(e)) => match MailKind::parse(&e.mail) {
            Some(kind) => format!("E-mail to the renter: {}", kind.label()),
            None => "E-mail to the renter".into(),
        },
        Ok(Job::EmailLog(l)) => format!("E-mail logged in Knock: {}", l.subject),
        _ => match j.kind {
            JobKind::Visit => "Visit posted to Knock".into(),
            JobKind::AppointmentCancel => "Cancel sent to Knock".into(),
            JobKind::AccessIssue => "Door code set on the lock".into(),
            JobKind::AccessRevoke => "Door code removed from the lock".into(),
            JobKind::StaffAlert => "Alert e-mailed to the community's staff".into(),
            k => format!("Knock {}", k.as_str()),
        },
    }
}

/// A time of day in the community's zone, as staff read it: "3:42 PM".
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-I:%M %p").to_string()
}

/// A moment in the community's zone with its day: "Tue, Dec 1, 3:42 PM".
pub fn local_moment(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a, %b %-d, %-I:%M %p")
        .to_string()
}

/// Waiting (with the next try), being sent, delivered, not sent (why), or failed (Knock's own
/// message), in plain words.
pub fn job_state(j: &OutboxJob, tz: Tz) -> String {
    match j.state {
        JobState::Pending => format!("Waiting: next try {}", local_moment(j.next_attempt_at, tz)),
        JobState::Delivering => "Being sent now".into(),
        JobState::Delivered => match j.delivered_at {
            Some(t) => format!("Delivered {}", local_moment(t, tz)),
            None => "Delivered".into(),
        },
        JobState::Skipped => {
            let why = j
                .knock_result
                .as_deref()
                .map(|r| r.trim_start_matches("not sent: "))
                .unwrap_or("no reason given");
            format!("Not sent: {why}")
        }
        JobState::Dead => format!(
            "Failed: {}",
            j.knock_error_message
                .as_deref()
                .or(j.last_error.as_deref())
                .unwrap_or("no reason given")
        ),
    }
}

/// A history line's kind in plain words (unknown kinds read as they are written).
pub fn history_kind(kind: &str) -> String {
    let plain = match kind {
        "requested" => "Booked on the form",
        "confirmed" => "Confirmed by Knock",
        "retry" => "Knock retried",
        "failed" => "Not booked",
        "cancelled" => "Cancelled",
        "cancel" => "Cancelled by staff",
        "in_progress" => "Door opened",
        "completed" => "Tour completed",
        "no_show" => "No show",
        "unverified" => "Ended (entry not reported)",
        "reschedule_requested" => "Asked to move",
        "rescheduled" => "Moved",
        "reschedule_failed" => "Move failed",
        "second_appointment" => "Knock made a second appointment",
        "cancel_queued" => "Late Knock answer cancelled",
        "outbox_retry" => "Delivery retried",
        "confirm" => "Confirmed by staff",
        "adopt" => "Appointment entered by staff",
        crate::domain::attention::ACCESS_NOT_SET => "Door code not set",
        crate::domain::attention::ACCESS_SET => "Door code set",
        other => return other.replace('_', " "),
    };
    plain.to_string()
}

/// `detail` with every RFC 3339 instant in it (Knock's slot starts, as stored) told in the
/// community's zone, so that a history never mixes UTC with local time.
pub fn localize_instants(detail: &str, tz: Tz) -> String {
    detail
        .split(' ')
        .map(|word| {
            let core = word.trim_end_matches([';', ',', '.', ')']);
            match DateTime::parse_from_rfc3339(core) {
                Ok(t) => format!(
                    "{}{}",
                    local_moment(t.with_timezone(&Utc), tz),
                    &word[core.len()..]
                ),
                Err(_) => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_a_detail_read_in_the_communitys_time() {
        let tz: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            localize_instants(
                "Moved to 2026-12-01T08:42:00.660320339+00:00; Knock appointment 7",
                tz
            ),
            "Moved to Tue, Dec 1, 3:42 AM; Knock appointment 7"
        );
        assert_eq!(
            localize_instants("Requested 2026-12-01T20:00:00Z from the form", tz),
            "Requested Tue, Dec 1, 3:00 PM from the form"
        );
        assert_eq!(localize_instants("no times here", tz), "no times here");
    }

    #[test]
    fn history_kinds_read_as_words() {
        assert_eq!(history_kind("no_show"), "No show");
        assert_eq!(history_kind("unverified"), "Ended (entry not reported)");
        assert_eq!(history_kind("in_progress"), "Door opened");
        assert_eq!(history_kind("something_new"), "something new");
    }
}
