//! The booking path: from an accepted form to a Knock appointment, with nothing lost on the way.
pub mod model;
mod reschedule;
mod service;
pub mod slots;
mod worker;

pub use model::{Booking, BookingId, BookingState, NewBooking, Renter};
pub use reschedule::RescheduleResult;
pub use service::{BookError, BookOutcome, BookingService, SMS_CONSENT_TEXT};
pub use worker::run_booking_worker;
