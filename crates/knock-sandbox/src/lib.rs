//! The Knock sandbox: an in-memory emulator of Knock's syndication API (API.md §11), strict
//! enough that a partner passing against it should pass against Knock's stage. It serves
//! Knock's routes at the root, plus a control surface under `/_sandbox/` (faults, clock,
//! state, and an HTML view in demo mode).
//!
//! It shares nothing with Tourgate's Knock client but the wire format of API.md, so that the
//! client is checked against Knock's documented behaviour rather than against itself. Where
//! that behaviour leaves room, a [`Profile`] picks one plausible Knock (rules.rs "Answer
//! profiles"); a client must cope with every one.
mod appointments;
mod availability;
mod body;
mod clock;
mod control;
mod faults;
mod gateway;
mod persist;
mod prospects;
mod records;
mod requests;
mod routes;
pub mod rules;
mod state;
mod view;
mod visits;
mod wire;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, NaiveTime, Utc};

pub use appointments::OfficeDecisionError;
pub use faults::{Fault, FaultRoute};
pub use persist::Restored;
pub use records::{
    AppointmentRecord, AppointmentStatus, Bedrooms, EmailRecord, EmailType, EventRecord,
    MessageChannel, MessageKind, MessageRecord, MessageStatus, ProspectRecord, ProspectStatus,
    RequestRecord, SandboxSnapshot, TourType, VisitRecord,
};

use clock::SandboxClock;
use state::State;

/// Knock's two documented stage test keys (API.md §1); the sandbox accepts both everywhere.
pub const STAGE_PROSPECT_KEY: &str = "syndication-prospect-TEST-KEY";
pub const STAGE_APPOINTMENT_KEY: &str = "syndication-appointment-TEST-KEY";
/// Knock's documented stage test community (API.md §1).
pub const STAGE_COMMUNITY_ID: &str = "b9XQN6eMvvrr07zg";

/// A community the sandbox knows, with its tour settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxCommunity {
    /// Knock communityId.
    pub id: String,
    pub name: String,
    pub timezone: chrono_tz::Tz,
    /// Slot grid and default tour length.
    pub tour_minutes: u32,
    /// Local opening time for tours.
    pub opens: NaiveTime,
    /// The last tour must end by this local time.
    pub closes: NaiveTime,
    /// The earliest slot is at least this far after now.
    pub min_notice_minutes: u32,
    /// Whether self-guided and in-person tours may overlap (K-SGA).
    pub self_guided_may_overlap: bool,
    /// The office reviews requests by hand: a new appointment is `PENDING` until it confirms
    /// (`rules::status_of_new_appointment`).
    pub reviews_requests: bool,
    pub units: Vec<String>,
}

impl SandboxCommunity {
    /// Opens 09:00, closes 18:00, 60 minutes' notice, no overlap.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        timezone: chrono_tz::Tz,
        tour_minutes: u32,
        units: Vec<String>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            timezone,
            tour_minutes,
            opens: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN),
            closes: NaiveTime::from_hms_opt(18, 0, 0).unwrap_or(NaiveTime::MIN),
            min_notice_minutes: 60,
            self_guided_may_overlap: false,
            reviews_requests: false,
            units,
        }
    }

    /// Knock's documented stage test community (API.md §1). Its settings are ours: Knock's
    /// examples use a US Pacific offset (-07:00) and 30-minute tours.
    pub fn stage_test_community() -> Self {
        Self::new(
            STAGE_COMMUNITY_ID,
            "Knock Stage Test Community",
            chrono_tz::America::Los_Angeles,
            30,
            ["101", "102", "123", "Unit 5A", "PH 2"]
                .into_iter()
                .map(String::from)
                .collect(),
        )
    }
}

/// How the sandbox answers where Knock's contract leaves room: each is a plausible Knock, and a
/// client must cope with every one (rules.rs has each answer and what in API.md justifies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// The recommended answers of API.md §11 and every recorded body (the sandbox's answers
    /// before profiles existed).
    #[default]
    Strict,
    /// Only what the articles show as required: `{}` to a visit, an e-mail log and a cancel;
    /// `{"appointment":{"id":...}}` to an appointment request.
    Sparse,
    /// The API gateway's own answers: 401 for a key it does not know, 403 for a missing one,
    /// 404 for an unknown route, and the events feed refused to our key.
    Gateway,
    /// The events feed lists only what Knock's article documents: `APPOINTMENT_CREATED`.
    EventsAsDocumented,
}

impl Profile {
    pub const ALL: [Profile; 4] = [
        Profile::Strict,
        Profile::Sparse,
        Profile::Gateway,
        Profile::EventsAsDocumented,
    ];

    /// The name `tourgate knock-sandbox --profile` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Sparse => "sparse",
            Self::Gateway => "gateway",
            Self::EventsAsDocumented => "events-as-documented",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
            format!(
                "unknown sandbox profile `{s}` (one of: {})",
                names.join(", ")
            )
        })
    }
}

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The stage test community is always added unless an entry has its id.
    pub communities: Vec<SandboxCommunity>,
    /// Accepted in addition to both stage test keys.
    pub extra_api_keys: Vec<String>,
    /// How many days ahead available-times reaches.
    pub horizon_days: u32,
    /// Serve the HTML view at GET /_sandbox (demo mode).
    pub html_view: bool,
    /// APPOINTMENT_CREATED (and APPOINTMENT_CONFIRMED) events carry `"appointmentId"` in their
    /// data; off by default, as in Knock's example (`rules::EVENTS_NAME_APPOINTMENT_BY_DEFAULT`).
    pub events_name_appointment: bool,
    /// How undocumented answers are given.
    pub profile: Profile,
    /// Keep the records in this file between starts (the demo; persist.rs). None, the
    /// default, keeps nothing: tests write no state unless they ask.
    pub state_file: Option<PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            communities: Vec::new(),
            extra_api_keys: Vec::new(),
            horizon_days: 14,
            html_view: false,
            events_name_appointment: rules::EVENTS_NAME_APPOINTMENT_BY_DEFAULT,
            profile: Profile::Strict,
            state_file: None,
        }
    }
}

/// The sandbox; clones share one state.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    api_keys: Vec<String>,
    profile: Profile,
    html_view: bool,
    clock: SandboxClock,
    state: Mutex<State>,
    /// Where the records are kept, if anywhere; the mutex orders the writes.
    state_file: Mutex<Option<PathBuf>>,
    /// A save is due (one timer at a time: [`Sandbox::save_soon`]).
    save_queued: std::sync::atomic::AtomicBool,
    restored: Restored,
}

/// Calls are saved together at most this often: each save writes every record, so saving after
/// each call made a long demo (or a benchmark) slower with every booking.
pub const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let mut communities: Vec<SandboxCommunity> = Vec::new();
        for community in config.communities {
            // The first entry for an id wins.
            if !communities.iter().any(|c| c.id == community.id) {
                communities.push(community);
            }
        }
        if !communities.iter().any(|c| c.id == STAGE_COMMUNITY_ID) {
            communities.push(SandboxCommunity::stage_test_community());
        }
        let mut api_keys = vec![
            STAGE_PROSPECT_KEY.to_owned(),
            STAGE_APPOINTMENT_KEY.to_owned(),
        ];
        api_keys.extend(config.extra_api_keys);
        let mut state = State::new(communities, config.horizon_days);
        state.events_name_appointment = config.events_name_appointment;
        let (state_file, restored) = match config.state_file {
            None => (None, Restored::NotKept),
            Some(file) => {
                let (records, restored) = persist::load(&file);
                if let Some(records) = records {
                    state.restore(records);
                }
                let keep = !matches!(restored, Restored::Unreadable { .. });
                (keep.then_some(file), restored)
            }
        };
        if matches!(
            restored,
            Restored::SetAside { .. } | Restored::Unreadable { .. }
        ) {
            tracing::warn!("{restored}");
        }
        Self {
            inner: Arc::new(Inner {
                api_keys,
                profile: config.profile,
                html_view: config.html_view,
                clock: SandboxClock::default(),
                state: Mutex::new(state),
                state_file: Mutex::new(state_file),
                save_queued: std::sync::atomic::AtomicBool::new(false),
                restored,
            }),
        }
    }

    /// What the start found in `SandboxConfig::state_file`.
    pub fn restored(&self) -> &Restored {
        &self.inner.restored
    }

    /// Saves the records within [`SAVE_EVERY`]: the calls of that second are written together,
    /// by one save started after the last of them. A process killed meanwhile loses at most
    /// that second of calls; [`Self::save`] writes at once (before a planned restart).
    pub fn save_soon(&self) {
        use std::sync::atomic::Ordering;
        if !self.keeps_state() || self.inner.save_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let sandbox = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(SAVE_EVERY);
            // Cleared before the save: a call from here on queues the next one.
            sandbox.inner.save_queued.store(false, Ordering::Release);
            sandbox.save();
        });
    }

    /// Writes the records to the state file, if one is kept. A write that fails is logged and
    /// the sandbox carries on (the demo goes on; the next call tries again).
    pub fn save(&self) {
        let file = self
            .inner
            .state_file
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(path) = file.as_ref() {
            let saved = persist::save(path, |out| {
                // The state is held while it is written out, and let go before the sync.
                serde_json::to_writer(out, &self.state().persisted_ref())
            });
            if let Err(e) = saved {
                tracing::warn!(file = %path.display(), error = %e,
                    "the Knock sandbox could not keep its records");
            }
        }
    }

    fn keeps_state(&self) -> bool {
        self.inner
            .state_file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Builds the actix server bound to `listener`; the caller spawns or awaits it.
    pub fn start(&self, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
        routes::server(self.clone(), listener)
    }

    /// Overrides "now" (time keeps flowing from there); None returns to real time.
    pub fn set_now(&self, now: Option<DateTime<Utc>>) {
        self.inner.clock.set(now);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Everything the sandbox holds and received.
    pub fn snapshot(&self) -> SandboxSnapshot {
        let now = self.now();
        self.state().snapshot(now)
    }

    /// The next `fault.count` calls to `fault.route` get the fault.
    pub fn inject_fault(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// The office confirms a request it was reviewing (PENDING → CONFIRMED), as
    /// `POST /_sandbox/appointments/{id}/confirm` does. Confirming a confirmed one is a no-op.
    pub fn office_confirms(
        &self,
        appointment_id: &str,
    ) -> Result<AppointmentRecord, OfficeDecisionError> {
        let now = self.now();
        self.state().office_decides(appointment_id, true, now)
    }

    /// The office turns a request down (PENDING → CANCELLED), as
    /// `POST /_sandbox/appointments/{id}/decline` does.
    pub fn office_declines(
        &self,
        appointment_id: &str,
    ) -> Result<AppointmentRecord, OfficeDecisionError> {
        let now = self.now();
        self.state().office_decides(appointment_id, false, now)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the sandbox down with it.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accepts_key(&self, key: Option<&str>) -> bool {
        key.is_some_and(|key| self.inner.api_keys.iter().any(|k| k == key))
    }

    pub fn profile(&self) -> Profile {
        self.inner.profile
    }

    fn html_view(&self) -> bool {
        self.inner.html_view
    }
}
