//! E-mail to renters: the transport (SMTP, or .eml files when no SMTP_URL is set), the
//! messages (plain text and HTML, with a calendar invitation where it helps), when each is
//! due, and the desk that sends a queued one.
mod desk;
mod messages;
pub mod schedule;
mod transport;

pub use desk::{MailDesk, Sent};
pub use messages::{compose, sender, MailContext, MailKind, RenderedMail, CODE_IN_LOG};
pub use schedule::QueuedMail;
pub use transport::{MailError, Mailer};
