//! One-time notices for the renter's booking page (post/redirect/get): the post that booked,
//! moved or cancelled a tour leaves one in the session, and the page it redirects to shows it
//! once. Keyed by booking id (never the token), so another booking's page does not show it.
use actix_session::Session;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::BookingId;

const KEY: &str = "booking_flash";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "what")]
pub enum Flash {
    Booked,
    /// Moved from this start.
    Moved {
        from: DateTime<Utc>,
    },
    Cancelled,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    booking: String,
    #[serde(flatten)]
    flash: Flash,
}

/// Leaves `flash` for the booking's next page view. A session that cannot be written loses
/// only the notice, never the change it reports.
pub fn leave(session: &Session, booking: &BookingId, flash: Flash) {
    let stored = Stored {
        booking: booking.as_str().to_string(),
        flash,
    };
    if let Err(e) = session.insert(KEY, stored) {
        tracing::warn!(error = %e, "could not keep the notice for the booking page");
    }
}

/// The notice left for this booking, taken (it shows once).
pub fn take(session: &Session, booking: &BookingId) -> Option<Flash> {
    let stored = session.get::<Stored>(KEY).ok().flatten()?;
    if stored.booking != booking.as_str() {
        return None;
    }
    session.remove(KEY);
    Some(stored.flash)
}
