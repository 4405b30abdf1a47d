//! Round trips through the `icalendar` crate's parser, and a small RFC 5545 time-zone reader
//! to check that the VTIMEZONE places each event at its real instant.
//!
//! The parser unescapes TEXT values itself, with chained replaces that turn an escaped
//! backslash followed by `n` into a line break; the texts here avoid that pair, and
//! `content_line`'s own tests check escaping exactly.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;

/// An owned copy of a parsed component, so helpers can return it.
#[derive(Debug, Clone)]
struct Node {
    name: String,
    properties: Vec<Prop>,
    children: Vec<Node>,
}

#[derive(Debug, Clone)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Node {
    fn from_parsed(component: &icalendar::parser::Component) -> Self {
        Node {
            name: component.name.as_str().to_owned(),
            properties: component
                .properties
                .iter()
                .map(|p| Prop {
                    name: p.name.as_str().to_owned(),
                    params: p
                        .params
                        .iter()
                        .map(|param| {
                            let value = param.val.as_ref().map(|v| v.as_str().to_owned());
                            (param.key.as_str().to_owned(), value.unwrap_or_default())
                        })
                        .collect(),
                    value: p.val.as_str().to_owned(),
                })
                .collect(),
            children: component.components.iter().map(Node::from_parsed).collect(),
        }
    }

    fn prop(&self, name: &str) -> &Prop {
        let found = self.properties.iter().find(|p| p.name == name);
        found.unwrap_or_else(|| panic!("{} has no {name}: {self:#?}", self.name))
    }

    fn value(&self, name: &str) -> &str {
        &self.prop(name).value
    }

    fn has(&self, name: &str) -> bool {
        self.properties.iter().any(|p| p.name == name)
    }

    fn child(&self, name: &str) -> &Node {
        let found = self.children.iter().find(|c| c.name == name);
        found.unwrap_or_else(|| panic!("{} has no {name}", self.name))
    }
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The VCALENDAR, parsed by the `icalendar` crate after unfolding.
fn parse(ics: &str) -> Node {
    let unfolded = icalendar::parser::unfold(ics);
    let calendar = icalendar::parser::read_calendar(&unfolded)
        .unwrap_or_else(|e| panic!("the calendar does not parse: {e}\n{ics}"));
    Node {
        name: "VCALENDAR".to_owned(),
        properties: Node::from_parsed(&icalendar::parser::Component {
            name: "VCALENDAR".into(),
            properties: calendar.properties.clone(),
            components: Vec::new(),
        })
        .properties,
        children: calendar.components.iter().map(Node::from_parsed).collect(),
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("a real instant")
}

fn event(start: DateTime<Utc>, timezone: Tz) -> CalendarEvent<'static> {
    CalendarEvent {
        uid: "b-7f3a@tourgate",
        sequence: 0,
        method: CalendarMethod::Request,
        start,
        end: start + Duration::minutes(30),
        timezone,
        summary: "Self-guided tour at Maple Court",
        location: "100 Maple St, Seattle, WA",
        description: "Your access code arrives 15 minutes before the tour.",
        url: Some("https://tours.example.com/bookings/abc"),
        organizer_email: Some("tours@example.com"),
        attendee_email: Some("ann@example.com"),
        stamp: utc(2026, 10, 1, 12, 0),
    }
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").expect("a local date-time")
}

fn offset_seconds(text: &str) -> i64 {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits = &text[1..];
    let hours: i64 = digits[0..2].parse().expect("hours");
    let minutes: i64 = digits[2..4].parse().expect("minutes");
    let seconds: i64 = digits.get(4..6).map_or(0, |s| s.parse().expect("seconds"));
    sign * (hours * 3600 + minutes * 60 + seconds)
}

/// What a calendar reader does with `DTSTART;TZID=..:local`: the observance in force is the
/// one with the latest onset before the instant; a repeated wall-clock time means its first
/// occurrence (RFC 5545 §3.3.5).
fn resolve(vtimezone: &Node, wall_clock: NaiveDateTime) -> Option<DateTime<Utc>> {
    let observances: Vec<(DateTime<Utc>, i64)> = vtimezone
        .children
        .iter()
        .map(|o| {
            let onset = local(o.value("DTSTART"))
                - Duration::seconds(offset_seconds(o.value("TZOFFSETFROM")));
            (onset.and_utc(), offset_seconds(o.value("TZOFFSETTO")))
        })
        .collect();
    let in_force = |instant: DateTime<Utc>| {
        observances
            .iter()
            .filter(|(onset, _)| *onset <= instant)
            .max_by_key(|(onset, _)| *onset)
            .map(|(_, to)| *to)
    };
    // Each observance's offset gives a candidate instant; it counts if that observance is
    // indeed the one in force then.
    observances
        .iter()
        .filter_map(|(_, to)| {
            let candidate = (wall_clock - Duration::seconds(*to)).and_utc();
            (in_force(candidate) == Some(*to)).then_some(candidate)
        })
        .min()
}

/// The instant a parsed DTSTART or DTEND names.
fn instant_of(calendar: &Node, prop: &Prop) -> DateTime<Utc> {
    match prop.param("TZID") {
        Some(tzid) => {
            let vtimezone = calendar.child("VTIMEZONE");
            assert_eq!(vtimezone.value("TZID"), tzid);
            resolve(vtimezone, local(&prop.value)).expect("the wall-clock time exists")
        }
        None => {
            let text = prop.value.strip_suffix('Z').expect("a UTC time");
            local(text).and_utc()
        }
    }
}

/// (kind, DTSTART, TZOFFSETFROM, TZOFFSETTO, TZNAME) of each observance.
fn observances(calendar: &Node) -> Vec<(String, String, String, String, String)> {
    calendar
        .child("VTIMEZONE")
        .children
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                o.value("DTSTART").to_owned(),
                o.value("TZOFFSETFROM").to_owned(),
                o.value("TZOFFSETTO").to_owned(),
                o.properties
                    .iter()
                    .find(|p| p.name == "TZNAME")
                    .map(|p| p.value.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn observance(
    kind: &str,
    start: &str,
    from: &str,
    to: &str,
    name: &str,
) -> (String, String, String, String, String) {
    (
        kind.into(),
        start.into(),
        from.into(),
        to.into(),
        name.into(),
    )
}

#[test]
fn the_calendar_parses_back_with_every_event_field() {
    let ics = render(&event(
        utc(2026, 10, 31, 18, 0),
        chrono_tz::America::New_York,
    ));
    let calendar = parse(&ics);
    let value = |name: &str| {
        calendar
            .properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.clone())
    };
    assert_eq!(value("VERSION").as_deref(), Some("2.0"));
    assert_eq!(value("PRODID").as_deref(), Some(PRODID));
    assert_eq!(value("METHOD").as_deref(), Some("REQUEST"));
    assert_eq!(value("CALSCALE").as_deref(), Some("GREGORIAN"));

    let vevent = calendar.child("VEVENT");
    assert_eq!(vevent.value("UID"), "b-7f3a@tourgate");
    assert_eq!(vevent.value("SEQUENCE"), "0");
    assert_eq!(vevent.value("DTSTAMP"), "20261001T120000Z");
    assert_eq!(vevent.value("SUMMARY"), "Self-guided tour at Maple Court");
    assert_eq!(vevent.value("LOCATION"), "100 Maple St, Seattle, WA");
    assert_eq!(
        vevent.value("DESCRIPTION"),
        "Your access code arrives 15 minutes before the tour.\n\nhttps://tours.example.com/bookings/abc"
    );
    assert_eq!(
        vevent.value("URL"),
        "https://tours.example.com/bookings/abc"
    );
    assert_eq!(vevent.value("STATUS"), "CONFIRMED");
    assert_eq!(vevent.value("ORGANIZER"), "mailto:tours@example.com");
    let attendee = vevent.prop("ATTENDEE");
    assert_eq!(attendee.value, "mailto:ann@example.com");
    assert_eq!(attendee.param("PARTSTAT"), Some("ACCEPTED"));
}

#[test]
fn every_line_ends_with_crlf_and_fits_in_75_octets() {
    let ics = render(&event(
        utc(2026, 10, 31, 18, 0),
        chrono_tz::America::New_York,
    ));
    assert!(ics.ends_with("END:VCALENDAR\r\n"));
    assert!(!ics.replace("\r\n", "").contains(['\r', '\n']));
    assert!(ics.split("\r\n").all(|line| line.len() <= 75));
}

#[test]
fn new_york_wall_clock_times_are_right_on_both_sides_of_the_november_2026_change() {
    let before = render(&event(
        utc(2026, 10, 31, 18, 0),
        chrono_tz::America::New_York,
    ));
    let after = render(&event(
        utc(2026, 11, 1, 19, 0),
        chrono_tz::America::New_York,
    ));
    for (ics, start, end, instant) in [
        (
            &before,
            "20261031T140000",
            "20261031T143000",
            utc(2026, 10, 31, 18, 0),
        ),
        (
            &after,
            "20261101T140000",
            "20261101T143000",
            utc(2026, 11, 1, 19, 0),
        ),
    ] {
        let calendar = parse(ics);
        let vevent = calendar.child("VEVENT");
        let dtstart = vevent.prop("DTSTART");
        assert_eq!(dtstart.param("TZID"), Some("America/New_York"));
        assert_eq!(dtstart.value, start);
        assert_eq!(vevent.prop("DTEND").param("TZID"), Some("America/New_York"));
        assert_eq!(vevent.value("DTEND"), end);
        assert_eq!(instant_of(&calendar, dtstart), instant);
        assert_eq!(
            instant_of(&calendar, vevent.prop("DTEND")),
            instant + Duration::minutes(30)
        );
    }
}

#[test]
fn the_new_york_vtimezone_has_the_real_2026_transitions() {
    let calendar = parse(&render(&event(
        utc(2026, 10, 31, 18, 0),
        chrono_tz::America::New_York,
    )));
    assert_eq!(
        calendar.child("VTIMEZONE").value("TZID"),
        "America/New_York"
    );
    let found = observances(&calendar);
    assert!(found.contains(&observance(
        "DAYLIGHT",
        "20260308T020000",
        "-0500",
        "-0400",
        "EDT"
    )));
    assert!(found.contains(&observance(
        "STANDARD",
        "20261101T020000",
        "-0400",
        "-0500",
        "EST"
    )));
    // The window reaches the year before and the year after.
    assert!(found.contains(&observance(
        "STANDARD",
        "20251102T020000",
        "-0400",
        "-0500",
        "EST"
    )));
    assert!(found.contains(&observance(
        "DAYLIGHT",
        "20270314T020000",
        "-0500",
        "-0400",
        "EDT"
    )));
}

#[test]
fn berlin_wall_clock_times_and_offsets_are_right_around_the_march_2026_change() {
    let berlin = chrono_tz::Europe::Berlin;
    // Clocks go forward at 01:00 UTC on 2026-03-29.
    let before = parse(&render(&event(utc(2026, 3, 28, 9, 0), berlin)));
    let after = parse(&render(&event(utc(2026, 3, 29, 8, 0), berlin)));
    assert_eq!(before.child("VEVENT").value("DTSTART"), "20260328T100000");
    assert_eq!(after.child("VEVENT").value("DTSTART"), "20260329T100000");
    assert_eq!(
        before.child("VEVENT").prop("DTSTART").param("TZID"),
        Some("Europe/Berlin")
    );
    assert_eq!(
        instant_of(&before, before.child("VEVENT").prop("DTSTART")),
        utc(2026, 3, 28, 9, 0)
    );
    assert_eq!(
        instant_of(&after, after.child("VEVENT").prop("DTSTART")),
        utc(2026, 3, 29, 8, 0)
    );
    let found = observances(&after);
    assert!(found.contains(&observance(
        "DAYLIGHT",
        "20260329T020000",
        "+0100",
        "+0200",
        "CEST"
    )));
    assert!(found.contains(&observance(
        "STANDARD",
        "20261025T030000",
        "+0200",
        "+0100",
        "CET"
    )));
}

#[test]
fn kolkata_gets_one_standard_block_at_plus_0530() {
    let calendar = parse(&render(&event(
        utc(2026, 6, 1, 4, 30),
        chrono_tz::Asia::Kolkata,
    )));
    let vevent = calendar.child("VEVENT");
    assert_eq!(vevent.prop("DTSTART").param("TZID"), Some("Asia/Kolkata"));
    assert_eq!(vevent.value("DTSTART"), "20260601T100000");
    assert_eq!(
        observances(&calendar),
        [observance(
            "STANDARD",
            "19700101T000000",
            "+0530",
            "+0530",
            "IST"
        )]
    );
    assert_eq!(
        instant_of(&calendar, vevent.prop("DTSTART")),
        utc(2026, 6, 1, 4, 30)
    );
}

#[test]
fn a_tour_in_the_repeated_hour_is_placed_exactly() {
    let new_york = chrono_tz::America::New_York;
    // 01:30 happens twice on 2026-11-01: 05:30 UTC (EDT) and 06:30 UTC (EST).
    // A tour from 01:00 to 01:30 EDT lies wholly in the first pass: wall-clock times suffice.
    let first = parse(&render(&event(utc(2026, 11, 1, 5, 0), new_york)));
    let first_start = first.child("VEVENT").prop("DTSTART");
    assert_eq!(first_start.value, "20261101T010000");
    assert_eq!(first.child("VEVENT").value("DTEND"), "20261101T013000");
    assert_eq!(instant_of(&first, first_start), utc(2026, 11, 1, 5, 0));
    assert_eq!(
        instant_of(&first, first.child("VEVENT").prop("DTEND")),
        utc(2026, 11, 1, 5, 30)
    );

    let second = parse(&render(&event(utc(2026, 11, 1, 6, 30), new_york)));
    let second_start = second.child("VEVENT").prop("DTSTART");
    assert_eq!(second_start.value, "20261101T063000Z");
    assert_eq!(second.child("VEVENT").value("DTEND"), "20261101T070000Z");
    assert_eq!(instant_of(&second, second_start), utc(2026, 11, 1, 6, 30));
}

#[test]
fn long_non_ascii_text_is_escaped_folded_and_parses_back_unchanged() {
    let description = "Willkommen im Café «Ahornhof»; Zugang: Tür 3, Code folgt.\r\n\
        見学は自分のペースでどうぞ。鍵はロビーの右側、エレベーター横です, 🏠🔑 \
        C:\\tours\\ahorn; \"quoted\"\nLine three with a tab\tinside, and more text to force \
        several folds: ÄÖÜäöüß ÆØÅ ĀĒĪŌŪ Ελληνικά Русский עברית العربية";
    let summary = "Führung: Ahornhof, Wohnung 2B; 見学ツアー";
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::Europe::Berlin);
    e.description = description;
    e.summary = summary;
    e.url = None;
    let ics = render(&e);
    assert!(ics.split("\r\n").all(|line| line.len() <= 75));
    assert!(
        ics.contains("\r\n "),
        "the description is long enough to fold"
    );
    assert!(ics.contains("Ahornhof\\, Wohnung 2B\\; "));

    let vevent = parse(&ics).child("VEVENT").clone();
    assert_eq!(
        vevent.value("DESCRIPTION"),
        description.replace("\r\n", "\n")
    );
    assert_eq!(vevent.value("SUMMARY"), summary);
}

#[test]
fn a_cancellation_keeps_the_uid_and_says_cancelled() {
    let start = utc(2026, 10, 31, 18, 0);
    let request = parse(&render(&event(start, chrono_tz::America::New_York)));
    let mut cancel = event(start, chrono_tz::America::New_York);
    cancel.method = CalendarMethod::Cancel;
    cancel.sequence = 1;
    let cancel = parse(&render(&cancel));
    let method = cancel
        .properties
        .iter()
        .find(|p| p.name == "METHOD")
        .map(|p| p.value.as_str());
    assert_eq!(method, Some("CANCEL"));
    assert_eq!(cancel.child("VEVENT").value("STATUS"), "CANCELLED");
    assert_eq!(cancel.child("VEVENT").value("SEQUENCE"), "1");
    assert_eq!(
        cancel.child("VEVENT").value("UID"),
        request.child("VEVENT").value("UID")
    );
}

#[test]
fn a_published_copy_has_an_organizer_but_no_attendee() {
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::America::New_York);
    e.method = CalendarMethod::Publish;
    let vevent = parse(&render(&e)).child("VEVENT").clone();
    assert_eq!(vevent.value("STATUS"), "CONFIRMED");
    assert!(vevent.has("ORGANIZER"));
    assert!(!vevent.has("ATTENDEE"));
}

#[test]
fn absent_optional_fields_leave_no_lines() {
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::America::New_York);
    e.url = None;
    e.organizer_email = None;
    e.attendee_email = None;
    let vevent = parse(&render(&e)).child("VEVENT").clone();
    for name in ["URL", "ORGANIZER", "ATTENDEE"] {
        assert!(!vevent.has(name), "{name}");
    }
}

#[test]
fn mailto_percent_encodes_what_a_uri_cannot_hold() {
    assert_eq!(
        mailto("ann+tours@example.com"),
        "mailto:ann+tours@example.com"
    );
    assert_eq!(
        mailto("\"ann lee\"@example.com"),
        "mailto:%22ann%20lee%22@example.com"
    );
    assert_eq!(mailto("zoë@example.com"), "mailto:zo%C3%AB@example.com");
}

#[test]
fn an_injected_line_break_in_a_uri_cannot_add_a_property() {
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::America::New_York);
    e.url = Some("https://example.com/x\r\nSTATUS:CANCELLED");
    let unfolded = icalendar::parser::unfold(&render(&e));
    let status_lines = unfolded
        .split("\r\n")
        .filter(|l| l.starts_with("STATUS"))
        .count();
    assert_eq!(status_lines, 1);
}

#[test]
fn an_invitation_carries_a_display_alarm_an_hour_before() {
    let ics = render(&event(
        utc(2026, 10, 31, 18, 0),
        chrono_tz::America::New_York,
    ));
    let alarm = parse(&ics).child("VEVENT").child("VALARM").clone();
    assert_eq!(alarm.value("ACTION"), "DISPLAY");
    assert_eq!(alarm.value("TRIGGER"), "-PT1H");
    assert!(alarm.value("DESCRIPTION").contains("Maple Court"));
    // Exactly one alarm, inside the event (not the calendar or a time zone).
    assert_eq!(ics.matches("BEGIN:VALARM").count(), 1);
    let event_part = &ics[ics.find("BEGIN:VEVENT").unwrap()..];
    assert!(event_part.contains("BEGIN:VALARM"));
}

#[test]
fn a_cancellation_sets_no_alarm() {
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::America::New_York);
    e.method = CalendarMethod::Cancel;
    assert!(!render(&e).contains("VALARM"));
}

#[test]
fn without_a_link_the_description_is_left_as_given() {
    let mut e = event(utc(2026, 10, 31, 18, 0), chrono_tz::America::New_York);
    e.url = None;
    let vevent = parse(&render(&e)).child("VEVENT").clone();
    assert_eq!(
        vevent.value("DESCRIPTION"),
        "Your access code arrives 15 minutes before the tour."
    );
}

fn query_of(link: &str) -> std::collections::HashMap<String, String> {
    let parsed = url::Url::parse(link).expect("a URL");
    parsed.query_pairs().into_owned().collect()
}

#[test]
fn the_google_link_names_the_event_in_utc_with_the_booking_link_in_its_details() {
    let e = event(utc(2026, 11, 24, 18, 30), chrono_tz::America::Los_Angeles);
    let link = google_link(&e);
    assert!(link.starts_with("https://calendar.google.com/calendar/render?"));
    let q = query_of(&link);
    assert_eq!(q["action"], "TEMPLATE");
    assert_eq!(q["text"], "Self-guided tour at Maple Court");
    assert_eq!(q["dates"], "20261124T183000Z/20261124T190000Z");
    assert_eq!(q["location"], "100 Maple St, Seattle, WA");
    assert_eq!(q["ctz"], "America/Los_Angeles");
    assert!(q["details"].ends_with("https://tours.example.com/bookings/abc"));
}

#[test]
fn the_outlook_links_open_a_prefilled_new_event_on_each_outlook() {
    let e = event(utc(2026, 11, 24, 18, 30), chrono_tz::America::Los_Angeles);
    let personal = outlook_link(&e, Outlook::Personal);
    let work = outlook_link(&e, Outlook::Work);
    assert!(personal.starts_with("https://outlook.live.com/calendar/0/deeplink/compose?"));
    assert!(work.starts_with("https://outlook.office.com/calendar/0/deeplink/compose?"));
    let q = query_of(&personal);
    assert_eq!(q["rru"], "addevent");
    assert_eq!(q["path"], "/calendar/action/compose");
    assert_eq!(q["subject"], "Self-guided tour at Maple Court");
    assert_eq!(q["startdt"], "2026-11-24T18:30:00Z");
    assert_eq!(q["enddt"], "2026-11-24T19:00:00Z");
    assert!(q["body"].ends_with("https://tours.example.com/bookings/abc"));
    assert_eq!(q["location"], "100 Maple St, Seattle, WA");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn in_any_zone_the_event_resolves_to_its_real_instant(
        zone in 0..chrono_tz::TZ_VARIANTS.len(),
        minutes in 0i64..(15 * 366 * 24 * 60),
    ) {
        let tz = chrono_tz::TZ_VARIANTS[zone];
        let start = utc(2020, 1, 1, 0, 0) + Duration::minutes(minutes);
        let calendar = parse(&render(&event(start, tz)));
        let vevent = calendar.child("VEVENT");
        prop_assert_eq!(instant_of(&calendar, vevent.prop("DTSTART")), start);
        prop_assert_eq!(instant_of(&calendar, vevent.prop("DTEND")), start + Duration::minutes(30));
    }

    #[test]
    fn around_each_new_york_transition_every_quarter_hour_resolves(quarter in 0i64..(8 * 4)) {
        let tz = chrono_tz::America::New_York;
        for change in [utc(2026, 3, 8, 7, 0), utc(2026, 11, 1, 6, 0)] {
            let start = change - Duration::hours(4) + Duration::minutes(15 * quarter);
            let calendar = parse(&render(&event(start, tz)));
            let vevent = calendar.child("VEVENT");
            prop_assert_eq!(instant_of(&calendar, vevent.prop("DTSTART")), start);
        }
    }
}
