//! Domain types: parsed at the edge, impossible to build in a bad state.
pub mod attention;
mod bedrooms;
pub mod booking;
mod booking_token;
mod email;
pub mod job;
mod mail_kind;
mod message;
mod move_date;
mod person_name;
mod phone;
pub mod rules;
mod slot;
mod source_title;
mod staff_date;

pub use bedrooms::Bedrooms;
pub use booking::{Booking, BookingEvent, BookingId, BookingState, NewBooking, Renter, Review};
pub use booking_token::{BookingToken, BookingTokenError};
pub use email::{Email, EmailError};
pub use mail_kind::MailKind;
pub use message::{Message, MessageError};
pub use move_date::{MoveDate, MoveDateError};
pub use person_name::{PersonName, PersonNameError};
pub use phone::{country_of_zone, Phone, PhoneError};
pub use slot::{describe, describe_time, Slot};
pub use source_title::{SourceTitle, SourceTitleError};
pub use staff_date::{StaffDate, StaffDateError};
