//! E-mail to renters: the transport (SMTP, or .eml files when no SMTP_URL is set) and the
//! messages, each with plain-text and HTML alternatives and, where it helps, a calendar
//! invitation.
mod messages;
mod transport;

pub use messages::{compose, MailContext, MailKind, RenderedMail};
pub use transport::{MailError, Mailer};
