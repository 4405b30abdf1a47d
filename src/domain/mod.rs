//! Domain types: parsed at the edge, impossible to build in a bad state.
mod bedrooms;
mod booking_token;
mod email;
mod message;
mod move_date;
mod person_name;
mod phone;
mod source_title;

pub use bedrooms::Bedrooms;
pub use booking_token::{BookingToken, BookingTokenError};
pub use email::{Email, EmailError};
pub use message::{Message, MessageError};
pub use move_date::{MoveDate, MoveDateError};
pub use person_name::{PersonName, PersonNameError};
pub use phone::{Phone, PhoneError};
pub use source_title::{SourceTitle, SourceTitleError};
