//! The booking state machine (SPEC.md "States"), written once and pure: which states hold a
//! slot or open the door, what may be cancelled or moved, what each provider report does in
//! each state and time, what the window's end decides, which mails fit a booking and which a
//! move drops, and the calendar SEQUENCE. Use cases, the web, mail, access and the SQL
//! predicates all ask here; nothing here touches a database.
use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, Utc};

use super::job::JobKind;
use super::{BookingState, MailKind};

/// A late renter (or a late lock report) still counts within this after the window ends.
pub const WINDOW_GRACE: Duration = Duration::minutes(15);
/// How long after its window a tour that ended unverified (a lock that reports no entries)
/// may still be finished by the renter's "I have finished": the same day, near enough.
pub const UNVERIFIED_FINISH: Duration = Duration::hours(12);
/// The most any community lets a door code work before the start.
pub const LATEST_EARLY_ACCESS: Duration = Duration::hours(24);

impl BookingState {
    pub const ALL: [Self; 8] = [
        Self::Requesting,
        Self::Confirmed,
        Self::InProgress,
        Self::Completed,
        Self::NoShow,
        Self::Unverified,
        Self::Cancelled,
        Self::Failed,
    ];

    /// No other renter is offered its slot (Knock may not have heard of it yet).
    pub fn holds_slot(self) -> bool {
        matches!(self, Self::Requesting | Self::Confirmed | Self::InProgress)
    }

    /// A tour that is on: its door code opens the door and its access mail goes out.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Confirmed | Self::InProgress)
    }

    /// The renter or staff may cancel it.
    pub fn is_cancellable(self) -> bool {
        matches!(self, Self::Requesting | Self::Confirmed)
    }

    /// The renter may move it to another time.
    pub fn is_movable(self) -> bool {
        self == Self::Confirmed
    }

    /// The states `pred` holds for, as an SQL list (`'a', 'b'`): the SQL predicates come
    /// from the same rule as the code's.
    pub fn sql_list(pred: fn(Self) -> bool) -> String {
        Self::ALL
            .into_iter()
            .filter(|s| pred(*s))
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a cancel request comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelDecision {
    Cancel,
    /// Cancelled before: nothing more to do (a double tap, two staff at once).
    AlreadyCancelled,
    /// Past the point where cancelling means anything (touring, completed, missed, failed).
    NotCancellable,
}

pub fn cancel(state: BookingState) -> CancelDecision {
    match state {
        s if s.is_cancellable() => CancelDecision::Cancel,
        BookingState::Cancelled => CancelDecision::AlreadyCancelled,
        _ => CancelDecision::NotCancellable,
    }
}

/// What an access provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// `access.granted`: the door opened for this booking.
    AccessGranted,
    /// `tour.completed`.
    TourCompleted,
}

impl CallbackKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access.granted" => Some(Self::AccessGranted),
            "tour.completed" => Some(Self::TourCompleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessGranted => "access.granted",
            Self::TourCompleted => "tour.completed",
        }
    }
}

/// What a provider's report does to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportEffect {
    /// confirmed → in progress: the renter is in.
    Arrive,
    /// → completed, with the tour's one visit; `with_units` when the report names homes.
    Complete { with_units: bool },
    /// no-show or unverified → completed: a late report from inside the window proves the
    /// tour (providers retry for hours; PROVIDERS.md §3). Never the reverse.
    Rescue { with_units: bool },
    /// Already past this point: accepted, nothing changes.
    NoChange,
    /// Cannot apply (cancelled, failed, not yet confirmed, or an ended tour's report from
    /// outside the window).
    Refuse,
}

/// The times a report may come from and still count for a booking: from the earliest any code
/// works before the start to the grace after the end.
pub fn report_window(start: DateTime<Utc>, end: DateTime<Utc>) -> RangeInclusive<DateTime<Utc>> {
    (start - LATEST_EARLY_ACCESS)..=(end + WINDOW_GRACE)
}

pub fn on_report(
    kind: CallbackKind,
    state: BookingState,
    occurred_at: DateTime<Utc>,
    window: &RangeInclusive<DateTime<Utc>>,
) -> ReportEffect {
    use BookingState as S;
    use CallbackKind as K;
    let with_units = kind == K::TourCompleted;
    match (kind, state) {
        (K::AccessGranted, S::Confirmed) => ReportEffect::Arrive,
        (K::AccessGranted, S::InProgress | S::Completed) | (K::TourCompleted, S::Completed) => {
            ReportEffect::NoChange
        }
        (K::TourCompleted, S::Confirmed | S::InProgress) => ReportEffect::Complete { with_units },
        (_, S::NoShow | S::Unverified) if window.contains(&occurred_at) => {
            ReportEffect::Rescue { with_units }
        }
        _ => ReportEffect::Refuse,
    }
}

/// The visit's time from a reported one: Knock refuses visits in the future, so a provider's
/// clock ahead of ours gives now.
pub fn visit_time(reported: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    reported.min(now)
}

/// A visit is never before the tour's first door opening (when one is known), nor after now.
pub fn visit_not_before(
    visit: DateTime<Utc>,
    first_access: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    first_access
        .map_or(visit, |first| visit.max(first))
        .min(now)
}

/// What the renter's "I have finished my tour" comes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenterDoneDecision {
    Complete,
    AlreadyCompleted,
    /// Not touring: the door has not opened for this booking, or the tour is over otherwise.
    NotInProgress,
}

/// `now` is the click and `end` the window's end: a tour that ended unverified may still be
/// finished by its renter for [`UNVERIFIED_FINISH`] after (the lock could not tell us they
/// came; the renter can). A no-show cannot: its lock said nobody came.
pub fn on_renter_done(
    state: BookingState,
    now: DateTime<Utc>,
    end: DateTime<Utc>,
) -> RenterDoneDecision {
    match state {
        BookingState::InProgress => RenterDoneDecision::Complete,
        BookingState::Unverified if renter_may_finish_unverified(now, end) => {
            RenterDoneDecision::Complete
        }
        BookingState::Completed => RenterDoneDecision::AlreadyCompleted,
        _ => RenterDoneDecision::NotInProgress,
    }
}

/// Whether the renter of a tour that ended unverified may still say they toured (the booking
/// page offers it only then).
pub fn renter_may_finish_unverified(now: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    now <= end + UNVERIFIED_FINISH
}

/// What the end of a tour's window (plus the grace) decides: a confirmed booking nobody
/// opened the door for is a no-show (no visit), but only when its lock `reports_entries`;
/// on one that reports none (an offline-code lockbox) silence proves nothing, so it ends
/// unverified (PROVIDERS.md §3: "otherwise unknown"). One the renter got into is completed,
/// and its visit goes to Knock.
pub fn at_window_end(state: BookingState, reports_entries: bool) -> Option<BookingState> {
    match state {
        BookingState::Confirmed if reports_entries => Some(BookingState::NoShow),
        BookingState::Confirmed => Some(BookingState::Unverified),
        BookingState::InProgress => Some(BookingState::Completed),
        _ => None,
    }
}

/// Whether the renter may answer "How was your tour?": only once the tour is completed.
pub fn takes_feedback(state: BookingState) -> bool {
    state == BookingState::Completed
}

/// Whether mail `kind` still fits a booking in `state` (else it is skipped when due).
pub fn mail_fits(kind: MailKind, state: BookingState) -> bool {
    match kind {
        MailKind::Cancellation => state == BookingState::Cancelled,
        MailKind::AccessInstructions => state.is_live(),
        // The booking it links to is still the renter's one tour (a request included).
        MailKind::ManageLink => state.holds_slot(),
        // Asked for to see the door code: only a live booking has one.
        MailKind::BookingLink => state.is_live(),
        // Not once the renter turned out to have been there after all (a late report).
        MailKind::NoShowOffer => state == BookingState::NoShow,
        _ => state == BookingState::Confirmed,
    }
}

/// Why mail that no longer fits is not sent once a booking ends in `state` (None while it
/// has not ended): its renter mails are skipped with this in the transaction that ends it, so
/// that staff never read "reminder an hour before: pending" for a tour that is over.
pub fn unsent_at_end(state: BookingState) -> Option<&'static str> {
    match state {
        BookingState::Cancelled => Some("not sent: the tour was cancelled"),
        BookingState::Completed | BookingState::NoShow | BookingState::Unverified => {
            Some("not sent: the tour is over")
        }
        BookingState::Failed => Some("not sent: nothing was booked"),
        BookingState::Requesting | BookingState::Confirmed | BookingState::InProgress => None,
    }
}

/// Whether a booking form for `candidate` (a renter at a community) must be turned away
/// because of `existing`, a booking at the same community: while `existing` holds a slot, the
/// renter has their one tour there. Knock merges prospects by e-mail (compared
/// case-insensitively) or by phone, and a new request would replace the existing appointment
/// (API.md §4, behaviour 5): moving a tour goes through reschedule only.
pub fn renter_already_booked(
    existing_state: BookingState,
    same_email: bool,
    same_phone: bool,
) -> bool {
    existing_state.holds_slot() && (same_email || same_phone)
}

/// Pending jobs of these kinds are dropped when a booking moves: mails timed for the old
/// start; the new time gets its own. Knock writes stay (the old appointment's cancel).
pub fn dropped_by_move(kind: JobKind) -> bool {
    kind == JobKind::Email
}

/// The iCalendar SEQUENCE of the invitation sent after `moves` moves (0 for the first).
pub fn invitation_sequence(moves: u32) -> u32 {
    moves
}

/// A cancellation outranks every invitation sent so far.
pub fn cancellation_sequence(moves: u32) -> u32 {
    invitation_sequence(moves) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use BookingState as S;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0).unwrap()
    }

    fn window() -> RangeInclusive<DateTime<Utc>> {
        report_window(at(10, 0), at(10, 30))
    }

    #[test]
    fn only_a_tour_that_is_on_opens_the_door_and_holding_covers_requests() {
        let live: Vec<S> = S::ALL.into_iter().filter(|s| s.is_live()).collect();
        assert_eq!(live, [S::Confirmed, S::InProgress]);
        let holding: Vec<S> = S::ALL.into_iter().filter(|s| s.holds_slot()).collect();
        assert_eq!(holding, [S::Requesting, S::Confirmed, S::InProgress]);
        assert_eq!(
            S::sql_list(S::holds_slot),
            "'requesting', 'confirmed', 'in_progress'"
        );
    }

    #[test]
    fn requests_and_confirmed_tours_cancel_once_and_nothing_later_does() {
        assert_eq!(cancel(S::Requesting), CancelDecision::Cancel);
        assert_eq!(cancel(S::Confirmed), CancelDecision::Cancel);
        assert_eq!(cancel(S::Cancelled), CancelDecision::AlreadyCancelled);
        for s in [
            S::InProgress,
            S::Completed,
            S::NoShow,
            S::Unverified,
            S::Failed,
        ] {
            assert_eq!(cancel(s), CancelDecision::NotCancellable, "{s:?}");
        }
        assert!(S::Confirmed.is_movable());
        assert!(!S::Requesting.is_movable() && !S::InProgress.is_movable());
    }

    #[test]
    fn each_report_in_each_state() {
        use CallbackKind::*;
        let w = window();
        let inside = at(10, 5);
        let cases = [
            (AccessGranted, S::Confirmed, ReportEffect::Arrive),
            (AccessGranted, S::InProgress, ReportEffect::NoChange),
            (AccessGranted, S::Completed, ReportEffect::NoChange),
            (TourCompleted, S::Completed, ReportEffect::NoChange),
            (
                TourCompleted,
                S::Confirmed,
                ReportEffect::Complete { with_units: true },
            ),
            (
                TourCompleted,
                S::InProgress,
                ReportEffect::Complete { with_units: true },
            ),
            (
                AccessGranted,
                S::NoShow,
                ReportEffect::Rescue { with_units: false },
            ),
            (
                TourCompleted,
                S::NoShow,
                ReportEffect::Rescue { with_units: true },
            ),
            (AccessGranted, S::Cancelled, ReportEffect::Refuse),
            (TourCompleted, S::Failed, ReportEffect::Refuse),
            (AccessGranted, S::Requesting, ReportEffect::Refuse),
        ];
        for (kind, state, effect) in cases {
            assert_eq!(
                on_report(kind, state, inside, &w),
                effect,
                "{kind:?} {state:?}"
            );
        }
    }

    #[test]
    fn a_no_show_is_rescued_only_by_a_report_from_inside_the_window() {
        let w = window();
        let k = CallbackKind::AccessGranted;
        // A day before the start is the earliest any code works; 15 minutes after the end the
        // latest a renter still counts.
        assert!(matches!(
            on_report(k, S::NoShow, at(10, 0) - Duration::hours(24), &w),
            ReportEffect::Rescue { .. }
        ));
        assert!(matches!(
            on_report(k, S::NoShow, at(10, 45), &w),
            ReportEffect::Rescue { .. }
        ));
        assert_eq!(
            on_report(k, S::NoShow, at(10, 46), &w),
            ReportEffect::Refuse
        );
        assert_eq!(
            on_report(k, S::NoShow, at(10, 0) - Duration::hours(25), &w),
            ReportEffect::Refuse
        );
    }

    #[test]
    fn a_visit_is_never_in_the_future() {
        assert_eq!(visit_time(at(11, 0), at(10, 0)), at(10, 0));
        assert_eq!(visit_time(at(9, 0), at(10, 0)), at(9, 0));
    }

    #[test]
    fn a_visit_is_never_before_the_first_door_opening_nor_in_the_future() {
        let first = Some(at(10, 2));
        assert_eq!(visit_not_before(at(9, 50), first, at(11, 0)), at(10, 2));
        assert_eq!(visit_not_before(at(10, 20), first, at(11, 0)), at(10, 20));
        assert_eq!(visit_not_before(at(9, 50), None, at(11, 0)), at(9, 50));
        assert_eq!(visit_not_before(at(12, 0), first, at(11, 0)), at(11, 0));
    }

    #[test]
    fn the_renter_finishes_only_a_tour_under_way() {
        let (now, end) = (at(10, 20), at(10, 30));
        assert_eq!(
            on_renter_done(S::InProgress, now, end),
            RenterDoneDecision::Complete
        );
        assert_eq!(
            on_renter_done(S::Completed, now, end),
            RenterDoneDecision::AlreadyCompleted
        );
        for s in [
            S::Confirmed,
            S::Cancelled,
            S::NoShow,
            S::Requesting,
            S::Failed,
        ] {
            assert_eq!(
                on_renter_done(s, now, end),
                RenterDoneDecision::NotInProgress
            );
        }
    }

    #[test]
    fn the_renter_of_an_unverified_tour_may_still_finish_it_the_same_day_and_not_later() {
        let end = at(10, 30);
        for now in [at(10, 46), at(22, 30)] {
            assert_eq!(
                on_renter_done(S::Unverified, now, end),
                RenterDoneDecision::Complete,
                "{now}"
            );
            assert!(renter_may_finish_unverified(now, end));
        }
        let late = at(22, 31);
        assert_eq!(
            on_renter_done(S::Unverified, late, end),
            RenterDoneDecision::NotInProgress
        );
        assert!(!renter_may_finish_unverified(late, end));
        // A no-show's lock said nobody came: the renter's word alone does not undo it.
        assert_eq!(
            on_renter_done(S::NoShow, at(10, 46), end),
            RenterDoneDecision::NotInProgress
        );
    }

    #[test]
    fn the_window_end_decides_no_show_or_completed_and_nothing_else() {
        assert_eq!(at_window_end(S::Confirmed, true), Some(S::NoShow));
        assert_eq!(at_window_end(S::InProgress, true), Some(S::Completed));
        for s in [
            S::Requesting,
            S::Completed,
            S::NoShow,
            S::Unverified,
            S::Cancelled,
            S::Failed,
        ] {
            assert_eq!(at_window_end(s, true), None);
            assert_eq!(at_window_end(s, false), None);
        }
    }

    #[test]
    fn a_lock_that_reports_no_entries_ends_a_silent_tour_unverified_not_missed() {
        assert_eq!(at_window_end(S::Confirmed, false), Some(S::Unverified));
        // The renter got in (a unit lock or a partner said so): completed as anywhere.
        assert_eq!(at_window_end(S::InProgress, false), Some(S::Completed));
        let u = S::Unverified;
        assert!(!u.holds_slot() && !u.is_live() && !u.is_cancellable() && !u.is_movable());
        assert_eq!(cancel(u), CancelDecision::NotCancellable);
        assert!(!renter_already_booked(u, true, true));
        assert!(!takes_feedback(u));
        // No "we missed you", and nothing else pending goes out either.
        assert!(!mail_fits(MailKind::NoShowOffer, u));
        for k in MailKind::ALL {
            assert!(!mail_fits(k, u), "{k:?}");
        }
        assert_eq!(unsent_at_end(u), Some("not sent: the tour is over"));
    }

    #[test]
    fn a_late_report_from_inside_the_window_completes_an_unverified_tour_once() {
        use CallbackKind::*;
        let w = window();
        for kind in [AccessGranted, TourCompleted] {
            let with_units = kind == TourCompleted;
            assert_eq!(
                on_report(kind, S::Unverified, at(10, 20), &w),
                ReportEffect::Rescue { with_units },
                "{kind:?}"
            );
            // As for a no-show: a report from after the grace proves nothing about the tour.
            assert_eq!(
                on_report(kind, S::Unverified, at(10, 46), &w),
                ReportEffect::Refuse
            );
            // Once completed, the next report changes nothing (one visit).
            assert_eq!(
                on_report(kind, S::Completed, at(10, 20), &w),
                ReportEffect::NoChange
            );
        }
    }

    #[test]
    fn mails_fit_their_state_and_a_move_drops_only_mail() {
        assert!(mail_fits(MailKind::Confirmation, S::Confirmed));
        assert!(!mail_fits(MailKind::Reminder1h, S::Cancelled));
        assert!(mail_fits(MailKind::AccessInstructions, S::InProgress));
        assert!(!mail_fits(MailKind::AccessInstructions, S::NoShow));
        assert!(mail_fits(MailKind::Cancellation, S::Cancelled));
        assert!(!mail_fits(MailKind::Cancellation, S::Confirmed));
        // The manage link goes out while its booking is the renter's one tour, request included.
        for s in S::ALL {
            assert_eq!(mail_fits(MailKind::ManageLink, s), s.holds_slot(), "{s:?}");
        }
        assert!(mail_fits(MailKind::ManageLink, S::Requesting));
        assert!(!mail_fits(MailKind::ManageLink, S::Cancelled));
        for s in S::ALL {
            assert_eq!(mail_fits(MailKind::BookingLink, s), s.is_live(), "{s:?}");
        }
        assert!(dropped_by_move(JobKind::Email));
        for k in [
            JobKind::Visit,
            JobKind::AppointmentCancel,
            JobKind::EmailLog,
        ] {
            assert!(!dropped_by_move(k));
        }
    }

    #[test]
    fn every_end_has_a_reason_for_unsent_mail_and_no_live_state_has_one() {
        for s in S::ALL {
            let ended = matches!(
                s,
                S::Completed | S::NoShow | S::Unverified | S::Cancelled | S::Failed
            );
            assert_eq!(unsent_at_end(s).is_some(), ended, "{s:?}");
        }
        assert_eq!(unsent_at_end(S::NoShow), Some("not sent: the tour is over"));
        // The cancellation itself still fits a cancelled booking: it is not skipped.
        assert!(mail_fits(MailKind::Cancellation, S::Cancelled));
        for k in MailKind::ALL
            .into_iter()
            .filter(|k| *k != MailKind::Cancellation)
        {
            assert!(!mail_fits(k, S::Cancelled), "{k:?}");
            assert!(!mail_fits(k, S::Completed), "{k:?}");
        }
    }

    #[test]
    fn a_renter_has_one_tour_at_a_time_by_email_or_phone() {
        for s in [S::Requesting, S::Confirmed, S::InProgress] {
            assert!(renter_already_booked(s, true, false), "{s:?}");
            assert!(renter_already_booked(s, false, true), "{s:?}");
            assert!(renter_already_booked(s, true, true), "{s:?}");
            assert!(!renter_already_booked(s, false, false), "{s:?}");
        }
        // A tour that is over or off leaves the renter free to book again.
        for s in [
            S::Completed,
            S::NoShow,
            S::Unverified,
            S::Cancelled,
            S::Failed,
        ] {
            assert!(!renter_already_booked(s, true, true), "{s:?}");
        }
    }

    #[test]
    fn a_cancellation_outranks_every_invitation_sent() {
        for moves in 0..5 {
            assert!(cancellation_sequence(moves) > invitation_sequence(moves));
        }
        assert_eq!(invitation_sequence(0), 0);
    }
}
