//! Booking a tour: the request is on disk before Knock hears of it, and every way the call can
//! end leaves the booking in a state that says what happened.
//!
//! Knock being down is handled by a short retry inside the request and, failing that, a
//! `requesting` booking that the background worker finishes (README: "When Knock is down").
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::model::{Booking, BookingId, NewBooking, Renter};
use super::slots::Slot;
use crate::config::Community;
use crate::domain::{BookingToken, SourceTitle};
use crate::knock::types::{AppointmentRequest, Profile, ProspectRequest, RequestedTime, TourType};
use crate::knock::{KnockClient, KnockError};
use crate::store::{InsertOutcome, Store, StoreError};

/// The consent the renter sees next to the SMS checkbox, also sent to Knock with the request.
pub const SMS_CONSENT_TEXT: &str = "Text me about this tour (confirmation and a reminder). \
Message and data rates may apply. Reply STOP to opt out.";

/// Attempts made inside the renter's request before the worker takes over.
const IN_REQUEST_ATTEMPTS: u32 = 2;
/// A booking still unconfirmed this close to its start is given up: the renter is told.
const GIVE_UP_BEFORE_START: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Clone)]
pub struct BookingService {
    pub(super) store: Store,
    pub(super) knock: KnockClient,
}

#[derive(Debug)]
pub enum BookOutcome {
    /// Knock confirmed the appointment.
    Confirmed(Booking),
    /// Knock could not be reached in time; the worker will finish it.
    Pending(Booking),
    /// The same form again: the booking it made.
    AlreadySubmitted(Booking),
    /// The slot is no longer offered (or was just taken): the renter picks another.
    SlotUnavailable,
    /// Knock refused the request for good.
    Refused(Booking),
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("Knock could not be reached for available times: {0}")]
    KnockUnavailable(KnockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one attempt at Knock came to.
enum Attempt {
    Confirmed,
    Refused,
    Retry {
        after: Option<Duration>,
        why: String,
    },
}

impl BookingService {
    pub fn new(store: Store, knock: KnockClient) -> Self {
        Self { store, knock }
    }

    /// Knock's current self-guided starts for the community, less those our own live bookings
    /// hold (Knock may not have heard of a request that is still on its way).
    pub async fn available_slots(&self, community: &Community) -> Result<Vec<Slot>, BookError> {
        let times = self
            .knock
            .available_times(&community.knock_community_id, true)
            .await
            .map_err(BookError::KnockUnavailable)?;
        let held = self.store.held_slots(&community.slug, Utc::now()).await?;
        Ok(times
            .into_iter()
            .map(Slot::from_knock)
            .filter(|s| !held.contains(&s.utc()))
            .collect())
    }

    pub async fn book(
        &self,
        community: &Community,
        renter: Renter,
        source_title: SourceTitle,
        slot: Slot,
        idempotency_key: String,
    ) -> Result<BookOutcome, BookError> {
        // A resubmitted form is answered before anything else: its slot is ours already.
        if let Some(existing) = self
            .store
            .booking_by_idempotency_key(&idempotency_key)
            .await?
        {
            return Ok(BookOutcome::AlreadySubmitted(existing));
        }
        let offered = self.available_slots(community).await?;
        if !offered.iter().any(|s| s.start == slot.start) {
            // The twin of a double tap may have taken the slot a moment ago: same booking.
            if let Some(existing) = self
                .store
                .booking_by_idempotency_key(&idempotency_key)
                .await?
            {
                return Ok(BookOutcome::AlreadySubmitted(existing));
            }
            return Ok(BookOutcome::SlotUnavailable);
        }
        let now = Utc::now();
        let new = NewBooking {
            id: BookingId::generate(),
            token: BookingToken::generate(),
            idempotency_key,
            community_slug: community.slug.clone(),
            renter,
            source_title,
            slot_end: slot.utc() + chrono::Duration::minutes(i64::from(community.tour_minutes)),
            slot_start: slot.utc(),
            slot_start_knock: slot.value.clone(),
            created_at: now,
        };
        match self.store.insert_booking(&new).await? {
            InsertOutcome::Inserted => {}
            InsertOutcome::AlreadySubmitted(b) => return Ok(BookOutcome::AlreadySubmitted(*b)),
            InsertOutcome::SlotTaken => return Ok(BookOutcome::SlotUnavailable),
        }
        let mut last_retry = None;
        for attempt in 1..=IN_REQUEST_ATTEMPTS {
            let booking = self.reload(&new.id).await?;
            match self.attempt(community, &booking).await? {
                Attempt::Confirmed => {
                    return Ok(BookOutcome::Confirmed(self.reload(&new.id).await?))
                }
                Attempt::Refused => return Ok(BookOutcome::Refused(self.reload(&new.id).await?)),
                Attempt::Retry { after, why } => {
                    tracing::warn!(booking = %new.id, attempt, %why, "Knock did not confirm yet");
                    if attempt < IN_REQUEST_ATTEMPTS {
                        // Short: the renter is waiting. Longer waits belong to the worker.
                        let pause = after
                            .unwrap_or(Duration::from_millis(300))
                            .min(Duration::from_secs(1));
                        tokio::time::sleep(pause).await;
                    }
                    last_retry = Some((after, why));
                }
            }
        }
        let (after, why) = last_retry.unwrap_or((None, String::new()));
        self.store
            .schedule_knock_retry(&new.id, Utc::now() + backoff(1, after), &why, Utc::now())
            .await?;
        Ok(BookOutcome::Pending(self.reload(&new.id).await?))
    }

    /// One pass of the background worker: finishes due `requesting` bookings. Returns how many
    /// it settled or rescheduled.
    /// `now` is a parameter so that tests can drive the worker past a backoff without waiting.
    pub async fn finish_pending(
        &self,
        communities: &crate::config::Communities,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let claimed = self
            .store
            .claim_due_requests(now, now + chrono::Duration::seconds(30), 20)
            .await?;
        let n = claimed.len();
        for booking in claimed {
            let Some(community) = communities.get(&booking.community_slug) else {
                self.store
                    .fail_booking(&booking.id, "community no longer configured", Utc::now())
                    .await?;
                continue;
            };
            if booking.slot_start - GIVE_UP_BEFORE_START <= now {
                self.store
                    .fail_booking(
                        &booking.id,
                        "Knock could not be reached before the tour",
                        Utc::now(),
                    )
                    .await?;
                continue;
            }
            if let Attempt::Retry { after, why } = self.attempt(community, &booking).await? {
                let next = Utc::now() + backoff(booking.knock_attempts + 1, after);
                self.store
                    .schedule_knock_retry(&booking.id, next, &why, Utc::now())
                    .await?;
            }
        }
        Ok(n)
    }

    async fn reload(&self, id: &BookingId) -> Result<Booking, StoreError> {
        self.store
            .booking_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("booking {id} vanished")))
    }

    /// Prospect first (its id is kept: the visit needs it), then the appointment.
    async fn attempt(&self, community: &Community, b: &Booking) -> Result<Attempt, StoreError> {
        let prospect_id = match &b.knock_prospect_id {
            Some(id) => id.clone(),
            None => match self
                .knock
                .create_prospect(&prospect_request(community, b))
                .await
            {
                Ok(id) => {
                    self.store
                        .set_prospect_id(&b.id, id.as_str(), Utc::now())
                        .await?;
                    id.as_str().to_string()
                }
                Err(e) => return self.settle_error(b, "creating the prospect", e).await,
            },
        };
        tracing::debug!(booking = %b.id, prospect = %prospect_id, "requesting the appointment");
        match self
            .knock
            .request_appointment(&appointment_request(community, b))
            .await
        {
            Ok(appointment) => {
                let now = Utc::now();
                let mails = crate::mail::schedule::on_confirm(community, b.slot_start, now);
                self.store
                    .confirm_booking(&b.id, appointment.id.as_str(), &mails, now)
                    .await?;
                tracing::info!(booking = %b.id, appointment = %appointment.id, "Knock confirmed the tour");
                Ok(Attempt::Confirmed)
            }
            Err(e) => self.settle_error(b, "requesting the appointment", e).await,
        }
    }

    async fn settle_error(
        &self,
        b: &Booking,
        doing: &str,
        e: KnockError,
    ) -> Result<Attempt, StoreError> {
        if e.is_retryable() || matches!(e, KnockError::Contract { .. }) {
            return Ok(Attempt::Retry {
                after: e.retry_after(),
                why: format!("{doing}: {e}"),
            });
        }
        tracing::warn!(booking = %b.id, error = %e, "Knock refused the booking");
        self.store
            .fail_booking(&b.id, &format!("Knock refused {doing}: {e}"), Utc::now())
            .await?;
        Ok(Attempt::Refused)
    }
}

/// Exponential backoff with full jitter, from about a second up to five minutes; Knock's
/// Retry-After wins when it asks for longer.
fn backoff(attempt: i32, retry_after: Option<Duration>) -> chrono::Duration {
    use rand::Rng;
    let cap_ms = (1000u64 << attempt.clamp(0, 9) as u32).min(300_000);
    let jittered = rand::thread_rng().gen_range(cap_ms / 2..=cap_ms);
    let ms = retry_after
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
        .max(jittered);
    chrono::Duration::milliseconds(ms as i64)
}

fn prospect_request(community: &Community, b: &Booking) -> ProspectRequest {
    ProspectRequest {
        community_id: community.knock_community_id.clone(),
        source_title: b.source_title.clone(),
        first_name: b.first_name.clone(),
        last_name: b.last_name.clone(),
        email: Some(b.email.clone()),
        phone: Some(knock_phone(&b.phone)),
        move_date: b.move_date,
        bedrooms: b.bedrooms.map(|x| vec![x]),
        message: b.message.clone(),
        sms_consent: Some(b.sms_consent),
        sms_consent_disclaimer: b.sms_consent.then(|| SMS_CONSENT_TEXT.to_string()),
        autorespond: Some(community.knock_autorespond),
        ..Default::default()
    }
}

pub(super) fn appointment_request(community: &Community, b: &Booking) -> AppointmentRequest {
    // Sent back exactly as Knock offered it; the end keeps the start's offset.
    let start = DateTime::parse_from_rfc3339(&b.slot_start_knock)
        .unwrap_or_else(|_| b.slot_start.fixed_offset());
    let end = start + chrono::Duration::minutes(i64::from(community.tour_minutes));
    AppointmentRequest {
        community_id: community.knock_community_id.clone(),
        requested_times: vec![RequestedTime {
            start_time: start,
            end_time: Some(end),
        }],
        tour_type: TourType::SelfGuided,
        source_title: Some(b.source_title.clone()),
        sms_consent: b.sms_consent,
        sms_consent_disclaimer: b.sms_consent.then(|| SMS_CONSENT_TEXT.to_string()),
        profile: Profile {
            first_name: b.first_name.clone(),
            last_name: b.last_name.clone(),
            email: Some(b.email.clone()),
            phone: Some(knock_phone(&b.phone)),
            move_date: b.move_date,
            bedrooms: b.bedrooms.map(|x| vec![x]),
            ..Default::default()
        },
    }
}

/// Knock's examples send digits only: the national number for +1, else the E.164 digits.
fn knock_phone(e164: &str) -> String {
    let digits: String = e164.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix('1') {
        Some(national) if e164.starts_with("+1") && national.len() == 10 => national.to_string(),
        _ => digits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_go_to_knock_as_digits() {
        assert_eq!(knock_phone("+12065550155"), "2065550155");
        assert_eq!(knock_phone("+442079460958"), "442079460958");
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        for _ in 0..50 {
            let first = backoff(1, None).num_milliseconds();
            assert!((1000..=2000).contains(&first), "{first}");
            assert!(backoff(30, None).num_milliseconds() <= 300_000);
            assert!(backoff(1, Some(Duration::from_secs(20))).num_milliseconds() >= 20_000);
        }
    }
}
