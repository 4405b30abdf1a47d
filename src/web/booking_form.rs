//! The booking form: raw fields in, domain types or per-field messages out.
use chrono::NaiveDate;
use serde::Deserialize;

use crate::booking::slots::Slot;
use crate::booking::Renter;
use crate::domain::{Bedrooms, Email, Message, MoveDate, PersonName, Phone};

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
    pub sms_consent: Option<String>,
    #[serde(default)]
    pub move_date: String,
    #[serde(default)]
    pub bedrooms: String,
    #[serde(default)]
    pub message: String,
    pub csrf_token: Option<String>,
    #[serde(default)]
    pub idempotency_key: String,
    /// The honeypot: people never see it, bots fill it.
    #[serde(default)]
    pub website: String,
}

/// Values to put back into the form, as typed.
#[derive(Debug, Default, Clone)]
pub struct FormValues {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub start: String,
    pub sms_consent: bool,
    pub move_date: String,
    pub bedrooms: String,
    pub message: String,
}

impl From<&RawBookingForm> for FormValues {
    fn from(r: &RawBookingForm) -> Self {
        Self {
            first_name: r.first_name.clone(),
            last_name: r.last_name.clone(),
            email: r.email.clone(),
            phone: r.phone.clone(),
            start: r.start.clone(),
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
    pub idempotency_key: String,
}

pub fn parse(raw: &RawBookingForm, today: NaiveDate) -> Result<ParsedBooking, FieldErrors> {
    let mut errors = FieldErrors::default();
    let slot = Slot::parse(&raw.start);
    if slot.is_none() {
        errors.add("start", "Choose a tour time.");
    }
    let first_name = PersonName::parse(&raw.first_name)
        .map_err(|e| errors.add("first_name", format!("First name: {e}")))
        .ok();
    let last_name = PersonName::parse(&raw.last_name)
        .map_err(|e| errors.add("last_name", format!("Last name: {e}")))
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
    let key_ok = (16..=128).contains(&raw.idempotency_key.len())
        && raw
            .idempotency_key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !key_ok && errors.is_empty() {
        errors.add(
            "start",
            "This form is out of date. Please choose your time again.",
        );
    }
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
            idempotency_key: raw.idempotency_key.clone(),
        }),
        _ => Err(errors),
    }
}
