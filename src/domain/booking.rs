//! A booking as Tourgate holds it, and the states it moves through (SPEC.md "States").
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;

use super::{Bedrooms, BookingToken, Email, PersonName, Phone, Slot, SourceTitle};

/// The booking's public reference: given to access providers and shown on the booking page.
/// Not a capability (the token is); random so that it says nothing about volume.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BookingId(String);

impl BookingId {
    pub(crate) const ALPHABET: &'static [u8] = b"0123456789abcdefghjkmnpqrstvwxyz";

    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let tail: String = (0..16)
            .map(|_| Self::ALPHABET[rng.gen_range(0..Self::ALPHABET.len())] as char)
            .collect();
        Self(format!("tg_{tail}"))
    }

    /// Accepts only the shape `generate` makes, so that junk never reaches a query.
    pub fn parse(s: &str) -> Option<Self> {
        let tail = s.strip_prefix("tg_")?;
        (tail.len() == 16 && tail.bytes().all(|b| Self::ALPHABET.contains(&b)))
            .then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BookingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingState {
    Requesting,
    Confirmed,
    InProgress,
    Completed,
    NoShow,
    /// The window ended on a lock that reports no entries (an offline-code lockbox) with no
    /// word from the renter: whether they came is not known, so it is not called a no-show.
    Unverified,
    Cancelled,
    Failed,
}

impl BookingState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requesting => "requesting",
            Self::Confirmed => "confirmed",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::NoShow => "no_show",
            Self::Unverified => "unverified",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Requesting => "Being confirmed",
            Self::Confirmed => "Confirmed",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::NoShow => "Missed",
            Self::Unverified => "Tour time passed",
            Self::Cancelled => "Cancelled",
            Self::Failed => "Not booked",
        }
    }
}

/// The renter's details as parsed from the form: nothing here is a raw string from outside.
#[derive(Debug, Clone)]
pub struct Renter {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Phone,
    pub sms_consent: bool,
    pub move_date: Option<NaiveDate>,
    pub bedrooms: Option<Bedrooms>,
    pub message: Option<String>,
}

/// What is written when the form is accepted, before Knock is called.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub id: BookingId,
    pub token: BookingToken,
    pub idempotency_key: String,
    pub community_slug: String,
    pub renter: Renter,
    pub source_title: SourceTitle,
    /// The start exactly as Knock offered it (sent back verbatim) and its instant.
    pub slot: Slot,
    pub slot_end: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A stored booking, its fields parsed again when read: nothing here is raw text from outside.
/// `Debug` is safe to log: the token prints redacted.
#[derive(Debug, Clone)]
pub struct Booking {
    pub id: BookingId,
    pub token: BookingToken,
    pub community_slug: String,
    pub state: BookingState,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub email: Email,
    pub phone: Phone,
    pub sms_consent: bool,
    pub move_date: Option<NaiveDate>,
    pub bedrooms: Option<Bedrooms>,
    pub message: Option<String>,
    pub source_title: SourceTitle,
    /// The start exactly as Knock offered it, and its instant.
    pub slot: Slot,
    pub slot_end: DateTime<Utc>,
    pub knock_prospect_id: Option<String>,
    pub knock_appointment_id: Option<String>,
    pub failure: Option<String>,
    pub knock_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the door first opened for this booking.
    pub first_access_at: Option<DateTime<Utc>>,
    /// An appointment request may have reached Knock without our hearing the answer: Knock is
    /// looked at before asking again or giving up.
    pub knock_uncertain: bool,
    /// A request waiting for staff rather than the worker, and what was found.
    pub review: Option<Review>,
    pub review_detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Booking {
    pub fn slot_start(&self) -> DateTime<Utc> {
        self.slot.utc()
    }
}

/// Why a request waits for staff. The booking stays `requesting`: it holds its slot, has no
/// door code, and the renter sees it being confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// Knock holds an appointment for this request that we have no id for (its answer was
    /// lost): staff enter the id from Knock's calendar, or cancel.
    NeedsAttention,
    /// Knock answered with a status other than CONFIRMED (a community that reviews requests by
    /// hand): staff confirm or cancel once Knock's calendar shows the outcome.
    AwaitingOffice,
}

impl Review {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeedsAttention => "needs_attention",
            Self::AwaitingOffice => "awaiting_office",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::NeedsAttention, Self::AwaitingOffice]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// For staff.
    pub fn label(self) -> &'static str {
        match self {
            Self::NeedsAttention => "Needs attention",
            Self::AwaitingOffice => "Awaiting the leasing office",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BookingEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_and_junk_does_not() {
        let id = BookingId::generate();
        assert_eq!(BookingId::parse(id.as_str()), Some(id));
        assert!(BookingId::parse("tg_' or 1=1 --").is_none());
        assert!(BookingId::parse("1").is_none());
    }

    #[test]
    fn states_round_trip_through_text() {
        for s in [
            "requesting",
            "confirmed",
            "in_progress",
            "completed",
            "no_show",
            "unverified",
            "cancelled",
            "failed",
        ] {
            assert_eq!(BookingState::parse(s).unwrap().as_str(), s);
        }
        assert!(BookingState::parse("lost").is_none());
    }
}
