//! How bookings read on the staff pages.
use chrono_tz::Tz;

use crate::booking::{Booking, BookingState};

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

/// Where the appointment request stands with Knock, times in the community's zone.
pub fn knock_delivery(b: &Booking, tz: Tz) -> String {
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
