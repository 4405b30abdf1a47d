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
    /// Someone tried to book a second tour with this booking's e-mail or phone: the link to
    /// change or cancel the one there is (README: "One tour per renter").
    ManageLink,
    /// The renter asked on the booking page for the link again (to open it and see the door
    /// code: README "Door codes and the demo lock").
    BookingLink,
    /// The window ended with nobody at the door: an offer to book another time.
    NoShowOffer,
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
            Self::ManageLink => "manage_link",
            Self::BookingLink => "booking_link",
            Self::NoShowOffer => "no_show_offer",
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
            Self::ManageLink => "link to your booking",
            Self::BookingLink => "link to your booking, asked for again",
            Self::NoShowOffer => "missed tour: book another time",
        }
    }

    pub const ALL: [Self; 9] = [
        Self::Confirmation,
        Self::Reminder24h,
        Self::Reminder1h,
        Self::AccessInstructions,
        Self::Cancellation,
        Self::Reschedule,
        Self::ManageLink,
        Self::BookingLink,
        Self::NoShowOffer,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(MailKind::parse("manage_link"), Some(MailKind::ManageLink));
        assert_eq!(MailKind::ManageLink.label(), "link to your booking");
        assert_eq!(MailKind::parse("newsletter"), None);
    }
}
