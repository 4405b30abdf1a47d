//! iCalendar (RFC 5545) invitations for a booking, written by hand: the `icalendar` crate
//! cannot build a VTIMEZONE from chrono-tz, and its text escaping misses bare CRs.

mod content_line;
mod vtimezone;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use chrono_tz::Tz;

use content_line::ContentLines;

const PRODID: &str = "-//Tourgate//Self-Guided Tours//EN";

/// The iTIP (RFC 5546) method: what the receiving calendar should do with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarMethod {
    /// A copy to save, e.g. the booking page's download.
    Publish,
    /// A new or changed booking sent by e-mail.
    Request,
    /// The booking is cancelled; the same UID removes it from the renter's calendar.
    Cancel,
}

impl CalendarMethod {
    fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "PUBLISH",
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CalendarEvent<'a> {
    /// Stable per booking, e.g. "<booking id>@tourgate", so updates replace the event.
    pub uid: &'a str,
    /// Increases with each change; calendars ignore an update that does not raise it.
    pub sequence: u32,
    pub method: CalendarMethod,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The community's zone: the event shows in its wall-clock time.
    pub timezone: Tz,
    pub summary: &'a str,
    pub location: &'a str,
    pub description: &'a str,
    pub url: Option<&'a str>,
    /// RFC 5546 wants an organizer for every method; calendars may ignore a REQUEST without.
    pub organizer_email: Option<&'a str>,
    /// Left out for `Publish`, which RFC 5546 §3.2.1 defines without attendees.
    pub attendee_email: Option<&'a str>,
    pub stamp: DateTime<Utc>,
}

/// The whole VCALENDAR, CRLF line endings, lines folded at 75 octets.
pub fn render(event: &CalendarEvent) -> String {
    let mut out = ContentLines::default();
    out.raw("BEGIN", "VCALENDAR");
    out.raw("VERSION", "2.0");
    out.text("PRODID", PRODID);
    out.raw("METHOD", event.method.as_str());
    out.raw("CALSCALE", "GREGORIAN");

    let (from, until) = zone_window(event);
    vtimezone::write(&mut out, event.timezone, from, until, event.start);

    out.raw("BEGIN", "VEVENT");
    out.text("UID", event.uid);
    out.raw("SEQUENCE", &event.sequence.to_string());
    out.raw("DTSTAMP", &utc_date_time(event.stamp));
    write_times(&mut out, event);
    out.text("SUMMARY", event.summary);
    out.text("LOCATION", event.location);
    out.text("DESCRIPTION", &description_with_link(event));
    if let Some(url) = event.url {
        out.uri("URL", url);
    }
    let status = match event.method {
        CalendarMethod::Cancel => "CANCELLED",
        CalendarMethod::Publish | CalendarMethod::Request => "CONFIRMED",
    };
    out.raw("STATUS", status);
    out.raw("TRANSP", "OPAQUE");
    if let Some(organizer) = event.organizer_email {
        out.uri("ORGANIZER", &mailto(organizer));
    }
    let attendee = event
        .attendee_email
        .filter(|_| event.method != CalendarMethod::Publish);
    if let Some(attendee) = attendee {
        // The renter booked the slot themselves: nothing to reply to.
        out.uri(
            "ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE",
            &mailto(attendee),
        );
    }
    if event.method != CalendarMethod::Cancel {
        write_alarm(&mut out, event.summary);
    }
    out.raw("END", "VEVENT");
    out.raw("END", "VCALENDAR");
    out.finish()
}

/// The description, then the booking's link on a line of its own: Google Calendar ignores
/// `URL`, so the link must be in the text a renter reads.
pub fn description_with_link(event: &CalendarEvent) -> String {
    match event.url {
        Some(url) => format!("{}\n\n{url}", event.description),
        None => event.description.to_string(),
    }
}

/// A display alarm an hour before the start (RFC 5545 §3.6.6: DISPLAY needs a DESCRIPTION).
fn write_alarm(out: &mut ContentLines, summary: &str) {
    out.raw("BEGIN", "VALARM");
    out.raw("ACTION", "DISPLAY");
    out.text("DESCRIPTION", &format!("In an hour: {summary}"));
    out.raw("TRIGGER", "-PT1H");
    out.raw("END", "VALARM");
}

/// From the start of the year before the event to the end of the year after it: enough
/// transitions for any reader to place the event, however its rules pick an observance.
fn zone_window(event: &CalendarEvent) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = event.start.min(event.end);
    let last = event.start.max(event.end);
    let year_start = |year: i32| {
        Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or(first)
    };
    // A day of slack either side covers offsets of up to ±24 h at the year's edges.
    (
        year_start(first.year() - 1) - Duration::days(1),
        year_start(last.year() + 2) + Duration::days(1),
    )
}

/// DTSTART/DTEND as wall-clock time with TZID. A wall-clock time repeated when the clocks go
/// back means its first occurrence (§3.3.5), so an event in the second one is given in UTC.
fn write_times(out: &mut ContentLines, event: &CalendarEvent) {
    let tz = event.timezone;
    let unambiguous = |instant: DateTime<Utc>| {
        let local = instant.with_timezone(&tz).naive_local();
        tz.from_local_datetime(&local)
            .earliest()
            .is_some_and(|first| first == instant)
    };
    if unambiguous(event.start) && unambiguous(event.end) {
        let local = |instant: DateTime<Utc>| {
            instant
                .with_timezone(&tz)
                .format("%Y%m%dT%H%M%S")
                .to_string()
        };
        let param = format!(";TZID={}", tz.name());
        out.raw(&format!("DTSTART{param}"), &local(event.start));
        out.raw(&format!("DTEND{param}"), &local(event.end));
    } else {
        out.raw("DTSTART", &utc_date_time(event.start));
        out.raw("DTEND", &utc_date_time(event.end));
    }
}

fn utc_date_time(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A `mailto:` URI (RFC 6068), percent-encoding what may not stand in one as is.
fn mailto(address: &str) -> String {
    let mut uri = String::from("mailto:");
    for byte in address.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'*+=@".contains(&byte) {
            uri.push(char::from(byte));
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

/// "Add to Google Calendar": Google's event template link (times in UTC, shown in `ctz`).
pub fn google_link(event: &CalendarEvent) -> String {
    let dates = format!(
        "{}/{}",
        utc_date_time(event.start),
        utc_date_time(event.end)
    );
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("action", "TEMPLATE")
        .append_pair("text", event.summary)
        .append_pair("dates", &dates)
        .append_pair("details", &description_with_link(event))
        .append_pair("location", event.location)
        .append_pair("ctz", event.timezone.name())
        .finish();
    format!("https://calendar.google.com/calendar/render?{query}")
}

/// Which Outlook a compose link opens: personal (outlook.live.com) or work and school
/// (Microsoft 365, outlook.office.com).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outlook {
    Personal,
    Work,
}

/// An Outlook on the web "new event" deep link, prefilled.
pub fn outlook_link(event: &CalendarEvent, which: Outlook) -> String {
    let host = match which {
        Outlook::Personal => "outlook.live.com",
        Outlook::Work => "outlook.office.com",
    };
    let iso = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("path", "/calendar/action/compose")
        .append_pair("rru", "addevent")
        .append_pair("subject", event.summary)
        .append_pair("startdt", &iso(event.start))
        .append_pair("enddt", &iso(event.end))
        .append_pair("body", &description_with_link(event))
        .append_pair("location", event.location)
        .finish();
    format!("https://{host}/calendar/0/deeplink/compose?{query}")
}

#[cfg(test)]
mod tests;
