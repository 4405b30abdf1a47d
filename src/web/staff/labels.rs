//! How bookings read on the staff pages.
use chrono_tz::Tz;

use crate::booking::{Booking, BookingState};
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
        BookingState::Cancelled => "Cancelled",
        BookingState::Failed => "Failed",
    }
}

pub const STATES: [BookingState; 7] = [
    BookingState::Requesting,
    BookingState::Confirmed,
    BookingState::InProgress,
    BookingState::Completed,
    BookingState::NoShow,
    BookingState::Cancelled,
    BookingState::Failed,
];

/// Where the booking's Knock writes stand, times in the community's zone: the appointment
/// request, then each delivery to Knock (visit, cancel, logged e-mail). Mail to the renter is
/// not a Knock write: the booking page lists it with the rest.
pub fn knock_delivery(b: &Booking, jobs: &[OutboxJob], tz: Tz) -> String {
    let mut parts = vec![appointment_request(b, tz)];
    parts.extend(
        jobs.iter()
            .filter(|j| j.booking_id == b.id && j.kind != JobKind::Email)
            .map(|j| format!("{}: {}", kind_label(j.kind), job_state(j, tz))),
    );
    parts.join("; ")
}

/// What one delivery is, for the booking page: which mail, where it applies.
pub fn delivery_label(j: &OutboxJob) -> String {
    match j.job() {
        Ok(Job::Email(e)) => match MailKind::parse(&e.mail) {
            Some(kind) => format!("e-mail to the renter: {}", kind.label()),
            None => "e-mail to the renter".into(),
        },
        Ok(Job::EmailLog(l)) => format!("e-mail logged to Knock: {}", l.subject),
        _ => format!("Knock {}", kind_label(j.kind)),
    }
}

fn appointment_request(b: &Booking, tz: Tz) -> String {
    match b.state {
        BookingState::Requesting => match b.next_attempt_at {
            Some(t) => format!(
                "pending (next attempt {})",
                t.with_timezone(&tz).format("%H:%M")
            ),
            None => "pending".into(),
        },
        BookingState::Failed => format!(
            "refused: {}",
            b.failure.as_deref().unwrap_or("no reason given")
        ),
        _ if b.knock_appointment_id.is_some() => "delivered".into(),
        _ => "not sent".into(),
    }
}

pub fn kind_label(k: JobKind) -> &'static str {
    match k {
        JobKind::Visit => "visit",
        JobKind::AppointmentCancel => "cancel",
        JobKind::EmailLog => "e-mail log",
        JobKind::Email => "e-mail",
        JobKind::AccessIssue => "door code",
        JobKind::AccessRevoke => "door code removal",
        JobKind::StaffAlert => "staff alert",
    }
}

/// pending with the next attempt, delivered, or dead with Knock's own message.
pub fn job_state(j: &OutboxJob, tz: Tz) -> String {
    match j.state {
        JobState::Pending => format!(
            "pending (next attempt {})",
            j.next_attempt_at.with_timezone(&tz).format("%H:%M")
        ),
        JobState::Delivering => "being delivered".into(),
        JobState::Delivered => "delivered".into(),
        JobState::Skipped => format!(
            "not sent: {}",
            j.knock_result
                .as_deref()
                .map(|r| r.trim_start_matches("not sent: "))
                .unwrap_or("no reason given")
        ),
        JobState::Dead => format!(
            "dead: {}",
            j.knock_error_message
                .as_deref()
                .or(j.last_error.as_deref())
                .unwrap_or("no reason given")
        ),
    }
}
