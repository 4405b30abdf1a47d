//! The booking path, a use case over the store: from an accepted form to a Knock appointment,
//! then cancelling, moving and the tour itself, each writing its transaction from the store's
//! blocks and deciding by `domain::rules`.
pub mod availability;
mod cancel;
mod ended;
mod feedback;
mod lock_events;
mod lookup;
mod notices;
mod queue;
mod renter;
mod reschedule;
mod review;
mod service;
pub mod slots;
mod tour;
mod worker;

pub use crate::domain::rules;
pub use crate::domain::{Booking, BookingEvent, BookingId, BookingState, NewBooking, Renter};
pub use cancel::{cancel, CancelOutcome, Canceller};
pub use feedback::FeedbackOutcome;
pub use lock_events::{Attributed, EventOutcome};
pub use notices::MailSent;
pub use renter::{
    queue_booking_link, queue_manage_link, ManageLinkQueued, MANAGE_LINK_MAILS_PER_WINDOW,
    MANAGE_LINK_WINDOW,
};
pub use reschedule::RescheduleResult;
pub use review::{Resolution, ResolveOutcome};
pub use service::{
    may_text, BookError, BookOutcome, BookingService, ClientLimit, OfferedDays,
    BOOKING_LIMIT_WINDOW, SMS_CONSENT_TEXT,
};
pub use tour::{
    apply_callback, complete_by_renter, sweep_ended_windows, AccessCallback, CallbackOutcome,
    RenterDone, WindowSweep,
};
pub use worker::{prune_old_records, run_booking_worker, run_prune, run_window_sweep};
