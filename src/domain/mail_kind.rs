//! Which mail a renter gets.

/// One message to the renter; with the booking it names an e-mail job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Confirmation,
    Reminder24h,
    Reminder1h,
    AccessInstructions,
    Cancellation,
    Reschedule,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Reminder24h => "reminder_24h",
            Self::Reminder1h => "reminder_1h",
            Self::AccessInstructions => "access_instructions",
            Self::Cancellation => "cancellation",
            Self::Reschedule => "reschedule",
        }
    }

    /// For staff: which message this is.
    pub fn label(self) -> &'static str {
        match self {
            Self::Confirmation => "confirmation",
            Self::Reminder24h => "reminder a day before",
            Self::Reminder1h => "reminder an hour before",
            Self::AccessInstructions => "door code and directions",
            Self::Cancellation => "cancellation",
            Self::Reschedule => "new time",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Confirmation,
            Self::Reminder24h,
            Self::Reminder1h,
            Self::AccessInstructions,
            Self::Cancellation,
            Self::Reschedule,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}
