//! The messages Tourgate sends a renter. Dates and times are in the community's zone, with the
//! zone named; every message carries the community's name and address and the manage link.
use askama::Template;
use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::MailError;
use crate::calendar::{self, CalendarEvent, CalendarMethod};
use crate::config::{Community, Confirmation};
use crate::domain::{describe, describe_time, Booking, BookingReference};

pub use crate::domain::MailKind;

impl MailKind {
    /// Which calendar method, if any, rides along.
    fn calendar(self) -> Option<CalendarMethod> {
        match self {
            Self::Confirmation | Self::Reschedule => Some(CalendarMethod::Request),
            Self::Cancellation => Some(CalendarMethod::Cancel),
            _ => None,
        }
    }
}

/// Everything a message needs, already loaded.
pub struct MailContext<'a> {
    pub kind: MailKind,
    pub booking: &'a Booking,
    pub community: &'a Community,
    /// The booking page's link as the renter gets it: with the proof that they read this mail
    /// (`?proof=...`, README "Door codes and the demo lock").
    pub manage_url: String,
    /// The same page without the proof: for the calendar invitation and Knock's log.
    pub page_url: String,
    /// Only for access instructions; never logged, never in Knock's log.
    pub access_code: Option<&'a str>,
    /// With it, the PINs of unit locks that pick their own: (unit, code); never logged either.
    pub unit_codes: &'a [(String, String)],
    /// iCalendar SEQUENCE: grows with each change of the booking.
    pub sequence: u32,
    pub from: &'a Mailbox,
    pub now: DateTime<Utc>,
}

/// Mail goes out in the community's name, so the renter sees whom they deal with: the
/// community's own `mail_from` when it has one, else "<name> via Tourgate" at the address of
/// `default` (MAIL_FROM, or Tourgate's own).
pub fn sender(c: &Community, default: &Mailbox) -> Mailbox {
    c.brand.mail_from.clone().unwrap_or_else(|| {
        Mailbox::new(
            Some(format!("{} via Tourgate", c.name)),
            default.email.clone(),
        )
    })
}

/// What Knock's e-mail log shows in place of the door code.
pub const CODE_IN_LOG: &str = "[door code sent to the renter]";

/// A composed message: what is sent, and what is logged to Knock (subject and `logged_html`).
pub struct RenderedMail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The HTML body for Knock's e-mail log: the mail as sent, but with [`CODE_IN_LOG`] for the
    /// door code and the booking link without its proof. Neither is ever stored or sent to
    /// Knock (the log rides the outbox, whose payloads are in our database).
    pub logged_html: String,
    pub ics: Option<String>,
    pub message: Message,
}

#[derive(Template)]
#[template(path = "mail/body.html")]
struct HtmlBody<'a> {
    kind: &'a str,
    /// Knock sends the renter's confirmation: our first mail is the booking's link.
    knock_confirms: bool,
    /// The short reference, `MPL-4K7Q-9TZB`.
    reference: &'a str,
    community: &'a Community,
    first_name: &'a str,
    when: &'a str,
    ends: &'a str,
    manage_url: &'a str,
    access_code: Option<&'a str>,
    unit_codes: &'a [(String, String)],
}

#[derive(Template)]
#[template(path = "mail/body.txt")]
struct TextBody<'a> {
    kind: &'a str,
    /// Knock sends the renter's confirmation: our first mail is the booking's link.
    knock_confirms: bool,
    /// The short reference, `MPL-4K7Q-9TZB`.
    reference: &'a str,
    community: &'a Community,
    first_name: &'a str,
    when: &'a str,
    ends: &'a str,
    manage_url: &'a str,
    access_code: Option<&'a str>,
    unit_codes: &'a [(String, String)],
}

pub fn compose(ctx: &MailContext) -> Result<RenderedMail, MailError> {
    let b = ctx.booking;
    let c = ctx.community;
    let when = describe(b.slot_start(), c.timezone);
    let ends = describe_time(b.slot_end, c.timezone);
    let knock_confirms = c.confirmation == Confirmation::Knock;
    let reference = BookingReference::of(&c.reference_prefix, &b.id).to_string();
    let subject = match ctx.kind {
        // README "One confirmation": where Knock confirms, ours is the link, not a second one.
        MailKind::Confirmation if knock_confirms => {
            format!("Your booking link: self-guided tour of {}", c.name)
        }
        MailKind::Confirmation => format!("Your self-guided tour of {} is booked", c.name),
        MailKind::Reminder24h => format!("Tomorrow: your self-guided tour of {}", c.name),
        MailKind::Reminder1h => format!("In an hour: your self-guided tour of {}", c.name),
        MailKind::AccessInstructions => format!("How to get in: your tour of {}", c.name),
        MailKind::Cancellation => format!("Cancelled: your tour of {}", c.name),
        MailKind::Reschedule => format!("New time for your tour of {}", c.name),
        MailKind::ManageLink => format!("Your tour at {}: the link to change it", c.name),
        MailKind::BookingLink => format!("Your tour at {}: the link to your booking", c.name),
        MailKind::NoShowOffer => format!("We missed you at {}: book another time", c.name),
    };
    let html_with =
        |manage_url: &str, access_code: Option<&str>, unit_codes: &[(String, String)]| {
            HtmlBody {
                kind: ctx.kind.as_str(),
                knock_confirms,
                reference: &reference,
                community: c,
                first_name: b.first_name.as_str(),
                when: &when,
                ends: &ends,
                manage_url,
                access_code,
                unit_codes,
            }
            .render()
            .map_err(|e| MailError::Build(e.to_string()))
        };
    let html = html_with(&ctx.manage_url, ctx.access_code, ctx.unit_codes)?;
    let logged_units: Vec<(String, String)> = ctx
        .unit_codes
        .iter()
        .map(|(unit, _)| (unit.clone(), CODE_IN_LOG.to_string()))
        .collect();
    let logged_html = html_with(
        &ctx.page_url,
        ctx.access_code.map(|_| CODE_IN_LOG),
        &logged_units,
    )?;
    let text = TextBody {
        kind: ctx.kind.as_str(),
        knock_confirms,
        reference: &reference,
        community: c,
        first_name: b.first_name.as_str(),
        when: &when,
        ends: &ends,
        manage_url: &ctx.manage_url,
        access_code: ctx.access_code,
        unit_codes: ctx.unit_codes,
    }
    .render()
    .map_err(|e| MailError::Build(e.to_string()))?;
    let to: Mailbox = format!("{} {} <{}>", b.first_name, b.last_name, b.email)
        .parse()
        .or_else(|_| b.email.as_str().parse())
        .map_err(|e: lettre::address::AddressError| MailError::Build(e.to_string()))?;
    let ics = ctx.kind.calendar().map(|method| {
        let uid = format!("{}@tourgate", b.id);
        let summary = format!("Self-guided tour: {}", c.name);
        // The invitation lands in calendars that may be shared: the page without the proof.
        // The page's link is added to the description by `calendar::render`.
        let description = format!(
            "Your self-guided tour of {}. Reference {reference}.",
            c.name
        );
        calendar::render(&CalendarEvent {
            uid: &uid,
            sequence: ctx.sequence,
            method,
            start: b.slot_start(),
            end: b.slot_end,
            timezone: c.timezone,
            summary: &summary,
            location: &c.address,
            description: &description,
            url: Some(&ctx.page_url),
            organizer_email: Some(ctx.from.email.as_ref()),
            attendee_email: Some(b.email.as_str()),
            stamp: ctx.now,
        })
    });
    let alternatives = MultiPart::alternative()
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(text.clone()),
        )
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_HTML)
                .body(html.clone()),
        );
    let body = match (&ics, ctx.kind.calendar()) {
        (Some(ics), Some(method)) => {
            let method = match method {
                CalendarMethod::Cancel => "CANCEL",
                CalendarMethod::Request => "REQUEST",
                CalendarMethod::Publish => "PUBLISH",
            };
            let content_type =
                ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                    .map_err(|e| MailError::Build(e.to_string()))?;
            MultiPart::mixed()
                .multipart(alternatives)
                .singlepart(Attachment::new("tour.ics".into()).body(ics.clone(), content_type))
        }
        _ => alternatives,
    };
    let message = Message::builder()
        .from(ctx.from.clone())
        .to(to)
        .subject(&subject)
        .multipart(body)
        .map_err(|e| MailError::Build(e.to_string()))?;
    Ok(RenderedMail {
        subject,
        text,
        html,
        logged_html,
        ics,
        message,
    })
}
