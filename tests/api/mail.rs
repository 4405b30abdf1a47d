//! Composed messages over a real SMTP conversation, parsed back.
use chrono::{TimeZone, Utc};
use mailparse::{parse_mail, MailHeaderMap, ParsedMail};
use tourgate::booking::{Booking, BookingId, BookingState};
use tourgate::config::Communities;
use tourgate::domain::{BookingToken, Email, PersonName, Phone, Slot, SourceTitle};
use tourgate::mail::{compose, MailContext, MailKind, Mailer};

use crate::helpers::COMMUNITIES;
use crate::smtp::TestSmtp;

fn booking(start: chrono::DateTime<Utc>) -> Booking {
    Booking {
        id: BookingId::generate(),
        token: BookingToken::generate(),
        community_slug: "maple-court".into(),
        state: BookingState::Confirmed,
        first_name: PersonName::parse("Grace").unwrap(),
        last_name: PersonName::parse("Hopper").unwrap(),
        email: Email::parse("grace@example.com").unwrap(),
        phone: Phone::parse("+12065550155").unwrap(),
        sms_consent: false,
        move_date: None,
        bedrooms: None,
        message: None,
        source_title: SourceTitle::parse("Zillow").unwrap(),
        slot: Slot::parse(&start.to_rfc3339()).unwrap(),
        slot_end: start + chrono::Duration::minutes(30),
        knock_prospect_id: Some("47569637".into()),
        knock_appointment_id: Some("1".into()),
        failure: None,
        knock_attempts: 0,
        next_attempt_at: None,
        first_access_at: None,
        knock_uncertain: false,
        review: None,
        review_detail: None,
        created_at: start,
        updated_at: start,
    }
}

fn parts<'a>(m: &'a ParsedMail<'a>, out: &mut Vec<&'a ParsedMail<'a>>) {
    if m.subparts.is_empty() {
        out.push(m);
    }
    for p in &m.subparts {
        parts(p, out);
    }
}

#[tokio::test]
async fn a_confirmation_goes_over_smtp_with_both_alternatives_and_an_invitation_in_local_time() {
    let smtp = TestSmtp::start();
    let mailer = Mailer::smtp(&smtp.url).unwrap();
    let communities = Communities::parse(COMMUNITIES).unwrap();
    let c = communities.get("maple-court").unwrap();
    let from: lettre::message::Mailbox = "Tourgate <tours@tourgate.example>".parse().unwrap();
    // Either side of New York's change from EDT to EST on 1 November 2026.
    for (i, (start, local, zone)) in [
        (
            Utc.with_ymd_and_hms(2026, 10, 31, 13, 0, 0).unwrap(),
            "20261031T090000",
            "EDT",
        ),
        (
            Utc.with_ymd_and_hms(2026, 11, 2, 14, 0, 0).unwrap(),
            "20261102T090000",
            "EST",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let b = booking(start);
        let mail = compose(&MailContext {
            kind: MailKind::Confirmation,
            booking: &b,
            community: c,
            manage_url: "http://127.0.0.1/bookings/abc?proof=xyz".into(),
            page_url: "http://127.0.0.1/bookings/abc".into(),
            access_code: None,
            unit_codes: &[],
            sequence: 0,
            from: &from,
            now: Utc::now(),
        })
        .unwrap();
        let logged = mail.logged_html.clone();
        mailer.send(mail.message).await.unwrap();
        let got = smtp.wait_for(i + 1);
        assert_eq!(got[i].to, vec!["grace@example.com".to_string()]);
        assert_eq!(got[i].from, "tours@tourgate.example");
        let raw = &got[i].data;
        let parsed = parse_mail(raw).unwrap();
        // Knock confirms by default (README "One confirmation"): ours is the booking's link.
        assert_eq!(
            parsed.headers.get_first_value("Subject").unwrap(),
            "Your booking link: self-guided tour of Maple Court Apartments"
        );
        assert!(parsed
            .headers
            .get_first_value("To")
            .unwrap()
            .contains("grace@example.com"));
        let mut leaves = Vec::new();
        parts(&parsed, &mut leaves);
        let by_type = |t: &str| {
            leaves
                .iter()
                .find(|p| p.ctype.mimetype == t)
                .unwrap_or_else(|| panic!("no {t} part"))
        };
        let text = by_type("text/plain").get_body().unwrap();
        let html = by_type("text/html").get_body().unwrap();
        let ics_part = by_type("text/calendar");
        assert_eq!(
            ics_part.ctype.params.get("method").map(String::as_str),
            Some("REQUEST")
        );
        let ics = ics_part.get_body().unwrap();
        assert!(text.contains(&format!("9:00 AM {zone}")), "{text}");
        assert!(text.contains("100 Maple St") && html.contains("100 Maple St"));
        assert!(
            html.contains("http://127.0.0.1/bookings/abc?proof=xyz"),
            "{html}"
        );
        assert!(
            text.contains("http://127.0.0.1/bookings/abc?proof=xyz"),
            "{text}"
        );
        // The invitation (calendars get shared) and Knock's log carry the page without proof.
        assert!(ics.contains("http://127.0.0.1/bookings/abc") && !ics.contains("proof"));
        assert!(logged.contains("http://127.0.0.1/bookings/abc"));
        assert!(!logged.contains("proof"), "{logged}");
        assert!(ics.contains("METHOD:REQUEST"));
        assert!(
            ics.contains(&format!("DTSTART;TZID=America/New_York:{local}")),
            "{ics}"
        );
        assert!(ics.contains(&format!("UID:{}@tourgate", b.id)));
        // The short reference, for a phone call, in both alternatives and the invitation.
        let reference = tourgate::domain::BookingReference::of(&c.reference_prefix, &b.id);
        let reference = reference.to_string();
        assert!(reference.starts_with("MPL-"), "{reference}");
        assert!(
            text.contains(&reference) && html.contains(&reference),
            "{text}"
        );
        assert!(ics.replace("\r\n ", "").contains(&reference), "{ics}");
        assert!(
            !text.contains(b.id.as_str()),
            "the machine id stays out of the mail"
        );
        assert!(
            text.contains("sends your confirmation in its own e-mail"),
            "{text}"
        );
        assert!(ics.contains("BEGIN:VALARM") && ics.contains("TRIGGER:-PT1H"));
    }
}

#[tokio::test]
async fn where_tourgate_confirms_our_first_mail_is_the_confirmation() {
    let communities = Communities::parse(COMMUNITIES).unwrap();
    let mut c = communities.get("maple-court").unwrap().clone();
    c.confirmation = tourgate::config::Confirmation::Tourgate;
    let from: lettre::message::Mailbox = "tours@tourgate.example".parse().unwrap();
    let b = booking(Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap());
    let mail = compose(&MailContext {
        kind: MailKind::Confirmation,
        booking: &b,
        community: &c,
        manage_url: "http://127.0.0.1/bookings/abc?proof=xyz".into(),
        page_url: "http://127.0.0.1/bookings/abc".into(),
        access_code: None,
        unit_codes: &[],
        sequence: 0,
        from: &from,
        now: Utc::now(),
    })
    .unwrap();
    assert_eq!(
        mail.subject,
        "Your self-guided tour of Maple Court Apartments is booked"
    );
    assert!(mail.text.contains("is booked for"), "{}", mail.text);
    assert!(!mail.text.contains("in its own e-mail"), "{}", mail.text);
}

#[tokio::test]
async fn a_cancellation_carries_method_cancel_with_the_same_uid() {
    let smtp = TestSmtp::start();
    let mailer = Mailer::smtp(&smtp.url).unwrap();
    let communities = Communities::parse(COMMUNITIES).unwrap();
    let c = communities.get("maple-court").unwrap();
    let from: lettre::message::Mailbox = "tours@tourgate.example".parse().unwrap();
    let b = booking(Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap());
    let mail = compose(&MailContext {
        kind: MailKind::Cancellation,
        booking: &b,
        community: c,
        manage_url: "http://127.0.0.1/bookings/abc?proof=xyz".into(),
        page_url: "http://127.0.0.1/bookings/abc".into(),
        access_code: None,
        unit_codes: &[],
        sequence: 2,
        from: &from,
        now: Utc::now(),
    })
    .unwrap();
    mailer.send(mail.message).await.unwrap();
    let raw = smtp.wait_for(1)[0].data.clone();
    let parsed = parse_mail(&raw).unwrap();
    let mut leaves = Vec::new();
    parts(&parsed, &mut leaves);
    let ics = leaves
        .iter()
        .find(|p| p.ctype.mimetype == "text/calendar")
        .unwrap()
        .get_body()
        .unwrap();
    assert!(ics.contains("METHOD:CANCEL") && ics.contains("STATUS:CANCELLED"));
    assert!(ics.contains("SEQUENCE:2"));
    assert!(ics.contains(&format!("UID:{}@tourgate", b.id)));
}

#[tokio::test]
async fn the_access_mail_has_the_code_and_knocks_log_of_it_has_neither_code_nor_proof() {
    let communities = Communities::parse(COMMUNITIES).unwrap();
    let c = communities.get("maple-court").unwrap();
    let from: lettre::message::Mailbox = "tours@tourgate.example".parse().unwrap();
    let b = booking(Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap());
    let mail = compose(&MailContext {
        kind: MailKind::AccessInstructions,
        booking: &b,
        community: c,
        manage_url: "http://127.0.0.1/bookings/abc?proof=xyz".into(),
        page_url: "http://127.0.0.1/bookings/abc".into(),
        access_code: Some("482913"),
        unit_codes: &[],
        sequence: 0,
        from: &from,
        now: Utc::now(),
    })
    .unwrap();
    assert!(mail.html.contains("482913") && mail.text.contains("482913"));
    assert!(!mail.logged_html.contains("482913"), "{}", mail.logged_html);
    assert!(mail.logged_html.contains(tourgate::mail::CODE_IN_LOG));
    assert!(!mail.logged_html.contains("proof"));
    assert!(mail.logged_html.contains("100 Maple St"));
}
