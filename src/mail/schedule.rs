//! Which mails a booking gets, and when each is due.
use chrono::{DateTime, Duration, Utc};

use super::MailKind;
use crate::config::Community;

/// A mail to queue with a booking's state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedMail {
    pub kind: MailKind,
    /// Not sent before this.
    pub due: DateTime<Utc>,
    /// iCalendar SEQUENCE of an invitation riding along.
    pub sequence: u32,
}

/// What a confirmation queues, for a tour starting at `start`: the confirmation now; the
/// reminders a day and an hour before, each only when that moment is still ahead (a tour
/// booked for this afternoon gets no "tomorrow" mail); the access instructions when the code
/// is shown on the booking page, or now when that time has already come. Nothing when the
/// community has renter mail switched off.
pub fn on_confirm(
    community: &Community,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<QueuedMail> {
    if !community.renter_mail {
        return Vec::new();
    }
    let mut mails = vec![QueuedMail {
        kind: MailKind::Confirmation,
        due: now,
        sequence: 0,
    }];
    for (kind, before) in [
        (MailKind::Reminder24h, Duration::hours(24)),
        (MailKind::Reminder1h, Duration::hours(1)),
    ] {
        let due = start - before;
        if due > now {
            mails.push(QueuedMail {
                kind,
                due,
                sequence: 0,
            });
        }
    }
    mails.push(QueuedMail {
        kind: MailKind::AccessInstructions,
        due: (start - community.access.shown_before).max(now),
        sequence: 0,
    });
    mails
}

/// Whether a mail of `kind`, due for a tour at `start`, still makes sense at `now`: a reminder
/// or access instructions after the tour began (a worker that was down for hours) would only
/// confuse.
pub fn still_useful(kind: MailKind, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    match kind {
        MailKind::Reminder24h | MailKind::Reminder1h | MailKind::AccessInstructions => now < start,
        // The link is useful as long as the booking holds its slot (`rules::mail_fits`).
        MailKind::Confirmation
        | MailKind::Cancellation
        | MailKind::Reschedule
        | MailKind::ManageLink
        | MailKind::BookingLink
        | MailKind::NoShowOffer => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Communities;
    use chrono::TimeZone;

    /// A community with the default access times (the demo's show codes a day ahead).
    fn community() -> Communities {
        Communities::parse(
            r#"[[community]]
slug = "maple-court"
knock_community_id = "b9XQN6eMvvrr07zg"
name = "Maple Court Apartments"
timezone = "America/Los_Angeles"
address = "100 Maple St, Seattle, WA 98101"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
"#,
        )
        .expect("a valid community")
    }

    #[test]
    fn a_tour_two_days_ahead_gets_both_reminders_and_instructions_an_hour_before() {
        let communities = community();
        let c = &communities.all()[0];
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let start = now + Duration::days(2);
        let mails = on_confirm(c, start, now);
        let due = |k| mails.iter().find(|m| m.kind == k).map(|m| m.due);
        assert_eq!(due(MailKind::Confirmation), Some(now));
        assert_eq!(
            due(MailKind::Reminder24h),
            Some(start - Duration::hours(24))
        );
        assert_eq!(due(MailKind::Reminder1h), Some(start - Duration::hours(1)));
        assert_eq!(
            due(MailKind::AccessInstructions),
            Some(start - c.access.shown_before)
        );
    }

    #[test]
    fn a_tour_within_the_hour_gets_no_reminders_and_its_instructions_now() {
        let communities = community();
        let c = &communities.all()[0];
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let start = now + Duration::minutes(40);
        let kinds: Vec<_> = on_confirm(c, start, now)
            .iter()
            .map(|m| (m.kind, m.due))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (MailKind::Confirmation, now),
                (MailKind::AccessInstructions, now)
            ]
        );
    }

    #[test]
    fn a_community_with_renter_mail_off_queues_nothing() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let on = community();
        assert!(on.all()[0].renter_mail, "on unless switched off");
        assert!(!on_confirm(&on.all()[0], now + Duration::days(2), now).is_empty());
        let off = Communities::parse(
            r#"[[community]]
slug = "quiet"
knock_community_id = "quietCommunity01"
name = "Quiet"
timezone = "UTC"
address = "1 Main St"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
renter_mail = false
door_code_needs_email_proof = false
"#,
        )
        .unwrap();
        assert!(on_confirm(&off.all()[0], now + Duration::days(2), now).is_empty());
    }

    #[test]
    fn reminders_are_not_sent_once_the_tour_has_begun() {
        let start = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        assert!(still_useful(
            MailKind::Reminder1h,
            start,
            start - Duration::minutes(1)
        ));
        assert!(!still_useful(MailKind::Reminder1h, start, start));
        assert!(!still_useful(
            MailKind::AccessInstructions,
            start,
            start + Duration::minutes(5)
        ));
        assert!(still_useful(
            MailKind::Confirmation,
            start,
            start + Duration::hours(5)
        ));
    }
}
