//! The booking form: raw fields in, domain types or per-field messages out; and the form's
//! key, issued by the server with each form and bound to the session that was shown it.
use actix_session::Session;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::csrf;
use super::error::WebError;

use crate::booking::slots::Slot;
use crate::booking::Renter;
use crate::domain::{Bedrooms, Email, Message, MoveDate, PersonName, PersonNameError, Phone};

/// Exactly what the browser sends; every field optional so that a missing one becomes a message
/// beside its field rather than a bare 400.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawBookingForm {
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub start: String,
    /// The day tab that was open (the picker's own control; not part of the booking).
    #[serde(default)]
    pub day: String,
    pub sms_consent: Option<String>,
    #[serde(default)]
    pub move_date: String,
    #[serde(default)]
    pub bedrooms: String,
    #[serde(default)]
    pub message: String,
    pub csrf_token: Option<String>,
    /// The form's key, as [`issue`] gave it to this session with the form.
    #[serde(default)]
    pub idempotency_key: String,
    /// The honeypot: people never see it, bots fill it.
    #[serde(default)]
    pub website: String,
}

/// Values to put back into the form, as typed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FormValues {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub start: String,
    /// The day the renter had open, as posted: shown open again when no time was chosen.
    pub day: String,
    pub sms_consent: bool,
    pub move_date: String,
    pub bedrooms: String,
    pub message: String,
}

impl FormValues {
    /// Nothing typed or chosen: the form as a first view shows it.
    pub fn is_blank(&self) -> bool {
        *self == Self::default()
    }
}

impl From<&RawBookingForm> for FormValues {
    fn from(r: &RawBookingForm) -> Self {
        Self {
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
            start: r.start.clone(),
            day: r.day.clone(),
            sms_consent: r.sms_consent.is_some(),
            move_date: r.move_date.clone(),
            bedrooms: r.bedrooms.clone(),
            message: r.message.clone(),
        }
    }
}

/// Field name → message, in form order.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| *f == field)
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn list(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

pub struct ParsedBooking {
    pub renter: Renter,
    pub slot: Slot,
}

pub fn parse(raw: &RawBookingForm, today: NaiveDate) -> Result<ParsedBooking, FieldErrors> {
    let mut errors = FieldErrors::default();
    let slot = Slot::parse(&raw.start);
    if slot.is_none() {
        errors.add("start", "Choose a tour time.");
    }
    let first_name = PersonName::parse(&raw.first_name)
        .map_err(|e| errors.add("first_name", name_error(e, "first name")))
        .ok();
    let last_name = PersonName::parse(&raw.last_name)
        .map_err(|e| errors.add("last_name", name_error(e, "last name")))
        .ok();
    let email = Email::parse(&raw.email)
        .map_err(|e| errors.add("email", e.to_string()))
        .ok();
    let phone = Phone::parse(&raw.phone)
        .map_err(|e| errors.add("phone", e.to_string()))
        .ok();
    let move_date = if raw.move_date.trim().is_empty() {
        Some(None)
    } else {
        MoveDate::parse(raw.move_date.trim(), today)
            .map(|d| Some(d.date()))
            .map_err(|e| errors.add("move_date", e.to_string()))
            .ok()
    };
    let bedrooms = match raw.bedrooms.trim() {
        "" => Some(None),
        b => match Bedrooms::parse(b) {
            Some(b) => Some(Some(b)),
            None => {
                errors.add("bedrooms", "Choose a number of bedrooms from the list.");
                None
            }
        },
    };
    let message = Message::parse(&raw.message)
        .map_err(|e| errors.add("message", e.to_string()))
        .ok();
    match (
        slot, first_name, last_name, email, phone, move_date, bedrooms, message,
    ) {
        (
            Some(slot),
            Some(first_name),
            Some(last_name),
            Some(email),
            Some(phone),
            Some(move_date),
            Some(bedrooms),
            Some(message),
        ) if errors.is_empty() => Ok(ParsedBooking {
            renter: Renter {
                first_name,
                last_name,
                email,
                phone,
                sms_consent: raw.sms_consent.is_some(),
                move_date,
                bedrooms,
                message: message.map(|m| m.as_str().to_string()),
            },
            slot,
        }),
        _ => Err(errors),
    }
}

/// A plain sentence naming the field once, as the summary at the top lists it without its label.
fn name_error(e: PersonNameError, which: &str) -> String {
    match e {
        PersonNameError::Empty => format!("Enter your {which}."),
        PersonNameError::TooLong => format!("Use at most 80 characters for your {which}."),
        PersonNameError::ForbiddenCharacter => {
            format!("Remove the special characters from your {which}.")
        }
    }
}

/// The forms this session was shown lately, newest last (in the encrypted session cookie).
const ISSUED: &str = "booking_forms";
/// The session's own secret, never shown: a form's key is stored bound to it.
const SECRET: &str = "booking_secret";
/// Forms remembered per session: enough for a few tabs and pages shown again.
const KEEP: usize = 6;
/// Longer than any key we issue; bounds the work on what a client sends.
const MAX_KEY: usize = 128;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IssuedForm {
    key: String,
    community: String,
    /// When the renter was first shown this form (milliseconds since the epoch).
    shown_ms: i64,
}

fn issued_forms(session: &Session) -> Vec<IssuedForm> {
    session
        .get::<Vec<IssuedForm>>(ISSUED)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// A fresh key for a form of `community` shown to this session, the renter having been on
/// it since `shown_at` (now, or the first showing when the form comes back after a post).
pub fn issue(
    session: &Session,
    community: &str,
    shown_at: DateTime<Utc>,
) -> Result<String, WebError> {
    ensure_secret(session)?;
    let key = csrf::random_token();
    let mut forms = issued_forms(session);
    forms.push(IssuedForm {
        key: key.clone(),
        community: community.to_string(),
        shown_ms: shown_at.timestamp_millis(),
    });
    let drop = forms.len().saturating_sub(KEEP);
    forms.drain(..drop);
    session
        .insert(ISSUED, forms)
        .map_err(|e| WebError::internal("session", e))?;
    Ok(key)
}

/// The key for a plain page view: the newest one this session holds for `community` and has
/// not posted yet (the session, and so its cookie, unchanged), else a fresh one shown `now`.
/// A key is forgotten when posted ([`forget`]), so a key given again never made a booking.
pub fn for_view(
    session: &Session,
    community: &str,
    now: DateTime<Utc>,
) -> Result<String, WebError> {
    if session.get::<String>(SECRET).ok().flatten().is_some() {
        if let Some(f) = issued_forms(session)
            .into_iter()
            .rev()
            .find(|f| f.community == community)
        {
            return Ok(f.key);
        }
    }
    issue(session, community, now)
}

/// Forgets a posted key: the form shown again gets a fresh one. A resubmission of the key
/// still finds the booking it made by its session-bound key.
pub fn forget(session: &Session, community: &str, key: &str) -> Result<(), WebError> {
    let mut forms = issued_forms(session);
    let before = forms.len();
    forms.retain(|f| !(f.community == community && f.key == key));
    if forms.len() != before {
        session
            .insert(ISSUED, forms)
            .map_err(|e| WebError::internal("session", e))?;
    }
    Ok(())
}

fn ensure_secret(session: &Session) -> Result<(), WebError> {
    if session.get::<String>(SECRET).ok().flatten().is_none() {
        session
            .insert(SECRET, csrf::random_token())
            .map_err(|e| WebError::internal("session", e))?;
    }
    Ok(())
}

/// When the form with `key` was shown to this session, if this session was issued it for
/// `community`.
pub fn shown_at(session: &Session, community: &str, key: &str) -> Option<DateTime<Utc>> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    issued_forms(session)
        .into_iter()
        .find(|f| f.community == community && bool::from(f.key.as_bytes().ct_eq(key.as_bytes())))
        .and_then(|f| DateTime::from_timestamp_millis(f.shown_ms))
}

/// The key as bookings store it: bound to this session (an HMAC under the session's own
/// secret) and to the community, so that the same key posted by another session finds
/// nothing. None when the session has no secret (it was never shown a form) or the key is
/// unusable.
pub fn bound_key(session: &Session, community: &str, key: &str) -> Option<String> {
    if key.is_empty() || key.len() > MAX_KEY {
        return None;
    }
    let secret = session.get::<String>(SECRET).ok().flatten()?;
    let msg = format!("tourgate form key v1\0{community}\0{key}");
    Some(format!(
        "s1-{}",
        hex::encode(hmac_sha256::HMAC::mac(msg.as_bytes(), secret.as_bytes()))
    ))
}
