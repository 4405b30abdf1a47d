//! What on a community's bookings staff should look at ("Needs attention" on the Today board),
//! decided from a booking, its dead deliveries and whether its door code could be set. Pure:
//! the store only narrows the candidates; the rules and their thresholds are here.
use chrono::{DateTime, Duration, Utc};

use super::job::{JobKind, OutboxJob};
use super::{Booking, BookingState, Review};

/// History kinds an access provider writes when it could not set a booking's door code, and
/// when it set it after all. The booking needs attention while its latest of the two is
/// `ACCESS_NOT_SET` and it is still on (confirmed or in progress).
pub const ACCESS_NOT_SET: &str = "access_not_set";
pub const ACCESS_SET: &str = "access_set";

/// How far back ended tours (failed, no-shows) still ask for a look.
pub const LOOKBACK: Duration = Duration::days(3);
/// A request still unconfirmed this long after it was made (no staff review asked) is stuck:
/// the worker's retries normally settle one within minutes.
pub const STUCK_AFTER: Duration = Duration::minutes(30);
/// The leasing office has had a request this long without deciding.
pub const OFFICE_AFTER: Duration = Duration::hours(4);

/// What the access provider reported of a booking's door code, as far as staff must act on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockReport {
    /// The code could not be set on the lock.
    pub code_not_set: bool,
    /// The code could not be removed from the lock.
    pub code_not_removed: bool,
}

impl LockReport {
    pub const NONE: Self = Self {
        code_not_set: false,
        code_not_removed: false,
    };
    pub const NOT_SET: Self = Self {
        code_not_set: true,
        code_not_removed: false,
    };
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attention {
    /// Failed: Knock refused the request for good, or it ran out of time.
    NotBooked,
    /// Knock holds an appointment whose answer was lost (`Review::NeedsAttention`).
    KnockUnsure,
    /// Waiting for the leasing office longer than `OFFICE_AFTER`.
    AwaitingOffice,
    /// Still being confirmed after `STUCK_AFTER`.
    Stuck,
    /// A delivery (to Knock, or a mail) that gave up; staff can retry it on the booking page.
    DeadDelivery { job: i64, kind: JobKind },
    /// Nobody opened the door in the tour's window.
    NoShow,
    /// The access provider could not set the door code.
    CodeNotSet,
    /// A door code that should be gone (cancelled, moved, over) could not be removed from the
    /// lock: whoever holds it may still get in. Listed whatever the booking's state.
    CodeNotRemoved,
}

impl Attention {
    /// For the strip: what is wrong, in a few plain words.
    pub fn label(&self) -> &'static str {
        match self {
            Self::NotBooked => "Not booked: Knock refused it",
            Self::KnockUnsure => "Knock's answer was lost: check Knock's calendar",
            Self::AwaitingOffice => "Waiting a long time for the leasing office",
            Self::Stuck => "Still not confirmed by Knock",
            Self::DeadDelivery { kind, .. } => match kind {
                JobKind::Visit => "The visit did not reach Knock",
                JobKind::AppointmentCancel => "The cancel did not reach Knock",
                JobKind::EmailLog => "An e-mail log did not reach Knock",
                JobKind::Email => "An e-mail to the renter was not sent",
                JobKind::AccessIssue => "The door code did not reach the lock",
                JobKind::AccessRevoke => "The door code's removal did not reach the lock",
                JobKind::StaffAlert => "An alert to the community's staff was not sent",
            },
            Self::NoShow => "No show: the door never opened",
            Self::CodeNotSet => "The door code could not be set on the lock",
            Self::CodeNotRemoved => "Security: a door code is still on the lock",
        }
    }

    /// A stable name for pages and tests (`data-attention`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotBooked => "not_booked",
            Self::KnockUnsure => "knock_unsure",
            Self::AwaitingOffice => "awaiting_office",
            Self::Stuck => "stuck",
            Self::DeadDelivery { .. } => "dead_delivery",
            Self::NoShow => "no_show",
            Self::CodeNotSet => "code_not_set",
            Self::CodeNotRemoved => "code_not_removed",
        }
    }
}

/// Everything about `b` that needs attention at `now`, given its jobs (any state: only the
/// dead count) and what the lock reported of its door code.
pub fn attention(
    b: &Booking,
    jobs: &[OutboxJob],
    lock: LockReport,
    now: DateTime<Utc>,
) -> Vec<Attention> {
    let LockReport {
        code_not_set,
        code_not_removed,
    } = lock;
    let mut out = Vec::new();
    let recent = b.updated_at >= now - LOOKBACK;
    match b.state {
        BookingState::Failed if recent => out.push(Attention::NotBooked),
        BookingState::NoShow if recent => out.push(Attention::NoShow),
        BookingState::Requesting => match b.review {
            Some(Review::NeedsAttention) => out.push(Attention::KnockUnsure),
            Some(Review::AwaitingOffice) if b.created_at <= now - OFFICE_AFTER => {
                out.push(Attention::AwaitingOffice)
            }
            None if b.created_at <= now - STUCK_AFTER => out.push(Attention::Stuck),
            _ => {}
        },
        _ => {}
    }
    if code_not_set && b.state.is_live() {
        out.push(Attention::CodeNotSet);
    }
    if code_not_removed {
        out.push(Attention::CodeNotRemoved);
    }
    out.extend(
        jobs.iter()
            .filter(|j| j.booking_id == b.id && j.state == super::job::JobState::Dead)
            .map(|j| Attention::DeadDelivery {
                job: j.id,
                kind: j.kind,
            }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::job::JobState;
    use crate::domain::{BookingId, BookingToken, Email, PersonName, Phone, Slot, SourceTitle};

    fn now() -> DateTime<Utc> {
        "2026-12-01T15:00:00Z".parse().unwrap()
    }

    fn booking(state: BookingState, review: Option<Review>, age: Duration) -> Booking {
        let start = now() + Duration::hours(2);
        Booking {
            id: BookingId::generate(),
            token: BookingToken::generate(),
            community_slug: "maple-court".into(),
            state,
            first_name: PersonName::parse("Ada").unwrap(),
            last_name: PersonName::parse("Lovelace").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            phone: Phone::parse("(206) 555-0100").unwrap(),
            sms_consent: false,
            move_date: None,
            bedrooms: None,
            message: None,
            source_title: SourceTitle::parse("Tour").unwrap(),
            slot: Slot::parse(&start.to_rfc3339()).unwrap(),
            slot_end: start + Duration::minutes(30),
            knock_prospect_id: None,
            knock_appointment_id: None,
            failure: None,
            knock_attempts: 0,
            next_attempt_at: None,
            first_access_at: None,
            knock_uncertain: false,
            review,
            review_detail: None,
            created_at: now() - age,
            updated_at: now() - age,
        }
    }

    fn dead(b: &Booking, id: i64, kind: JobKind, state: JobState) -> OutboxJob {
        OutboxJob {
            id,
            kind,
            booking_id: b.id.clone(),
            payload: "{}".into(),
            state,
            attempts: 5,
            next_attempt_at: now(),
            lease_until: None,
            give_up_at: now(),
            uncertain: false,
            last_error: None,
            knock_error_message: None,
            knock_result: None,
            created_at: now(),
            updated_at: now(),
            delivered_at: None,
        }
    }

    #[test]
    fn ended_tours_ask_for_a_look_for_a_few_days_only() {
        let fresh = Duration::hours(1);
        let old = LOOKBACK + Duration::minutes(1);
        for (state, want) in [
            (BookingState::Failed, Attention::NotBooked),
            (BookingState::NoShow, Attention::NoShow),
        ] {
            assert_eq!(
                attention(&booking(state, None, fresh), &[], LockReport::NONE, now()),
                [want]
            );
            assert!(attention(&booking(state, None, old), &[], LockReport::NONE, now()).is_empty());
        }
        // Not known whether the renter came: nothing for staff to act on.
        for state in [
            BookingState::Completed,
            BookingState::Unverified,
            BookingState::Cancelled,
            BookingState::Confirmed,
        ] {
            assert!(
                attention(&booking(state, None, fresh), &[], LockReport::NONE, now()).is_empty()
            );
        }
    }

    #[test]
    fn a_request_needs_a_look_when_knock_is_unsure_or_it_waits_too_long() {
        let r = BookingState::Requesting;
        let a = |review, age| attention(&booking(r, review, age), &[], LockReport::NONE, now());
        assert_eq!(
            a(Some(Review::NeedsAttention), Duration::zero()),
            [Attention::KnockUnsure]
        );
        assert!(a(Some(Review::AwaitingOffice), Duration::hours(1)).is_empty());
        assert_eq!(
            a(Some(Review::AwaitingOffice), OFFICE_AFTER),
            [Attention::AwaitingOffice]
        );
        assert!(a(None, Duration::minutes(5)).is_empty());
        assert_eq!(a(None, STUCK_AFTER), [Attention::Stuck]);
    }

    #[test]
    fn dead_deliveries_and_unset_codes_are_listed_each() {
        let b = booking(BookingState::Confirmed, None, Duration::days(30));
        let jobs = [
            dead(&b, 7, JobKind::AppointmentCancel, JobState::Dead),
            dead(&b, 8, JobKind::Email, JobState::Delivered),
        ];
        assert_eq!(
            attention(&b, &jobs, LockReport::NOT_SET, now()),
            [
                Attention::CodeNotSet,
                Attention::DeadDelivery {
                    job: 7,
                    kind: JobKind::AppointmentCancel
                }
            ]
        );
        // A code that could not be set matters only while the tour is on.
        let over = booking(BookingState::Completed, None, Duration::hours(1));
        assert!(attention(&over, &[], LockReport::NOT_SET, now()).is_empty());
    }
}
