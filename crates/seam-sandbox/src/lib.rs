//! The Seam sandbox: an in-memory emulator of Seam's smart-lock API (Seam Connect), faithful to
//! what PROVIDERS.md §1 records of Seam's documented behaviour and built to its §4.4 checklist,
//! so that Tourgate's Seam adapter is tested against Seam's contract rather than against
//! itself. It shares no code with Tourgate.
//!
//! # What it serves
//!
//! Seam's routes at the root — `/devices/list|get`, `/locks/list|get`,
//! `/access_codes/create|get|list|update|delete`, `/action_attempts/get`, `/events/list|get`,
//! `/webhooks/create|list|get|update|delete`, `/locks/unlock_door|lock_door`,
//! `/locks/simulate/keypad_code_entry|manual_lock_via_keypad`,
//! `/devices/simulate/connect|disconnect|remove`, `/connected_accounts/simulate/disconnect`,
//! `/workspaces/get` — each as `POST` with a
//! JSON body, read routes also as `GET` with a query string and `/access_codes/delete` also as
//! `DELETE` with a query string (what the official SDKs send). Every answer has a
//! `seam-request-id` header; successes are `{<resource>: …, "ok": true}`, refusals
//! `{"error": {"type", "message", "request_id", "validation_errors"?, "data"?}}`
//! (errors.rs lists every type). Auth is `Authorization: Bearer <key>`
//! ([`DEFAULT_API_KEY`] unless configured); anything else is 401 `unauthorized`.
//!
//! Under `/_fake/` (no key), a control surface for the CLI-run emulator: clock, tick, device
//! faults, delivery knobs, HTTP faults and a state dump (control.rs).
//!
//! # Behaviour
//!
//! - Seeded devices with fixed ids ([`seeds`]): August, Schlage and Yale locks (native
//!   scheduling, unlocks attributed to codes), a Lockly lock (just in time, not attributed)
//!   and an igloohome lockbox (offline algoPIN codes only, not attributed).
//! - The code lifecycle moves on the emulator's clock (lifecycle.rs has every step): native
//!   brands load a code 72 h before `starts_at` (`access_code.scheduled_on_device`) and set it
//!   at `starts_at` (`access_code.set_on_device`); just-in-time brands set it 60 min ahead; at
//!   `ends_at` it is removed (`access_code.removed_from_device`) and `get` answers 404. An
//!   offline lock delays it (`delay_in_setting_on_device`, then after 10 minutes
//!   `failed_to_set_on_device`); a full lock fails it (`no_space_for_access_code_on_device`).
//! - A keypad entry ([`SeamSandbox::keypad_entry`] or `/locks/simulate/keypad_code_entry`)
//!   opens the lock for a code that is on it and inside its window: `lock.unlocked` with
//!   `method: "keycode"`, `code` and (for attributing brands) `access_code_id`; otherwise
//!   `lock.access_denied` with `reason.reason_code` `unknown_code` or `expired_code`. An
//!   offline lock reports these when it reconnects (`created_at` later than `occurred_at`).
//!   The lock relocks itself 30 s later (`lock.locked`, `method: "automatic"`).
//! - Every event goes to `/events/list` and to each webhook endpoint whose `event_types` want
//!   it, as the bare event JSON signed Svix-style (`svix-id`; `svix-timestamp`, the wall clock
//!   at sending as Svix stamps it, even on a pinned emulator clock; `svix-signature:
//!   v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">` keyed with the `whsec_` secret's
//!   base64-decoded bytes), retried after a non-2xx on Svix's schedule (0 s, 5 s, 5 min,
//!   30 min, 2 h, 5 h, 10 h, 10 h, on the emulator's clock) with the same `svix-id`.
//! - Per-device rate limits: create and update 10/min, delete 20/min, lock and unlock 15/min;
//!   beyond that 429 `rate_limited` with `Retry-After`.
//!
//! # Guesses and divergences
//!
//! Where Seam's documents leave room the emulator picks one answer, marked INF in the code:
//! error types `rate_limited` (429), `offline_access_code_not_modifiable` (update or delete of an
//! algoPIN), `not_found` (unknown route), `method_not_allowed`, and `invalid_input` for a device
//! that cannot program the kind of code asked for; the 10-minute delay before an offline lock's
//! code is reported `failed_to_set_on_device`; `/events/list` oldest first, `since` inclusive
//! and both compared with `created_at`; the 30-second auto-relock; `code` on keypad events of every brand (`SeamDevice::reports_entry_code`).
//! Seam's sandbox simulates keypad entry on August locks only; the emulator does it on every
//! lock, so that unattributed brands can be tested. An action attempt is finished when its call
//! returns (create answers it `pending`; `/action_attempts/get` then shows `success`).
//!
//! # Driving it from a test
//!
//! Nothing happens behind a test's back: the clock is pinned ([`SeamSandboxConfig::now`]) and
//! moves only with [`SeamSandbox::set_now`] / [`SeamSandbox::advance`]; the lifecycle catches
//! up at every HTTP call and at [`SeamSandbox::tick`], and webhooks are only sent by `tick()`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use seam_sandbox::{seeds, SeamSandbox, SeamSandboxConfig};
//!
//! let seam = SeamSandbox::start(SeamSandboxConfig::pinned_at(chrono::Utc::now()))?;
//! seam.set_webhook("http://127.0.0.1:8080/callbacks/seam", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
//!     .expect("a whsec_ secret");
//! // … the client under test creates a code at seam.base_url() with seam.api_key() …
//! seam.advance(Duration::from_secs(3600));
//! seam.tick().await; // lifecycle steps and webhook deliveries now due
//! let codes = seam.access_codes(seeds::FRONT_DOOR);
//! let outcome = seam.keypad_entry(seeds::FRONT_DOOR, "1234");
//! # let _ = (codes, outcome); Ok(()) }
//! ```
//!
//! Knobs: [`SeamSandbox::set_device_offline`], [`SeamSandbox::fill_device`],
//! [`SeamSandbox::set_account_connected`], the delivery knobs
//! ([`SeamSandbox::drop_next_deliveries`], [`SeamSandbox::duplicate_next_deliveries`],
//! [`SeamSandbox::delay_next_deliveries`], [`SeamSandbox::reorder_next_deliveries`],
//! [`SeamSandbox::set_webhook_headers`] for `webhook-*` names) and HTTP faults
//! ([`SeamSandbox::inject_fault`]; [`Fault::after_effect`] carries the call out and loses the
//! answer). For assertions: [`SeamSandbox::events`], [`SeamSandbox::access_codes`],
//! [`SeamSandbox::all_access_codes`], [`SeamSandbox::deliveries`].
//!
//! The binary entry point is [`serve_forever`] (`tourgate seam-sandbox --listen ADDR`): real
//! time, with a loop calling `tick()` every second. An in-process emulator for a demo wants
//! the same: `SeamSandboxConfig { real_time_ticks: true, ..Default::default() }` (without it,
//! webhooks wait for `tick()`).
mod api;
mod clock;
mod codes;
mod control;
mod delivery;
mod devices;
mod errors;
mod events;
mod faults;
mod keypad;
mod lifecycle;
mod params;
mod rate;
mod routes;
mod state;
mod webhooks;
mod wire;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use clock::SeamClock;
pub use codes::{AccessCodeRecord, CodeIssue, CodeStatus};
pub use delivery::TickReport;
pub use devices::{seeds, Brand, SeamDevice};
pub use errors::SeamError;
pub use events::SeamEvent;
pub use faults::Fault;
pub use keypad::KeypadOutcome;
pub use lifecycle::{JUST_IN_TIME_LEAD, NATIVE_LEAD, OFFLINE_FAILURE_AFTER};
pub use webhooks::{
    Delivery, DeliveryAttempt, DeliveryState, HeaderStyle, WebhookEndpoint, RETRY_SCHEDULE,
};

use state::State;

/// The key the emulator accepts unless told otherwise (Seam's sandbox keys start `seam_test`).
pub const DEFAULT_API_KEY: &str = "seam_test_tourgate";

#[derive(Debug, Clone)]
pub struct SeamSandboxConfig {
    /// Where to listen; None: 127.0.0.1 on a free port.
    pub listen: Option<SocketAddr>,
    /// The workspace's API key.
    pub api_key: String,
    /// Also accepted.
    pub extra_api_keys: Vec<String>,
    /// The devices in the workspace (default: [`seeds::devices`]).
    pub devices: Vec<SeamDevice>,
    /// Some: the clock is pinned there and moves only when told; None: real time.
    pub now: Option<DateTime<Utc>>,
    /// A background loop calls `tick()` every second (the binary and the demo).
    pub real_time_ticks: bool,
    /// Seam's per-device rate limits.
    pub rate_limits: bool,
    /// An endpoint registered at start: (url, `whsec_` secret), all event types.
    pub webhook: Option<(String, String)>,
}

impl Default for SeamSandboxConfig {
    fn default() -> Self {
        Self {
            listen: None,
            api_key: DEFAULT_API_KEY.to_owned(),
            extra_api_keys: Vec::new(),
            devices: seeds::devices(),
            now: None,
            real_time_ticks: false,
            rate_limits: true,
            webhook: None,
        }
    }
}

impl SeamSandboxConfig {
    /// The defaults with the clock pinned at `now` (what tests want).
    pub fn pinned_at(now: DateTime<Utc>) -> Self {
        Self {
            now: Some(now),
            ..Self::default()
        }
    }
}

/// The emulator; clones share one state.
#[derive(Clone)]
pub struct SeamSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    api_keys: Vec<String>,
    clock: SeamClock,
    state: Mutex<State>,
    http: reqwest::Client,
    /// One `tick()` at a time, so deliveries keep their order.
    tick_lock: tokio::sync::Mutex<()>,
}

/// A started emulator: the server runs until this is dropped. Derefs to [`SeamSandbox`].
pub struct RunningSeamSandbox {
    sandbox: SeamSandbox,
    addr: SocketAddr,
    server: actix_web::dev::ServerHandle,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl SeamSandbox {
    /// The emulator without a server (see [`SeamSandbox::start`]).
    pub fn new(config: SeamSandboxConfig) -> Self {
        let mut api_keys = vec![config.api_key];
        api_keys.extend(config.extra_api_keys);
        let mut state = State::new(config.devices, config.rate_limits);
        if let Some((url, secret)) = config.webhook {
            state.webhooks.push(WebhookEndpoint {
                webhook_id: wire::new_id(),
                url,
                event_types: vec!["*".to_owned()],
                secret,
            });
        }
        Self {
            inner: Arc::new(Inner {
                api_keys,
                clock: SeamClock::new(config.now),
                state: Mutex::new(state),
                http: reqwest::Client::new(),
                tick_lock: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Binds (`config.listen`, else 127.0.0.1:0) and serves on the current tokio runtime.
    pub fn start(config: SeamSandboxConfig) -> std::io::Result<RunningSeamSandbox> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            std::io::Error::other("SeamSandbox::start must be called inside a tokio runtime")
        })?;
        let addr = config
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let ticks = config.real_time_ticks;
        let sandbox = Self::new(config);
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let server = routes::server(sandbox.clone(), listener)?;
        let handle = server.handle();
        runtime.spawn(server);
        let ticker = ticks.then(|| {
            let sandbox = sandbox.clone();
            runtime.spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(1));
                loop {
                    every.tick().await;
                    sandbox.tick().await;
                }
            })
        });
        Ok(RunningSeamSandbox {
            sandbox,
            addr,
            server: handle,
            ticker,
        })
    }

    /// Builds the actix server on `listener`; the caller spawns or awaits it.
    pub fn serve(&self, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
        routes::server(self.clone(), listener)
    }

    /// The workspace's API key.
    pub fn api_key(&self) -> &str {
        self.inner
            .api_keys
            .first()
            .map(String::as_str)
            .unwrap_or(DEFAULT_API_KEY)
    }

    /// The emulator's clock, shared.
    pub fn clock(&self) -> SeamClock {
        self.inner.clock.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Pins the clock at `now` and brings the lifecycle there (webhooks wait for `tick()`).
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.inner.clock.set_now(now);
        self.catch_up();
    }

    /// Moves the clock forward and brings the lifecycle there (webhooks wait for `tick()`).
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
        self.catch_up();
    }

    fn catch_up(&self) {
        let now = self.now();
        self.state().advance(now);
    }

    /// Registers an endpoint for every event type, with a `whsec_` secret of your choosing;
    /// returns its `webhook_id`.
    pub fn set_webhook(&self, url: &str, secret: &str) -> Result<String, SeamError> {
        if webhooks::sign(secret, "msg_check", 0, "").is_none() {
            return Err(SeamError::invalid(
                "secret",
                "Expected whsec_ followed by a base64 key",
            ));
        }
        if reqwest::Url::parse(url).is_err() {
            return Err(SeamError::invalid("url", "Expected a URL"));
        }
        let id = wire::new_id();
        self.state().webhooks.push(WebhookEndpoint {
            webhook_id: id.clone(),
            url: url.to_owned(),
            event_types: vec!["*".to_owned()],
            secret: secret.to_owned(),
        });
        Ok(id)
    }

    /// Registers an endpoint with a fresh secret, as `/webhooks/create` does.
    pub fn add_webhook(&self, url: &str, event_types: &[&str]) -> WebhookEndpoint {
        let endpoint = WebhookEndpoint {
            webhook_id: wire::new_id(),
            url: url.to_owned(),
            event_types: if event_types.is_empty() {
                vec!["*".to_owned()]
            } else {
                event_types.iter().map(|t| (*t).to_owned()).collect()
            },
            secret: webhooks::new_secret(),
        };
        self.state().webhooks.push(endpoint.clone());
        endpoint
    }

    pub fn webhooks(&self) -> Vec<WebhookEndpoint> {
        self.state().webhooks.clone()
    }

    /// A PIN typed on the lock's keypad, now.
    pub fn keypad_entry(&self, device_id: &str, code: &str) -> Result<KeypadOutcome, SeamError> {
        let now = self.now();
        let mut state = self.state();
        state.advance(now);
        state.keypad_entry(device_id, code, now)
    }

    /// The lock is locked from its keypad (`lock.locked`, method `manual`).
    pub fn manual_lock(&self, device_id: &str) -> Result<(), SeamError> {
        let now = self.now();
        self.state().manual_lock(device_id, now)
    }

    /// The lock loses (true) or regains (false) its connection.
    pub fn set_device_offline(&self, device_id: &str, offline: bool) -> Result<(), SeamError> {
        let now = self.now();
        self.state().set_online(device_id, !offline, now)
    }

    /// The brand account behind the devices is disconnected (codes `unknown`, nothing moves)
    /// or reconnected.
    pub fn set_account_connected(&self, connected: bool) {
        let now = self.now();
        self.state().set_account_connected(connected, now);
    }

    /// The lock has no room for another code (`no_space_for_access_code_on_device`).
    pub fn fill_device(&self, device_id: &str) -> Result<(), SeamError> {
        self.set_device_full(device_id, true)
    }

    /// Fills the lock or makes room on it again.
    pub fn set_device_full(&self, device_id: &str, full: bool) -> Result<(), SeamError> {
        let now = self.now();
        self.state().set_full(device_id, full, now)
    }

    /// Adds a device to the workspace (e.g. a second lock of a brand).
    pub fn add_device(&self, device: SeamDevice) {
        self.state().devices.push(device);
    }

    pub fn devices(&self) -> Vec<SeamDevice> {
        self.state().devices.clone()
    }

    /// The next `n` events are not delivered (they stay in `/events/list`).
    pub fn drop_next_deliveries(&self, n: u32) {
        self.state().knobs.drop_next += n;
    }

    /// The next `n` events are delivered twice, with the same `svix-id`.
    pub fn duplicate_next_deliveries(&self, n: u32) {
        self.state().knobs.duplicate_next += n;
    }

    /// The next `n` events are first attempted `by` later on the emulator's clock.
    pub fn delay_next_deliveries(&self, n: u32, by: Duration) {
        let mut state = self.state();
        state.knobs.delay_next = n;
        state.knobs.delay = by;
    }

    /// The next `n` events are held and then delivered last first: when the `n`th arrives, or
    /// at the next `tick()` if fewer came by then.
    pub fn reorder_next_deliveries(&self, n: u32) {
        let mut state = self.state();
        state.knobs.reorder_batch = n;
        state.knobs.held_events = 0;
    }

    /// Clears every delivery knob; deliveries held for reordering are released (reversed).
    pub fn clear_delivery_knobs(&self) {
        let now = self.now();
        let mut state = self.state();
        state.release_held(now);
        state.knobs = Default::default();
    }

    /// Which header names deliveries carry (`svix-*` unless told otherwise).
    pub fn set_webhook_headers(&self, style: HeaderStyle) {
        self.state().header_style = style;
    }

    /// The next `fault.count` calls to `fault.route` are answered with the fault.
    pub fn inject_fault(&self, fault: Fault) {
        self.state().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.state().faults.clear();
    }

    /// Every event so far, oldest first.
    pub fn events(&self) -> Vec<SeamEvent> {
        self.state().events.clone()
    }

    /// The codes Seam holds for a device now (removed ones excluded).
    pub fn access_codes(&self, device_id: &str) -> Vec<AccessCodeRecord> {
        self.state()
            .codes
            .iter()
            .filter(|c| c.device_id == device_id && c.is_live())
            .cloned()
            .collect()
    }

    /// Every code ever created, removed ones included (`removed_at`).
    pub fn all_access_codes(&self) -> Vec<AccessCodeRecord> {
        self.state().codes.clone()
    }

    /// One code by id, removed or not.
    pub fn access_code(&self, access_code_id: &str) -> Option<AccessCodeRecord> {
        self.state()
            .codes
            .iter()
            .find(|c| c.access_code_id == access_code_id)
            .cloned()
    }

    /// Every webhook delivery and its attempts.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state().deliveries.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the emulator down with it.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accepts_key(&self, key: Option<&str>) -> bool {
        key.is_some_and(|key| self.inner.api_keys.iter().any(|k| k == key))
    }
}

impl RunningSeamSandbox {
    /// `http://127.0.0.1:PORT`, no trailing slash: what `SEAM_ENDPOINT` takes.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The emulator itself (a cheap clone), e.g. to keep after this handle is dropped.
    pub fn sandbox(&self) -> SeamSandbox {
        self.sandbox.clone()
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        self.server.stop(false).await;
    }
}

impl std::ops::Deref for RunningSeamSandbox {
    type Target = SeamSandbox;

    fn deref(&self) -> &SeamSandbox {
        &self.sandbox
    }
}

impl Drop for RunningSeamSandbox {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        let server = self.server.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { server.stop(false).await });
        }
    }
}

/// The binary entry point: serves `config` in real time (ticking every second) until the
/// process ends. Prints where it listens.
pub async fn serve_forever(config: SeamSandboxConfig) -> std::io::Result<()> {
    let running = SeamSandbox::start(SeamSandboxConfig {
        real_time_ticks: true,
        ..config
    })?;
    println!(
        "Seam sandbox listening on {} (devices: GET {}/devices/list; state: {}/_fake/state)",
        running.base_url(),
        running.base_url(),
        running.base_url()
    );
    // The server and the ticker run on the runtime; this future only keeps them alive.
    std::future::pending::<()>().await;
    drop(running);
    Ok(())
}
