//! Knock's available times per community, kept in memory for a short while
//! (`TOURGATE_AVAILABILITY_FRESH_SECS`), so that page views do not each ask Knock.
//!
//! - Single flight: however many reads arrive together, one Knock call per community is in
//!   flight; the others wait for its answer.
//! - An expired entry is served while one refresh runs in the background (page reads); a read
//!   that must be fresh (booking, moving) waits for a new answer instead, through the same
//!   single flight.
//! - When Knock fails (or answers 429), the last good answer is served for at most
//!   `TOURGATE_AVAILABILITY_STALE_SECS`, and Knock is not asked again before its `Retry-After`
//!   (or a short pause). Beyond that, reads fail: the page says times cannot be shown.
//! - Our own writes: a booking removes its slot from the entry at once; a cancel or move marks
//!   the entry for refresh (a freed slot comes back only when Knock offers it again).
//!
//! A fresh time of 0 turns the cache off: every read asks Knock, as before the cache.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::slots::{group_by_day, without_slot, Day, Slot};
use crate::config::Community;
use crate::domain::HeldSlots;
use crate::knock::{KnockClient, KnockError};

/// A read that must be fresh (a booking's check) accepts an answer at most this old.
pub const FRESH_FOR_BOOKING: Duration = Duration::from_secs(2);
/// After a failure without a Retry-After, Knock is not asked again for this long (at most the
/// fresh time).
const ERROR_PAUSE: Duration = Duration::from_secs(2);
/// The slots our live bookings (of every process) hold are read from the database at most
/// this often per community while the cache is on; our own writes read them again at once.
pub const HELD_FRESH: Duration = Duration::from_secs(1);
/// A Retry-After longer than this is taken as this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// One answer of Knock's for a community, with its days and labels prepared once.
#[derive(Debug)]
pub struct Offer {
    /// Knock's answer, ascending, shared by every offer edited from it.
    answer: Arc<[Slot]>,
    /// Starts taken from `answer` since (our bookings, held slots), ascending: an edit copies
    /// these few, not the whole answer (a dense schedule's 1,344 times per booking).
    gone: Vec<DateTime<Utc>>,
    pub days: Vec<Arc<Day>>,
    /// The page's picker for `days` with no time chosen, made once by the web layer: an outline
    /// that each day's kept times fill.
    pub picker_html: std::sync::OnceLock<String>,
    /// The whole page of a plain view of `days` (nothing typed, nothing said), made once by the
    /// web layer with the days' times in it, and kept cut at the holes of the form's tokens.
    pub plain_page: std::sync::OnceLock<Vec<bytes::Bytes>>,
}

impl Offer {
    fn new(mut slots: Vec<Slot>, tz: Tz) -> Self {
        slots.sort_by_key(Slot::utc);
        let days = group_by_day(&slots, tz);
        Self {
            answer: slots.into(),
            gone: Vec::new(),
            days,
            picker_html: std::sync::OnceLock::new(),
            plain_page: std::sync::OnceLock::new(),
        }
    }

    /// The times offered, ascending.
    pub fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.answer
            .iter()
            .filter(|s| self.gone.binary_search(&s.utc()).is_err())
    }

    /// The offer without the slots `gone` says are gone. The days are edited, not grouped
    /// again: regrouping a dense schedule's slots formatted every label per booking
    /// (BENCHMARKS.md).
    fn without(&self, gone: impl Fn(DateTime<Utc>) -> bool) -> Self {
        let mut days = self.days.clone();
        let mut taken = self.gone.clone();
        for s in self.slots() {
            if gone(s.utc()) {
                days = without_slot(&days, &s.value);
                taken.push(s.utc());
            }
        }
        taken.sort_unstable();
        taken.dedup();
        Self {
            answer: self.answer.clone(),
            gone: taken,
            days,
            picker_html: std::sync::OnceLock::new(),
            plain_page: std::sync::OnceLock::new(),
        }
    }

    pub fn offers(&self, at: DateTime<Utc>) -> bool {
        self.answer.binary_search_by_key(&at, Slot::utc).is_ok()
            && self.gone.binary_search(&at).is_err()
    }
}

#[derive(Default)]
struct State {
    /// The last good answer and when it came.
    good: Option<(Arc<Offer>, Instant)>,
    /// Set by our own cancel or move: the next read refreshes (serving `good` meanwhile).
    marked: bool,
    /// The last failure since the last good answer, and when it came.
    failed: Option<(KnockError, Instant)>,
    /// Knock is not asked before this (its Retry-After, or a short pause after a failure).
    no_call_before: Option<Instant>,
}

impl State {
    /// The last good answer when it is at most `max_age` old at `asked` and no change of ours
    /// marked it for a refresh.
    fn within(&self, asked: Instant, max_age: Duration) -> Option<Arc<Offer>> {
        self.good
            .as_ref()
            .filter(|(_, at)| !self.marked && asked.saturating_duration_since(*at) <= max_age)
            .map(|(offer, _)| offer.clone())
    }
}

/// Starts held by live bookings.
type Held = Arc<HeldSlots>;

/// The held slots as last read, and when (None: to be read); `changes` counts this process's
/// edits, so that a read that began before one is not kept over it.
#[derive(Default)]
struct HeldRead {
    read: Option<(Held, Instant)>,
    changes: u64,
}

#[derive(Default)]
struct Entry {
    state: Mutex<State>,
    /// Held by the one refresh in flight.
    flight: Arc<tokio::sync::Mutex<()>>,
    /// The held slots as last read, with this process's bookings since.
    held: Mutex<HeldRead>,
    /// Held by the one read of the held slots in flight.
    held_flight: tokio::sync::Mutex<()>,
}

impl Entry {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HeldRead> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The cache's clock: monotonic, and movable forward by tests.
#[derive(Default)]
struct Clock {
    ahead_ms: AtomicU64,
}

impl Clock {
    fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }
}

struct Inner {
    knock: KnockClient,
    fresh: Duration,
    stale: Duration,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    clock: Clock,
}

/// The per-process cache of Knock's available times (module docs).
#[derive(Clone)]
pub struct AvailabilityCache {
    inner: Arc<Inner>,
}

/// How a read may be answered.
#[derive(Clone, Copy)]
enum Read {
    /// A page: an answer within the fresh time, else (within the stale time) the last one
    /// while a refresh runs in the background.
    Page,
    /// A decision (booking, moving): an answer at most [`FRESH_FOR_BOOKING`] old, waited for.
    Fresh,
}

impl AvailabilityCache {
    pub fn new(knock: KnockClient, fresh: Duration, stale: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                knock,
                fresh,
                stale: stale.max(fresh),
                entries: Mutex::new(HashMap::new()),
                clock: Clock::default(),
            }),
        }
    }

    fn enabled(&self) -> bool {
        !self.inner.fresh.is_zero()
    }

    /// Moves the cache's clock forward (tests: expiry and Retry-After without sleeping).
    pub fn advance_clock(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.inner.clock.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }

    fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    fn entry(&self, c: &Community) -> Arc<Entry> {
        let mut entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        entries.entry(c.slug.clone()).or_default().clone()
    }

    /// Knock's times for a page view (module docs).
    pub async fn for_page(&self, c: &Community) -> Result<Arc<Offer>, KnockError> {
        self.read(c, Read::Page).await
    }

    /// Knock's times for a decision: at most [`FRESH_FOR_BOOKING`] old (module docs).
    pub async fn fresh(&self, c: &Community) -> Result<Arc<Offer>, KnockError> {
        self.read(c, Read::Fresh).await
    }

    /// [`Self::fresh`]'s answer when memory has it (no Knock call, no wait): None when a read
    /// would have to ask Knock.
    pub fn fresh_in_memory(&self, c: &Community) -> Option<Arc<Offer>> {
        if !self.enabled() {
            return None;
        }
        let max_age = FRESH_FOR_BOOKING.min(self.inner.fresh);
        let entry = self.entry(c);
        let asked = self.now();
        let st = entry.state();
        st.within(asked, max_age)
    }

    /// The slots live bookings hold at `c` (from now on): read from the store at most every
    /// [`HELD_FRESH`] (single flight), or on every call while the cache is off.
    pub async fn held(
        &self,
        c: &Community,
        store: &crate::store::Store,
    ) -> Result<Held, crate::store::StoreError> {
        if !self.enabled() {
            return Ok(Arc::new(store.held_slots(&c.slug, Utc::now()).await?));
        }
        let entry = self.entry(c);
        let asked = self.now();
        let recent = |entry: &Entry, since: Option<Instant>| {
            entry
                .held()
                .read
                .as_ref()
                .filter(|(_, at)| match since {
                    Some(since) => *at >= since,
                    None => asked.saturating_duration_since(*at) <= HELD_FRESH,
                })
                .map(|(h, _)| h.clone())
        };
        if let Some(h) = recent(&entry, None) {
            return Ok(h);
        }
        let _flight = entry.held_flight.lock().await;
        if let Some(h) = recent(&entry, Some(asked)) {
            return Ok(h);
        }
        let changes = entry.held().changes;
        let h = Arc::new(store.held_slots(&c.slug, Utc::now()).await?);
        let mut kept = entry.held();
        // A booking or cancel of ours since the read began may be missing from it.
        if kept.changes == changes {
            kept.read = Some((h.clone(), self.now()));
        }
        Ok(h)
    }

    /// Our own write may have freed a slot: read them again on the next view.
    fn forget_held(entry: &Entry) {
        let mut held = entry.held();
        held.read = None;
        held.changes += 1;
    }

    /// Our booking took the slot at `at`: no longer offered by this process. It joins the held
    /// slots as last read, so that the next view need not read them again (a dense schedule's
    /// hundreds per booking: BENCHMARKS.md) and a refresh that Knock answered before our
    /// booking reached it still does not offer the slot.
    pub fn taken(&self, c: &Community, at: DateTime<Utc>) {
        if !self.enabled() {
            return;
        }
        let entry = self.entry(c);
        {
            let mut held = entry.held();
            held.changes += 1;
            if let Some((h, _)) = &mut held.read {
                *h = Arc::new(h.with(at));
            }
        }
        let mut st = entry.state();
        if let Some((offer, when)) = &st.good {
            if offer.offers(at) {
                let smaller = Arc::new(offer.without(|s| s == at));
                let when = *when;
                st.good = Some((smaller, when));
            }
        }
    }

    /// `offer` (an answer of this cache) without the slots live bookings hold: a booking of
    /// another process, or one of ours that Knock's answer was computed before. Kept as the
    /// entry's answer when `offer` still is it, so that the page views after this one share
    /// its days and picker instead of each filtering and rendering them again. A slot freed
    /// meanwhile by another process comes back with the next refresh (at most the fresh time).
    pub fn without_held(&self, c: &Community, offer: &Arc<Offer>, held: &HeldSlots) -> Arc<Offer> {
        if !offer.slots().any(|s| held.contains(s.utc())) {
            return offer.clone();
        }
        let smaller = Arc::new(offer.without(|at| held.contains(at)));
        if self.enabled() {
            let entry = self.entry(c);
            let mut st = entry.state();
            if let Some((current, when)) = &st.good {
                if Arc::ptr_eq(current, offer) {
                    let when = *when;
                    st.good = Some((smaller.clone(), when));
                }
            }
        }
        smaller
    }

    /// Our cancel or move may have freed a slot: the next read asks Knock (the entry is served
    /// meanwhile, without the freed slot).
    pub fn invalidate(&self, c: &Community) {
        self.invalidate_slug(&c.slug);
    }

    /// [`Self::invalidate`] by the community's slug.
    pub fn invalidate_slug(&self, slug: &str) {
        if !self.enabled() {
            return;
        }
        let entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.get(slug) {
            entry.state().marked = true;
            Self::forget_held(entry);
        }
    }

    async fn read(&self, c: &Community, how: Read) -> Result<Arc<Offer>, KnockError> {
        if !self.enabled() {
            let times = self
                .inner
                .knock
                .available_times(&c.knock_community_id, true)
                .await?;
            return Ok(Arc::new(Offer::new(
                times.into_iter().map(Slot::from_knock).collect(),
                c.timezone,
            )));
        }
        let max_age = match how {
            Read::Page => self.inner.fresh,
            Read::Fresh => FRESH_FOR_BOOKING.min(self.inner.fresh),
        };
        let entry = self.entry(c);
        let asked = self.now();
        {
            let st = entry.state();
            let servable = self.servable(&st, asked);
            if let Some(offer) = st.within(asked, max_age) {
                return Ok(offer);
            }
            if st.no_call_before.is_some_and(|until| asked < until) {
                return match (how, servable) {
                    (Read::Page, Some(offer)) => Ok(offer),
                    _ => Err(last_failure(&st)),
                };
            }
            if let (Read::Page, Some(offer)) = (how, servable) {
                drop(st);
                self.refresh_in_background(c, &entry);
                return Ok(offer);
            }
        }
        let _flight = entry.flight.lock().await;
        {
            // A refresh that ended while this read waited answers it too.
            let st = entry.state();
            if let Some((offer, at)) = &st.good {
                if *at >= asked {
                    return Ok(offer.clone());
                }
            }
            if let Some((e, at)) = &st.failed {
                if *at >= asked {
                    return match (how, self.servable(&st, self.now())) {
                        (Read::Page, Some(offer)) => Ok(offer),
                        _ => Err(e.clone()),
                    };
                }
            }
        }
        let answer = self.refresh(c, &entry).await;
        match (answer, how) {
            (Ok(offer), _) => Ok(offer),
            (Err(e), Read::Page) => self.servable(&entry.state(), self.now()).ok_or(e),
            (Err(e), Read::Fresh) => Err(e),
        }
    }

    /// The last good answer while it is within the stale time.
    fn servable(&self, st: &State, now: Instant) -> Option<Arc<Offer>> {
        st.good
            .as_ref()
            .filter(|(_, at)| now.saturating_duration_since(*at) <= self.inner.stale)
            .map(|(offer, _)| offer.clone())
    }

    /// One refresh in the background, unless one is in flight already.
    fn refresh_in_background(&self, c: &Community, entry: &Arc<Entry>) {
        let Ok(flight) = entry.flight.clone().try_lock_owned() else {
            return;
        };
        let cache = self.clone();
        let c = c.clone();
        let entry = entry.clone();
        tokio::spawn(async move {
            let _flight = flight;
            if let Err(e) = cache.refresh(&c, &entry).await {
                tracing::warn!(community = %c.slug, error = %e,
                    "available times not refreshed: the last good answer is served meanwhile");
            }
        });
    }

    /// Asks Knock (the caller holds the entry's flight) and records the answer.
    async fn refresh(&self, c: &Community, entry: &Entry) -> Result<Arc<Offer>, KnockError> {
        let answer = self
            .inner
            .knock
            .available_times(&c.knock_community_id, true)
            .await;
        let now = self.now();
        let mut st = entry.state();
        match answer {
            Ok(times) => {
                let offer = Arc::new(Offer::new(
                    times.into_iter().map(Slot::from_knock).collect(),
                    c.timezone,
                ));
                st.good = Some((offer.clone(), now));
                st.marked = false;
                st.failed = None;
                st.no_call_before = None;
                Ok(offer)
            }
            Err(e) => {
                let pause = e
                    .retry_after()
                    .map(|d| d.min(MAX_RETRY_AFTER))
                    .unwrap_or(ERROR_PAUSE.min(self.inner.fresh));
                st.no_call_before = Some(now + pause);
                st.failed = Some((e.clone(), now));
                Err(e)
            }
        }
    }
}

fn last_failure(st: &State) -> KnockError {
    st.failed
        .as_ref()
        .map(|(e, _)| e.clone())
        .unwrap_or_else(|| {
            KnockError::Config("Knock asked us to wait before asking for times again".into())
        })
}
