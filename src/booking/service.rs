//! Booking a tour: the request is on disk before Knock hears of it, and every way the call can
//! end leaves the booking in a state that says what happened.
//!
//! Knock being down is handled by a short retry inside the request and, failing that, a
//! `requesting` booking that the background worker finishes (README: "When Knock is down").
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::availability::{AvailabilityCache, Offer};
use super::lookup::{look_for_request, Lookup};
use super::queue::queue_knock_cancel;
use super::renter::{queue_manage_link, stands_in_the_way};
use super::slots::{Day, Slot};
use crate::access::{Access, AccessError, AccessGrant};
use crate::config::Community;
use crate::domain::job::DedupeKey;
use crate::domain::Review;
use crate::domain::{
    country_of_zone, Booking, BookingId, BookingState, BookingToken, NewBooking, Phone, Renter,
    SourceTitle,
};
use crate::knock::types::{
    AppointmentRequest, AppointmentStatus, Profile, ProspectRequest, RequestedTime, TourType,
};
use crate::knock::{KnockClient, KnockError};
use crate::mail::QueuedMail;
use crate::outbox::retry::backoff_capped;
use crate::outbox::{EmailJob, Job};
use crate::store::{BookingChange, ClientAllowance, InsertOutcome, Store, StoreError};

/// The consent the renter sees next to the SMS checkbox, also sent to Knock with the request.
pub const SMS_CONSENT_TEXT: &str = "Text me about this tour (confirmation and a reminder). \
Message and data rates may apply. Reply STOP to opt out.";

/// The window of the per-client booking limit (`TOURGATE_BOOKINGS_PER_HOUR`).
pub const BOOKING_LIMIT_WINDOW: Duration = Duration::from_secs(60 * 60);

/// Bookings one client may make per [`BOOKING_LIMIT_WINDOW`], counted by its rate key (its
/// address; an IPv6 client by its /64) across every `serve` process sharing the database.
#[derive(Debug, Clone)]
pub struct ClientLimit {
    pub client: String,
    pub per_window: u32,
}

/// Attempts made inside the renter's request before the worker takes over.
const IN_REQUEST_ATTEMPTS: u32 = 2;
/// A booking still unconfirmed this close to its start is given up: the renter is told.
const GIVE_UP_BEFORE_START: chrono::Duration = chrono::Duration::minutes(10);
/// A booking still waiting for Knock is retried at least this often: its tour is near.
const MAX_BOOKING_BACKOFF: Duration = Duration::from_secs(300);
/// Knock calls in one attempt at most: the prospect, a look at its events (after a lost
/// answer), the appointment, and a second look (after a refusal).
const CALLS_PER_ATTEMPT: u32 = 4;

#[derive(Clone)]
pub struct BookingService {
    pub(super) store: Store,
    pub(super) knock: KnockClient,
    /// The most one Knock call may take (the client's time-out): bounds every hold.
    knock_timeout: Duration,
    pub(super) access: Access,
    /// Knock's available times per community, in memory for a short while.
    pub(super) availability: AvailabilityCache,
}

/// The days to show: the cached answer, with no slot a live booking holds.
pub struct OfferedDays(std::sync::Arc<Offer>);

impl OfferedDays {
    pub fn days(&self) -> &[Arc<Day>] {
        &self.0.days
    }

    /// The answer the days come from, shared by every page view until it changes (its
    /// picker is rendered once).
    pub fn shared(&self) -> &Offer {
        &self.0
    }
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
    /// The renter (by this e-mail or phone) has a tour booked at this community already:
    /// nothing was written or sent to Knock, and the link to that booking was e-mailed to
    /// its own address. Carries nothing about it: whoever posted may not be the renter.
    AlreadyBooked,
    /// This client made its bookings for the window already: nothing was written or sent to
    /// Knock. `retry_after`: when the oldest of them leaves the window.
    Limited { retry_after: Duration },
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
    /// The request waits for staff (Knock holds it without telling us its id, or the leasing
    /// office reviews it): the renter sees it being confirmed.
    Review,
    Retry {
        after: Option<Duration>,
        why: String,
        /// Knock may have acted on this try (its answer was lost).
        uncertain: bool,
    },
}

impl BookingService {
    /// `fresh`, `stale`: how long Knock's available times are served from memory, and how
    /// long the last good ones while Knock fails (`booking::availability`).
    pub fn new(
        store: Store,
        knock: KnockClient,
        knock_timeout: Duration,
        access: Access,
        (fresh, stale): (Duration, Duration),
    ) -> Self {
        Self {
            availability: AvailabilityCache::new(knock.clone(), fresh, stale),
            store,
            knock,
            knock_timeout,
            access,
        }
    }

    /// The cache of Knock's available times (tests move its clock).
    pub fn availability(&self) -> &AvailabilityCache {
        &self.availability
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Since when Knock has refused our API key (401/403), if it does now.
    pub fn knock_refused_since(&self) -> Option<DateTime<Utc>> {
        self.knock.auth_refused_since()
    }

    /// For readiness: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// The booking behind a renter's link.
    pub async fn by_token(&self, token: &BookingToken) -> Result<Option<Booking>, StoreError> {
        self.store.booking_by_token(token).await
    }

    /// The booking a form made, by its session-bound key (a resubmission).
    pub async fn by_submission(&self, bound_key: &str) -> Result<Option<Booking>, StoreError> {
        self.store.booking_by_idempotency_key(bound_key).await
    }

    pub async fn by_id(&self, id: &BookingId) -> Result<Option<Booking>, StoreError> {
        self.store.booking_by_id(id).await
    }

    /// The live booking a code entered at `c`'s keypad opens now, if any (the demo lock).
    pub async fn booking_for_code(
        &self,
        c: &Community,
        code: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Booking>, StoreError> {
        let keypad = self.access.keypad();
        // Windows reach the community's early access before a tour of at most four hours,
        // and a day after it.
        let nearby = self
            .store
            .bookings_between(
                std::slice::from_ref(&c.slug),
                now - chrono::Duration::days(2),
                now + c.access.reach() + chrono::Duration::days(1),
            )
            .await?;
        Ok(keypad.open(c, &nearby, code, now).cloned())
    }

    /// The access provider this deployment uses.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// The renter's access for a live booking (the door code), or why there is none to show:
    /// not live, the lock does not have the code yet, or the provider cannot say (logged).
    pub async fn access_grant(
        &self,
        community: &Community,
        b: &Booking,
    ) -> Result<AccessGrant, AccessError> {
        if !b.state.is_live() {
            return Err(AccessError::NotReady(b.state.as_str().into()));
        }
        let grant = self.access.grant(community, b).await;
        match &grant {
            Ok(_) => {}
            Err(AccessError::NotReady(state)) => {
                tracing::debug!(booking = %b.id, state, "the lock does not have the code yet");
            }
            Err(e) => {
                tracing::error!(booking = %b.id, provider = self.access.name_for(community),
                    error = %e, "the access provider could not say");
            }
        }
        grant
    }

    /// How long one attempt may take at most; a hold or lease covers this and a margin, so
    /// that no second attempt starts while the first may still reach Knock.
    fn attempt_budget(&self) -> chrono::Duration {
        let calls = self.knock_timeout.saturating_mul(CALLS_PER_ATTEMPT);
        chrono::Duration::from_std(calls + Duration::from_secs(5))
            .unwrap_or(chrono::Duration::minutes(1))
    }

    /// How long a change (reschedule, cancel) holds its booking: one attempt's Knock calls
    /// (the fresh times, then the request) and a margin, so that a hold outlives the calls it
    /// covers and a dead process's hold runs out soon after.
    pub(super) fn change_hold(&self) -> chrono::Duration {
        self.attempt_budget()
    }

    /// The renter's own request holds its booking this long: its attempts, the pause between
    /// them, and a margin. The worker takes the booking only after that.
    fn request_hold(&self) -> chrono::Duration {
        self.attempt_budget() * IN_REQUEST_ATTEMPTS as i32 + chrono::Duration::seconds(1)
    }

    /// Knock's current self-guided starts for the community, less those our own live bookings
    /// hold (Knock may not have heard of a request that is still on its way). Fresh: at most
    /// `availability::FRESH_FOR_BOOKING` old, for deciding whether a time may be booked.
    pub async fn available_slots(&self, community: &Community) -> Result<Vec<Slot>, BookError> {
        let offer = self
            .availability
            .fresh(community)
            .await
            .map_err(BookError::KnockUnavailable)?;
        self.unheld_slots(community, &offer).await
    }

    /// As [`Self::available_slots`], for showing: possibly from memory (within the fresh time,
    /// or the stale time while Knock fails).
    pub async fn offered_slots(&self, community: &Community) -> Result<Vec<Slot>, BookError> {
        let offer = self
            .availability
            .for_page(community)
            .await
            .map_err(BookError::KnockUnavailable)?;
        self.unheld_slots(community, &offer).await
    }

    /// The landing page's days: those prepared with the cached answer, less any slot a live
    /// booking (of any process) holds.
    pub async fn offered_days(&self, community: &Community) -> Result<OfferedDays, BookError> {
        let offer = self
            .availability
            .for_page(community)
            .await
            .map_err(BookError::KnockUnavailable)?;
        let held = self.availability.held(community, &self.store).await?;
        Ok(OfferedDays(
            self.availability.without_held(community, &offer, &held),
        ))
    }

    async fn unheld_slots(
        &self,
        community: &Community,
        offer: &Offer,
    ) -> Result<Vec<Slot>, BookError> {
        let held = self.store.held_slots(&community.slug, Utc::now()).await?;
        Ok(offer
            .slots()
            .filter(|s| !held.contains(s.utc()))
            .cloned()
            .collect())
    }

    pub async fn book(
        &self,
        community: &Community,
        renter: Renter,
        source_title: SourceTitle,
        slot: Slot,
        idempotency_key: String,
        limit: &ClientLimit,
    ) -> Result<BookOutcome, BookError> {
        // With Knock's fresh answer in memory, the common case is one transaction: it answers
        // a resubmission, takes the client's allowance and refuses a renter's second tour or a
        // held slot (the unique indexes). Where Knock would have to be asked for times, those
        // checks come first, so that a turned-away post asks Knock nothing at all.
        let fresh = match self.availability.fresh_in_memory(community) {
            Some(offer) => offer,
            None => {
                if let Some(refusal) = self
                    .turned_away(community, &renter, &idempotency_key, limit)
                    .await?
                {
                    return Ok(refusal);
                }
                self.availability
                    .fresh(community)
                    .await
                    .map_err(BookError::KnockUnavailable)?
            }
        };
        if !fresh.offers(slot.utc()) {
            return Ok(self
                .turned_away(community, &renter, &idempotency_key, limit)
                .await?
                .unwrap_or(BookOutcome::SlotUnavailable));
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
            slot,
            created_at: now,
        };
        let held_until = now + self.request_hold();
        let allowance = ClientAllowance {
            client: &limit.client,
            per_window: limit.per_window,
            since: now - limit_window(),
        };
        let mut written = Some(
            match self
                .store
                .insert_booking_within(&new, held_until, Some(&allowance))
                .await?
            {
                // Not offered again by this process from now on (other processes: the held filter).
                InsertOutcome::Inserted(b) => {
                    self.availability.taken(community, new.slot.utc());
                    b
                }
                InsertOutcome::AlreadySubmitted(b) => return Ok(BookOutcome::AlreadySubmitted(*b)),
                InsertOutcome::SlotTaken => return Ok(BookOutcome::SlotUnavailable),
                // A racing request of the same renter got in first.
                InsertOutcome::RenterHasLiveBooking(b) => return self.already_booked(&b).await,
                InsertOutcome::ClientLimited => return self.limited(limit, Utc::now()).await,
            },
        );
        let mut last_retry = None;
        for attempt in 1..=IN_REQUEST_ATTEMPTS {
            // The first try works from the row as written; a retry reads it again.
            let booking = match written.take() {
                Some(b) => *b,
                None => self.reload(&new.id).await?,
            };
            match self.attempt(community, &booking).await? {
                Attempt::Confirmed => {
                    return Ok(BookOutcome::Confirmed(self.reload(&new.id).await?))
                }
                Attempt::Refused => return Ok(BookOutcome::Refused(self.reload(&new.id).await?)),
                Attempt::Review => return Ok(BookOutcome::Pending(self.reload(&new.id).await?)),
                Attempt::Retry {
                    after,
                    why,
                    uncertain,
                } => {
                    tracing::warn!(booking = %new.id, attempt, %why, "Knock did not confirm yet");
                    if uncertain {
                        // On record before the next try, which looks at Knock first.
                        self.store.mark_knock_uncertain(&new.id, Utc::now()).await?;
                    }
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
        let next = Utc::now() + backoff(1, after, &mut rand::thread_rng());
        self.store
            .schedule_knock_retry(&new.id, next, false, &why, Utc::now())
            .await?;
        Ok(BookOutcome::Pending(self.reload(&new.id).await?))
    }

    /// Why a post is answered without booking, checked before Knock is asked anything: a
    /// resubmitted form is the booking it made; a client out of allowance waits; a renter with
    /// a tour here hears of it (its link by e-mail). None: nothing stands in the way.
    async fn turned_away(
        &self,
        community: &Community,
        renter: &Renter,
        idempotency_key: &str,
        limit: &ClientLimit,
    ) -> Result<Option<BookOutcome>, BookError> {
        if let Some(existing) = self
            .store
            .booking_by_idempotency_key(idempotency_key)
            .await?
        {
            return Ok(Some(BookOutcome::AlreadySubmitted(existing)));
        }
        let (made, _) = self
            .store
            .client_bookings_since(&limit.client, Utc::now() - limit_window())
            .await?;
        if made >= i64::from(limit.per_window) {
            return Ok(Some(self.limited(limit, Utc::now()).await?));
        }
        if let Some(existing) = self
            .store
            .renter_live_booking(&community.slug, &renter.email, &renter.phone)
            .await?
        {
            if stands_in_the_way(&existing, renter) {
                // The twin of a double tap may have written it a moment ago: same booking.
                if let Some(twin) = self
                    .store
                    .booking_by_idempotency_key(idempotency_key)
                    .await?
                {
                    return Ok(Some(BookOutcome::AlreadySubmitted(twin)));
                }
                return Ok(Some(self.already_booked(&existing).await?));
            }
        }
        Ok(None)
    }

    /// The client's bookings for the window are made: when it may book again.
    async fn limited(
        &self,
        limit: &ClientLimit,
        now: DateTime<Utc>,
    ) -> Result<BookOutcome, BookError> {
        let window = limit_window();
        let (made, oldest) = self
            .store
            .client_bookings_since(&limit.client, now - window)
            .await?;
        let retry_after = oldest
            .map(|t| (t + window - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(BOOKING_LIMIT_WINDOW)
            .max(Duration::from_secs(1));
        tracing::warn!(client = %limit.client, made, limit = limit.per_window,
            "booking refused: this client's bookings for the hour are made");
        Ok(BookOutcome::Limited { retry_after })
    }

    /// The renter has `existing` at this community: its link goes to its own e-mail (within
    /// the rate limit), and the caller hears only that a tour is booked.
    async fn already_booked(&self, existing: &Booking) -> Result<BookOutcome, BookError> {
        let queued = queue_manage_link(&self.store, &existing.id, Utc::now()).await?;
        tracing::info!(booking = %existing.id, ?queued,
            "a second booking for the same renter was turned away");
        Ok(BookOutcome::AlreadyBooked)
    }

    /// One pass of the background worker: finishes due `requesting` bookings, each claimed
    /// under a lease of its own just before it is worked. Returns how many it worked on.
    /// `now` is a parameter so that tests can drive the worker past a backoff without waiting.
    pub async fn finish_pending(
        &self,
        communities: &crate::config::Communities,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut worked = std::collections::HashSet::new();
        // Bounded, so that one pass never runs for ever behind a stream of new requests; each
        // booking is worked once a pass.
        while worked.len() < 20 {
            let lease_until = Utc::now().max(now) + self.attempt_budget();
            let Some(booking) = self.store.claim_due_request(now, lease_until).await? else {
                break;
            };
            if !worked.insert(booking.id.clone()) {
                // Due again at once: left under this lease for a later pass.
                break;
            }
            let Some(community) = communities.get(&booking.community_slug) else {
                self.fail(&booking.id, "community no longer configured")
                    .await?;
                continue;
            };
            if booking.slot_start() - GIVE_UP_BEFORE_START <= now {
                self.give_up(community, &booking).await?;
                continue;
            }
            if let Attempt::Retry {
                after,
                why,
                uncertain,
            } = self.attempt(community, &booking).await?
            {
                let wait = backoff(booking.knock_attempts + 1, after, &mut rand::thread_rng());
                let next = Utc::now().max(now) + wait;
                self.store
                    .schedule_knock_retry(&booking.id, next, uncertain, &why, Utc::now())
                    .await?;
            }
        }
        Ok(worked.len())
    }

    /// requesting → confirmed with Knock's appointment id; `mails` (the confirmation and what
    /// follows it) and the code for the booking's outside locks queued in the same
    /// transaction. A booking that stopped waiting meanwhile
    /// (cancelled, given up) keeps the appointment id and gets its cancel queued, so that no
    /// appointment stays in Knock without a live booking. False when not confirmed.
    pub async fn confirm(
        &self,
        id: &BookingId,
        appointment_id: &str,
        mails: &[QueuedMail],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.begin().await?;
        let Some(b) = tx.booking(id).await? else {
            return Err(StoreError::Corrupt(format!("booking {id} vanished")));
        };
        if b.state == BookingState::Requesting {
            let change = BookingChange {
                appointment_id: Some(appointment_id),
                ..Default::default()
            };
            tx.set_state(id, b.state, BookingState::Confirmed, change, now)
                .await?;
            // The code for the lock is queued with the confirmation, never after it.
            self.access.ensure_in(&mut tx, id, now).await?;
            tx.history(
                id,
                now,
                "knock",
                "confirmed",
                &format!("Knock confirmed appointment {appointment_id}"),
            )
            .await?;
            let jobs: Vec<_> = mails
                .iter()
                .map(|mail| {
                    let job = Job::Email(EmailJob::new(mail.kind, mail.sequence));
                    (job, DedupeKey::of(mail.kind.as_str()), mail.due)
                })
                .collect();
            tx.enqueue_all(id, &jobs, now).await?;
            tx.commit().await?;
            return Ok(true);
        }
        if b.knock_appointment_id.as_deref() == Some(appointment_id) {
            // A second answer for the appointment we have (a twin attempt): nothing to do.
            return Ok(false);
        }
        if b.state.is_live() {
            // Knock's replace rule makes the newer appointment the prospect's live one; which of
            // the two answers is newer cannot be told from here. The per-booking hold keeps
            // twin attempts from happening; should one slip through, staff see it.
            tracing::error!(booking = %id, appointment = appointment_id,
                "Knock answered a second appointment for a live booking");
            tx.history(
                id,
                now,
                "knock",
                "second_appointment",
                &format!(
                    "Knock answered appointment {appointment_id} for a booking that holds another"
                ),
            )
            .await?;
            tx.commit().await?;
            return Ok(false);
        }
        // Knock holds an appointment no live booking of ours stands for: cancel it.
        if b.knock_appointment_id.is_none() {
            tx.adopt_appointment(id, appointment_id, now).await?;
        }
        queue_knock_cancel(&mut tx, id, appointment_id, now).await?;
        tx.history(
            id,
            now,
            "knock",
            "cancel_queued",
            &format!(
                "Knock confirmed appointment {appointment_id} after the booking became {}; \
             Knock cancel queued",
                b.state.as_str()
            ),
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(booking = %id, appointment = appointment_id, state = b.state.as_str(),
            "Knock confirmed a booking that no longer waited for it: cancel queued");
        Ok(false)
    }

    /// requesting → failed: Knock refused for good, or the time ran out.
    async fn fail(&self, id: &BookingId, reason: &str) -> Result<bool, StoreError> {
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        let change = BookingChange {
            failure: Some(reason),
            ..Default::default()
        };
        let failed = tx
            .set_state(
                id,
                BookingState::Requesting,
                BookingState::Failed,
                change,
                now,
            )
            .await?;
        if failed {
            super::ended::skip_unfit_mail(&mut tx, id, BookingState::Failed, now).await?;
            tx.history(id, now, "knock", "failed", reason).await?;
            tx.commit().await?;
        }
        Ok(failed)
    }

    async fn reload(&self, id: &BookingId) -> Result<Booking, StoreError> {
        self.store
            .booking_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("booking {id} vanished")))
    }

    /// Prospect first (its id is kept: the visit needs it), then the appointment. After a try
    /// whose answer was lost, Knock's events are looked at first: the appointment asked for
    /// may be there already, and asking again would be refused (our own appointment holds the
    /// slot) or make a second one.
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
                Err(e) if refused(&e) => return self.refuse(b, "creating the prospect", e).await,
                Err(e) => return Ok(retry(b, "creating the prospect", e, false)),
            },
        };
        let mut unsure = b.knock_uncertain;
        if b.knock_uncertain {
            match look_for_request(&self.knock, &prospect_id, b).await {
                Lookup::Found {
                    appointment_id: Some(id),
                    detail,
                } => {
                    tracing::warn!(booking = %b.id, %detail, "Knock holds the appointment our lost answer made");
                    return self
                        .accept(community, b, &id, &AppointmentStatus::Confirmed)
                        .await;
                }
                Lookup::Found {
                    appointment_id: None,
                    detail,
                } => return self.needs_attention(b, &detail).await,
                Lookup::NotFound => unsure = false,
                Lookup::Unknown(e) => {
                    tracing::warn!(booking = %b.id, error = %e,
                        "cannot tell whether Knock holds our earlier request: asking again");
                }
            }
        }
        tracing::debug!(booking = %b.id, prospect = %prospect_id, "requesting the appointment");
        match self
            .knock
            .request_appointment(&appointment_request(community, b))
            .await
        {
            Ok(appointment) => {
                self.accept(community, b, appointment.id.as_str(), &appointment.status)
                    .await
            }
            Err(e) if !refused(&e) => Ok(retry(b, "requesting the appointment", e, unsure)),
            Err(e) if unsure => {
                // Refused, but an earlier try may have made the appointment (which would hold
                // the slot): "nothing was booked" only when Knock holds nothing.
                match look_for_request(&self.knock, &prospect_id, b).await {
                    Lookup::Found {
                        appointment_id: Some(id),
                        ..
                    } => {
                        self.accept(community, b, &id, &AppointmentStatus::Confirmed)
                            .await
                    }
                    Lookup::Found { detail, .. } => self.needs_attention(b, &detail).await,
                    Lookup::NotFound => self.refuse(b, "requesting the appointment", e).await,
                    Lookup::Unknown(look) => {
                        let detail = format!(
                            "Knock refused asking again ({e}) after an answer was lost, and its \
                             events could not be read ({look}): it may hold the appointment"
                        );
                        self.needs_attention(b, &detail).await
                    }
                }
            }
            Err(e) => self.refuse(b, "requesting the appointment", e).await,
        }
    }

    /// Ten minutes before the tour and still not confirmed: not booked, unless an earlier try
    /// may have reached Knock, which is then looked at.
    async fn give_up(&self, community: &Community, b: &Booking) -> Result<(), StoreError> {
        const WHY: &str = "Knock could not be reached before the tour";
        if !b.knock_uncertain {
            self.fail(&b.id, WHY).await?;
            return Ok(());
        }
        let Some(prospect) = &b.knock_prospect_id else {
            self.fail(&b.id, WHY).await?;
            return Ok(());
        };
        match look_for_request(&self.knock, prospect, b).await {
            Lookup::Found {
                appointment_id: Some(id),
                ..
            } => {
                self.accept(community, b, &id, &AppointmentStatus::Confirmed)
                    .await?;
            }
            Lookup::Found { detail, .. } => {
                self.needs_attention(b, &detail).await?;
            }
            Lookup::NotFound => {
                self.fail(&b.id, WHY).await?;
            }
            Lookup::Unknown(e) => {
                let detail = format!(
                    "{WHY}; an earlier try may have reached it, and its events could not be \
                     read ({e})"
                );
                self.needs_attention(b, &detail).await?;
            }
        }
        Ok(())
    }

    /// Knock answered with an appointment: confirmed when its status says so (or says
    /// nothing), else the leasing office reviews it.
    async fn accept(
        &self,
        community: &Community,
        b: &Booking,
        appointment_id: &str,
        status: &AppointmentStatus,
    ) -> Result<Attempt, StoreError> {
        let now = Utc::now();
        if let AppointmentStatus::Other(status) = status {
            let detail = format!(
                "Knock answered appointment {appointment_id} with status {status}, not \
                 CONFIRMED: the leasing office reviews it"
            );
            return self
                .hold_for_review(b, Review::AwaitingOffice, &detail, Some(appointment_id))
                .await;
        }
        if *status == AppointmentStatus::Cancelled {
            let detail = format!("Knock answered appointment {appointment_id} as CANCELLED");
            return self
                .hold_for_review(b, Review::NeedsAttention, &detail, Some(appointment_id))
                .await;
        }
        let mails = crate::mail::schedule::on_confirm(community, b.slot_start(), now);
        if self.confirm(&b.id, appointment_id, &mails, now).await? {
            tracing::info!(booking = %b.id, appointment = appointment_id, "Knock confirmed the tour");
        }
        Ok(Attempt::Confirmed)
    }

    async fn needs_attention(&self, b: &Booking, detail: &str) -> Result<Attempt, StoreError> {
        self.hold_for_review(b, Review::NeedsAttention, detail, None)
            .await
    }

    /// The request now waits for staff, with what was found, in one transaction with its
    /// history. A booking that stopped waiting meanwhile gets Knock's appointment cancelled.
    async fn hold_for_review(
        &self,
        b: &Booking,
        review: Review,
        detail: &str,
        appointment_id: Option<&str>,
    ) -> Result<Attempt, StoreError> {
        let now = Utc::now();
        let mut tx = self.store.begin().await?;
        if tx
            .set_review(&b.id, review, detail, appointment_id, now)
            .await?
        {
            tx.history(&b.id, now, "knock", review.as_str(), detail)
                .await?;
            tx.commit().await?;
            tracing::warn!(booking = %b.id, review = review.as_str(), %detail, "the request waits for staff");
            return Ok(Attempt::Review);
        }
        drop(tx);
        if let Some(id) = appointment_id {
            self.confirm(&b.id, id, &[], now).await?;
        }
        Ok(Attempt::Review)
    }

    async fn refuse(&self, b: &Booking, doing: &str, e: KnockError) -> Result<Attempt, StoreError> {
        tracing::warn!(booking = %b.id, error = %e, "Knock refused the booking");
        self.fail(&b.id, &format!("Knock refused {doing}: {e}"))
            .await?;
        Ok(Attempt::Refused)
    }
}

/// Knock refused for good (not: could not be reached, did not answer readably, or refused our
/// key, which is our configuration and is retried).
fn refused(e: &KnockError) -> bool {
    !(e.is_retryable() || matches!(e, KnockError::Contract { .. }))
}

/// A call that failed without a refusal: tried again, uncertain when Knock may have acted on
/// it (or on an earlier try).
fn retry(b: &Booking, doing: &str, e: KnockError, was_unsure: bool) -> Attempt {
    tracing::debug!(booking = %b.id, error = %e, "{doing}: will try again");
    Attempt::Retry {
        after: e.retry_after(),
        why: format!("{doing}: {e}"),
        uncertain: was_unsure || may_have_acted(&e),
    }
}

/// Whether Knock may have carried out a call that failed this way: a time-out, a cut-off or
/// unreadable answer, a 5xx. Not a 429 nor a refused key: Knock did not act on those.
fn may_have_acted(e: &KnockError) -> bool {
    match e {
        KnockError::Unauthorized { .. } | KnockError::Config(_) => false,
        KnockError::Retryable { status, .. } => *status != Some(429),
        KnockError::Contract { .. } => true,
        KnockError::Permanent { .. } => false,
    }
}

/// The outbox's backoff (full jitter, Retry-After honoured) with a ceiling of five minutes.
fn backoff(
    attempt: i32,
    retry_after: Option<Duration>,
    rng: &mut impl rand::Rng,
) -> chrono::Duration {
    let wait = backoff_capped(attempt, retry_after, MAX_BOOKING_BACKOFF, rng);
    chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(300))
}

fn limit_window() -> chrono::Duration {
    chrono::Duration::from_std(BOOKING_LIMIT_WINDOW).unwrap_or(chrono::Duration::hours(1))
}

/// Whether Knock may text `phone` for a renter at `community`: only a number that reaches a
/// mobile in the community's country (never premium-rate, toll-free, VoIP, a landline...).
pub fn may_text(community: &Community, phone: &Phone) -> bool {
    phone.is_mobile_capable(country_of_zone(community.timezone.name()))
}

/// The renter's consent, sent only for a number Knock may text.
fn sms_consent(community: &Community, b: &Booking) -> bool {
    b.sms_consent && may_text(community, &b.phone)
}

fn prospect_request(community: &Community, b: &Booking) -> ProspectRequest {
    let sms = sms_consent(community, b);
    ProspectRequest {
        community_id: community.knock_community_id.clone(),
        source_title: b.source_title.as_str().to_string(),
        first_name: b.first_name.as_str().to_string(),
        last_name: b.last_name.as_str().to_string(),
        email: Some(b.email.as_str().to_string()),
        phone: Some(b.phone.knock_digits().to_string()),
        move_date: b.move_date,
        bedrooms: b.bedrooms.map(|x| vec![x]),
        message: b.message.clone(),
        sms_consent: Some(sms),
        sms_consent_disclaimer: sms.then(|| SMS_CONSENT_TEXT.to_string()),
        autorespond: Some(community.knock_autorespond),
        ..Default::default()
    }
}

pub(super) fn appointment_request(community: &Community, b: &Booking) -> AppointmentRequest {
    // Sent back exactly as Knock offered it; the end keeps the start's offset.
    let start = b.slot.start;
    let end = start + chrono::Duration::minutes(i64::from(community.tour_minutes));
    let sms = sms_consent(community, b);
    AppointmentRequest {
        community_id: community.knock_community_id.clone(),
        requested_times: vec![RequestedTime {
            start_time: start,
            end_time: Some(end),
        }],
        tour_type: TourType::SelfGuided,
        source_title: Some(b.source_title.as_str().to_string()),
        sms_consent: sms,
        sms_consent_disclaimer: sms.then(|| SMS_CONSENT_TEXT.to_string()),
        profile: Profile {
            first_name: b.first_name.as_str().to_string(),
            last_name: b.last_name.as_str().to_string(),
            email: Some(b.email.as_str().to_string()),
            phone: Some(b.phone.knock_digits().to_string()),
            move_date: b.move_date,
            bedrooms: b.bedrooms.map(|x| vec![x]),
            ..Default::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use rand::SeedableRng;

    #[test]
    fn booking_backoff_is_the_outboxs_full_jitter_under_five_minutes() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let waits: Vec<i64> = (0..200)
            .map(|_| backoff(1, None, &mut rng).num_milliseconds())
            .collect();
        // Full jitter: some first retries come almost at once, none later than a second.
        assert!(waits.iter().all(|w| (100..=1000).contains(w)), "{waits:?}");
        assert!(waits.iter().any(|w| *w < 500), "{waits:?}");
        assert!(backoff(30, None, &mut rng).num_milliseconds() <= 300_000);
        let asked = Some(Duration::from_secs(20));
        assert!(backoff(1, asked, &mut rng).num_milliseconds() >= 20_000);
    }
}
