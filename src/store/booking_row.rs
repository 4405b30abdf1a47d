//! A booking as stored, and its parse into the domain's `Booking` (every field checked again).
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;
use crate::domain::{
    Bedrooms, Booking, BookingId, BookingState, BookingToken, Email, PersonName, Phone, Review,
    Slot, SourceTitle,
};

#[derive(sqlx::FromRow)]
pub(super) struct BookingRow {
    id: String,
    token: String,
    community_slug: String,
    state: String,
    first_name: String,
    last_name: String,
    email: String,
    phone: String,
    sms_consent: bool,
    move_date: Option<NaiveDate>,
    bedrooms: Option<String>,
    message: Option<String>,
    source_title: String,
    slot_start: DateTime<Utc>,
    slot_start_knock: String,
    slot_end: DateTime<Utc>,
    knock_prospect_id: Option<String>,
    knock_appointment_id: Option<String>,
    failure: Option<String>,
    knock_attempts: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    first_access_at: Option<DateTime<Utc>>,
    knock_uncertain: bool,
    review: Option<String>,
    review_detail: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;

    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("booking {}: {what}", r.id));
        // Knock's string is the slot; the instant column (kept for range queries, at the
        // backend's precision: microseconds on PostgreSQL) must agree with it.
        let slot = Slot::parse(&r.slot_start_knock)
            .filter(|s| (s.utc() - r.slot_start).abs() < chrono::Duration::milliseconds(1))
            .ok_or_else(|| corrupt("slot"))?;
        Ok(Booking {
            id: BookingId::parse(&r.id).ok_or_else(|| corrupt("id"))?,
            token: BookingToken::parse(&r.token).map_err(|_| corrupt("token"))?,
            state: BookingState::parse(&r.state).ok_or_else(|| corrupt("state"))?,
            bedrooms: match &r.bedrooms {
                Some(b) => Some(Bedrooms::parse(b).ok_or_else(|| corrupt("bedrooms"))?),
                None => None,
            },
            first_name: PersonName::parse(&r.first_name).map_err(|_| corrupt("first name"))?,
            last_name: PersonName::parse(&r.last_name).map_err(|_| corrupt("last name"))?,
            email: Email::parse(&r.email).map_err(|_| corrupt("e-mail"))?,
            phone: Phone::from_stored(&r.phone).map_err(|_| corrupt("phone"))?,
            source_title: SourceTitle::parse(&r.source_title)
                .map_err(|_| corrupt("source title"))?,
            slot,
            community_slug: r.community_slug,
            sms_consent: r.sms_consent,
            move_date: r.move_date,
            message: r.message,
            slot_end: r.slot_end,
            knock_prospect_id: r.knock_prospect_id,
            knock_appointment_id: r.knock_appointment_id,
            failure: r.failure,
            knock_attempts: r.knock_attempts,
            next_attempt_at: r.next_attempt_at,
            first_access_at: r.first_access_at,
            knock_uncertain: r.knock_uncertain,
            review: match &r.review {
                Some(v) => Some(Review::parse(v).ok_or_else(|| corrupt("review"))?),
                None => None,
            },
            review_detail: r.review_detail,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

pub(super) const COLUMNS: &str =
    "id, token, community_slug, state, first_name, last_name, email, phone, \
    sms_consent, move_date, bedrooms, message, source_title, slot_start, slot_start_knock, \
    slot_end, knock_prospect_id, knock_appointment_id, failure, knock_attempts, \
    next_attempt_at, first_access_at, knock_uncertain, review, review_detail, created_at, \
    updated_at";
