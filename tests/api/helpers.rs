use std::collections::HashMap;

use chrono::{DateTime, Utc};
use knock_sandbox::{Profile, Sandbox, SandboxConfig};
use reqwest::header::LOCATION;
use scraper::{Html, Selector};
use tourgate::config::{Settings, Source};
use tourgate::startup::{sandbox_config, Application};
use tourgate::store::{Db, Store};

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Expands one async test body into a SQLite test and a PostgreSQL test.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                ($body)($crate::helpers::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                if std::env::var("TEST_POSTGRES_URL").is_err() {
                    eprintln!("TEST_POSTGRES_URL unset: PostgreSQL variant not run");
                    return;
                }
                ($body)($crate::helpers::Backend::Postgres).await;
            }
        }
    };
}

/// Expands one async test body into one test per Knock sandbox profile (`knock_sandbox::Profile`)
/// on SQLite, and the strict profile on PostgreSQL too. The profiles vary Knock's answers, not
/// our storage: the storage variants stay with `strict`, which keeps the suite's time in check.
#[macro_export]
macro_rules! on_every_profile {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn strict_on_sqlite() {
                ($body)(
                    $crate::helpers::Backend::Sqlite,
                    ::knock_sandbox::Profile::Strict,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn strict_on_postgres() {
                if std::env::var("TEST_POSTGRES_URL").is_err() {
                    eprintln!("TEST_POSTGRES_URL unset: PostgreSQL variant not run");
                    return;
                }
                ($body)(
                    $crate::helpers::Backend::Postgres,
                    ::knock_sandbox::Profile::Strict,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sparse() {
                ($body)(
                    $crate::helpers::Backend::Sqlite,
                    ::knock_sandbox::Profile::Sparse,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn gateway() {
                ($body)(
                    $crate::helpers::Backend::Sqlite,
                    ::knock_sandbox::Profile::Gateway,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn events_as_documented() {
                ($body)(
                    $crate::helpers::Backend::Sqlite,
                    ::knock_sandbox::Profile::EventsAsDocumented,
                )
                .await;
            }
        }
    };
}

pub const COMMUNITIES: &str = r#"
[[community]]
slug = "maple-court"
knock_community_id = "mapleCourt000001"
name = "Maple Court Apartments"
timezone = "America/New_York"
address = "100 Maple St, Brooklyn, NY 11201"
tour_minutes = 30
default_source_title = "Self-Guided Tour Vendor"
units = ["101", "102", "2B"]

[[community]]
slug = "lotus-residency"
knock_community_id = "lotusResidency01"
name = "Lotus Residency"
timezone = "Asia/Kolkata"
address = "12 MG Road, Bengaluru"
tour_minutes = 45
default_source_title = "Self-Guided Tour Vendor"
units = ["A1"]
"#;

pub struct TestApp {
    pub base: String,
    pub app_store: Store,
    pub sandbox: Sandbox,
    /// The sandbox's own address (its HTML view is at `/_sandbox`); read by tests/browser.
    #[allow(dead_code)]
    pub sandbox_url: String,
    /// The metrics listener's port (`TOURGATE_METRICS_LISTEN`), unless it is off.
    #[allow(dead_code)]
    pub metrics_port: Option<u16>,
    pub settings: std::sync::Arc<Settings>,
    pub bookings: tourgate::booking::BookingService,
    pub outbox: tourgate::outbox::Outbox,
    /// The in-process Seam emulator the app started (demo mode with a Seam lock and no
    /// `SEAM_ENDPOINT`), if any, and its base URL.
    #[allow(dead_code)]
    pub seam: Option<(seam_sandbox::SeamSandbox, String)>,
    /// Shared with [`TestApp::another_process`]; dropped with the last of them.
    _db: std::sync::Arc<TestDb>,
    /// The settings' sources of an app built as `tourgate serve` builds it
    /// ([`spawn_served`]), to start it again.
    #[allow(dead_code)]
    served_env: Option<HashMap<String, String>>,
}

/// A database of its own for one test, dropped afterwards.
struct TestDb {
    postgres: Option<(String, String)>,
    sqlite_path: Option<std::path::PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside async context: a short-lived runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
        if let Some(p) = self.sqlite_path.take() {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

pub fn random_name() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

async fn test_db(backend: Backend) -> (String, TestDb) {
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("tourgate-test-{}.db", random_name()));
            (
                format!("sqlite://{}", path.display()),
                TestDb {
                    postgres: None,
                    sqlite_path: Some(path),
                },
            )
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let admin = std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL");
            let name = format!("tg_test_{}", random_name());
            let mut c = sqlx::PgConnection::connect(&admin)
                .await
                .expect("TEST_POSTGRES_URL is reachable");
            sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .await
                .expect("create test database");
            let mut url = url::Url::parse(&admin).expect("TEST_POSTGRES_URL is a URL");
            url.set_path(&name);
            (
                url.to_string(),
                TestDb {
                    postgres: Some((admin, name)),
                    sqlite_path: None,
                },
            )
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

pub async fn spawn_app_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    spawn_app_with_sandbox(backend, extra, |_| {}).await
}

/// The app with its Knock sandbox answering as `profile`.
#[allow(dead_code)]
pub async fn spawn_app_on(backend: Backend, profile: Profile) -> TestApp {
    spawn_app_with_sandbox(backend, &[], |sandbox| sandbox.profile = profile).await
}

/// As [`spawn_app_with`], with the Knock sandbox's configuration (a copy of our communities,
/// strict profile) changed by `adjust` first: its profile, or Knock's own tour length, time
/// zone or units for a community, so that Knock and Tourgate can disagree.
pub async fn spawn_app_with_sandbox(
    backend: Backend,
    extra: &[(&str, &str)],
    adjust: impl FnOnce(&mut SandboxConfig),
) -> TestApp {
    spawn_app_with_communities(backend, COMMUNITIES, extra, adjust).await
}

/// As [`spawn_app_with_sandbox`], serving `communities` (a communities file's text) instead
/// of [`COMMUNITIES`].
pub async fn spawn_app_with_communities(
    backend: Backend,
    communities_file: &str,
    extra: &[(&str, &str)],
    adjust: impl FnOnce(&mut SandboxConfig),
) -> TestApp {
    let (database_url, db) = test_db(backend).await;
    let communities =
        std::env::temp_dir().join(format!("tourgate-communities-{}.toml", random_name()));
    std::fs::write(&communities, communities_file).unwrap();
    let mut env: HashMap<String, String> = [
        ("TOURGATE_LISTEN", "127.0.0.1:0"),
        // Many apps in one process: each metrics listener on a port of its own.
        ("TOURGATE_METRICS_LISTEN", "127.0.0.1:0"),
        ("TOURGATE_WORKERS", "off"),
        ("KNOCK_TIMEOUT_SECS", "2"),
        ("KNOCK_CONNECT_TIMEOUT_SECS", "1"),
        // Tests book many tours from 127.0.0.1 and post forms as soon as they are shown;
        // tests/api/limits.rs sets its own limits.
        ("TOURGATE_BOOKINGS_PER_HOUR", "100000"),
        ("TOURGATE_MIN_FORM_SECONDS", "0"),
        // Every page view asks Knock, so that a test sees Knock's state (and its faults) at
        // once; tests/api/availability.rs turns the cache on.
        ("TOURGATE_AVAILABILITY_FRESH_SECS", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.insert("DATABASE_URL".into(), database_url);
    // Mail without SMTP_URL goes to files: keep them out of the working tree.
    let data_dir = std::env::temp_dir().join(format!("tourgate-data-{}", random_name()));
    env.insert("TOURGATE_DATA_DIR".into(), data_dir.display().to_string());
    env.insert(
        "TOURGATE_COMMUNITIES".into(),
        communities.display().to_string(),
    );
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    let settings = Settings::from_sources(&Source {
        env,
        file: HashMap::new(),
    })
    .expect("test settings are valid");
    let mut sandbox = sandbox_config(&settings.communities, true);
    adjust(&mut sandbox);
    serve_with_sandbox(settings, std::sync::Arc::new(db), None, sandbox).await
}

/// Builds the app from `settings` and serves it in the background. `knock` is the sandbox it
/// talks to when that is another app's (its settings then name its URL).
async fn serve(
    settings: Settings,
    db: std::sync::Arc<TestDb>,
    knock: Option<(Sandbox, url::Url)>,
) -> TestApp {
    let sandbox = sandbox_config(&settings.communities, true);
    serve_with_sandbox(settings, db, knock, sandbox).await
}

/// [`serve`] with the in-process sandbox (when the settings start one) configured as given.
async fn serve_with_sandbox(
    settings: Settings,
    db: std::sync::Arc<TestDb>,
    knock: Option<(Sandbox, url::Url)>,
    sandbox: SandboxConfig,
) -> TestApp {
    let app = Application::build_with_sandbox(settings, sandbox)
        .await
        .expect("the app builds");
    serving(app, db, knock)
}

/// Serves a built app in the background, as a test reaches it.
fn serving(
    app: Application,
    db: std::sync::Arc<TestDb>,
    knock: Option<(Sandbox, url::Url)>,
) -> TestApp {
    let (sandbox, sandbox_url) = app
        .sandbox
        .clone()
        .or(knock)
        .expect("tests run against an in-process sandbox");
    let t = TestApp {
        base: format!("http://127.0.0.1:{}", app.port()),
        app_store: app.store.clone(),
        sandbox,
        sandbox_url: sandbox_url.as_str().trim_end_matches('/').to_string(),
        metrics_port: app.metrics_port(),
        settings: app.settings.clone(),
        bookings: app.bookings.clone(),
        outbox: app.outbox.clone(),
        seam: app
            .seam_sandbox
            .as_ref()
            .map(|s| (s.sandbox(), s.base_url())),
        _db: db,
        served_env: None,
    };
    tokio::spawn(app.run_until_stopped());
    t
}

/// The app as `tourgate serve` builds it (`Application::build`) from the test's settings and
/// `extra`: with nothing about Knock configured that is the demo with its built-in community,
/// which keeps its secret key and the Knock sandbox's records under `TOURGATE_DATA_DIR` (a
/// directory of its own unless `extra` names one) and makes the demo staff account.
/// `knock` is the sandbox a non-demo app's `KNOCK_BASE_URL` names.
/// [`TestApp::restart_served`] starts it again on the same database and data directory.
#[allow(dead_code)]
pub async fn spawn_served(
    backend: Backend,
    extra: &[(&str, &str)],
    knock: Option<(Sandbox, url::Url)>,
) -> TestApp {
    let (database_url, db) = test_db(backend).await;
    let data_dir = std::env::temp_dir().join(format!("tourgate-served-{}", random_name()));
    let mut env: HashMap<String, String> = [
        ("TOURGATE_LISTEN", "127.0.0.1:0"),
        ("TOURGATE_METRICS_LISTEN", "127.0.0.1:0"),
        ("TOURGATE_WORKERS", "off"),
        ("KNOCK_TIMEOUT_SECS", "2"),
        ("KNOCK_CONNECT_TIMEOUT_SECS", "1"),
        ("TOURGATE_BOOKINGS_PER_HOUR", "100000"),
        ("TOURGATE_AVAILABILITY_FRESH_SECS", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.insert("DATABASE_URL".into(), database_url);
    env.insert("TOURGATE_DATA_DIR".into(), data_dir.display().to_string());
    for (k, v) in extra {
        env.insert(k.to_string(), v.to_string());
    }
    start_served(env, std::sync::Arc::new(db), knock).await
}

async fn start_served(
    env: HashMap<String, String>,
    db: std::sync::Arc<TestDb>,
    knock: Option<(Sandbox, url::Url)>,
) -> TestApp {
    let settings = Settings::from_sources(&Source {
        env: env.clone(),
        file: HashMap::new(),
    })
    .expect("test settings are valid");
    let app = Application::build(settings)
        .await
        .expect("the app builds as serve builds it");
    let mut t = serving(app, db, knock);
    t.served_env = Some(env);
    t
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A form as the page offers it: hidden fields and the `start` radio values.
#[derive(Debug, Clone)]
pub struct OfferedForm {
    pub action: String,
    pub hidden: HashMap<String, String>,
    pub starts: Vec<String>,
}

pub fn offered_form(html: &str) -> OfferedForm {
    let doc = Html::parse_document(html);
    let form = doc
        .select(&Selector::parse("form[method=post]").unwrap())
        .next()
        .expect("a POST form");
    let mut hidden = HashMap::new();
    for i in form.select(&Selector::parse("input[type=hidden]").unwrap()) {
        hidden.insert(
            i.attr("name").unwrap().to_string(),
            i.attr("value").unwrap_or("").to_string(),
        );
    }
    let starts = form
        .select(&Selector::parse("input[type=radio][name=start]").unwrap())
        .map(|i| i.attr("value").unwrap().to_string())
        .collect();
    OfferedForm {
        action: form.attr("action").unwrap_or("").to_string(),
        hidden,
        starts,
    }
}

impl TestApp {
    /// A second `serve` process on the same database and secret key: its own port, its own
    /// in-memory state (and its own Knock sandbox), as behind a load balancer.
    #[allow(dead_code)]
    pub async fn another_process(&self) -> TestApp {
        let mut settings = (*self.settings).clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.public_url.set_port(Some(0)).unwrap();
        serve(settings, self._db.clone(), None).await
    }

    /// A second `serve` process on the same database that talks to this one's Knock, as
    /// processes behind a load balancer share one Knock.
    #[allow(dead_code)]
    pub async fn another_process_same_knock(&self) -> TestApp {
        let mut settings = (*self.settings).clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.public_url.set_port(Some(0)).unwrap();
        let url = url::Url::parse(&format!("{}/", self.sandbox_url)).unwrap();
        settings.knock.base_url = Some(url.clone());
        serve(
            settings,
            self._db.clone(),
            Some((self.sandbox.clone(), url)),
        )
        .await
    }

    /// A second start of an app from [`spawn_served`]: the same settings' sources (so a
    /// fresh random key unless one is kept), the same database and data directory.
    #[allow(dead_code)]
    pub async fn restart_served(&self) -> TestApp {
        let env = self.served_env.clone().expect("an app from spawn_served");
        start_served(env, self._db.clone(), None).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, client: &reqwest::Client, path: &str) -> (u16, String) {
        let r = client.get(self.url(path)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn landing(&self, client: &reqwest::Client, path: &str) -> OfferedForm {
        let (status, html) = self.get(client, path).await;
        assert_eq!(status, 200, "{html}");
        offered_form(&html)
    }

    /// Posts a form as a browser on our page would (same-origin headers).
    pub async fn post_form(
        &self,
        client: &reqwest::Client,
        path: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// The renter's fields with the page's hidden ones and the chosen start.
    pub fn fill(
        form: &OfferedForm,
        start: &str,
        overrides: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = form
            .hidden
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut mine: Vec<(&str, &str)> = vec![
            ("first_name", "Grace"),
            ("last_name", "Hopper"),
            ("email", "grace@example.com"),
            ("phone", "(206) 555-0155"),
            ("start", start),
            ("bedrooms", "1_BEDROOM"),
            ("message", ""),
            ("move_date", ""),
        ];
        for (k, v) in overrides {
            mine.retain(|(mk, _)| mk != k);
            mine.push((k, v));
        }
        fields.extend(
            mine.into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        fields
    }

    /// Books the first offered slot (or `start`) and returns the booking page path.
    pub async fn book(
        &self,
        client: &reqwest::Client,
        landing_path: &str,
        start: Option<&str>,
    ) -> String {
        self.book_as(client, landing_path, start, &[]).await
    }

    /// [`TestApp::book`] for the renter `overrides` make of the default one: a renter has one
    /// live booking per community (by e-mail or phone), so a second booking at a community
    /// needs another renter.
    pub async fn book_as(
        &self,
        client: &reqwest::Client,
        landing_path: &str,
        start: Option<&str>,
        overrides: &[(&str, &str)],
    ) -> String {
        let form = self.landing(client, landing_path).await;
        let chosen = start
            .map(str::to_string)
            .unwrap_or_else(|| form.starts[0].clone());
        let mut r = self
            .post_form(client, &form.action, &Self::fill(&form, &chosen, overrides))
            .await;
        if start.is_none() && r.status().as_u16() == 409 {
            // The earliest time can pass its minimum notice between reading the page and
            // posting it; the answer offers fresh times, as a renter would see them.
            let fresh = offered_form(&r.text().await.unwrap());
            r = self
                .post_form(
                    client,
                    &fresh.action,
                    &Self::fill(&fresh, &fresh.starts[0], overrides),
                )
                .await;
        }
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        r.headers()[LOCATION].to_str().unwrap().to_string()
    }

    /// Drives the booking worker as if `at` had come.
    pub async fn run_worker_at(&self, at: DateTime<Utc>) -> usize {
        self.bookings
            .finish_pending(&self.settings.communities, at)
            .await
            .unwrap()
    }
}

/// Puts a booking straight into `state`, for what is otherwise reached only by waiting hours
/// (failed, no-show) or for checks against a given state.
pub async fn set_state(store: &Store, id: &str, state: &str) {
    let sql = "UPDATE bookings SET state = $1 WHERE id = $2";
    let changed = match store.db() {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(state)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(state)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(changed.unwrap(), 1);
}

/// A live booking as the invariant check reads it straight from the database.
#[derive(Debug)]
struct LiveBooking {
    id: String,
    state: String,
    appointment: Option<String>,
    slot_start: DateTime<Utc>,
}

/// Tourgate and Knock agree on every booking. Drains the outbox at now (so that queued Knock
/// cancels have landed), then checks, against this app's database and its own sandbox:
///
/// - every live booking (confirmed or in progress) has a Knock appointment id, and the
///   sandbox holds exactly one CONFIRMED appointment with that id, starting at the booking's
///   start;
/// - every CONFIRMED self-guided appointment in the sandbox is some live booking's appointment.
///
/// Fails with every mismatch listed, and the Knock deliveries still undelivered, if any.
/// For an app whose bookings all went through its own sandbox (not `another_process`'s).
#[allow(dead_code)]
pub async fn assert_knock_agrees(app: &TestApp) {
    use knock_sandbox::{AppointmentStatus, TourType};
    use tourgate::outbox::JobState;
    app.outbox
        .drain(Utc::now())
        .await
        .expect("the outbox drains");
    let sql = "SELECT id, state, knock_appointment_id, slot_start FROM bookings \
               WHERE state IN ('confirmed', 'in_progress') ORDER BY id";
    type Row = (String, String, Option<String>, DateTime<Utc>);
    let rows: Vec<Row> = match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("live bookings are read");
    let live: Vec<LiveBooking> = rows
        .into_iter()
        .map(|(id, state, appointment, slot_start)| LiveBooking {
            id,
            state,
            appointment,
            slot_start,
        })
        .collect();
    // Requests waiting for staff (needs attention, awaiting the office): staff are told of the
    // Knock appointment they stand for, by id or by its start.
    let sql = "SELECT knock_appointment_id, slot_start FROM bookings \
               WHERE state = 'requesting' AND review IS NOT NULL";
    let waiting: Vec<(Option<String>, DateTime<Utc>)> = match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("waiting bookings are read");
    let snapshot = app.sandbox.snapshot();
    let mut mismatches = Vec::new();
    for b in &live {
        let Some(appointment) = &b.appointment else {
            mismatches.push(format!(
                "booking {} is {} without a Knock appointment id",
                b.id, b.state
            ));
            continue;
        };
        let confirmed: Vec<_> = snapshot
            .appointments
            .iter()
            .filter(|a| &a.id == appointment && a.status == AppointmentStatus::Confirmed)
            .collect();
        match confirmed.as_slice() {
            [a] if a.start == b.slot_start => {}
            [a] => mismatches.push(format!(
                "booking {} ({}) starts at {} but its Knock appointment {appointment} at {}",
                b.id, b.state, b.slot_start, a.start
            )),
            [] => {
                let status = snapshot
                    .appointments
                    .iter()
                    .find(|a| &a.id == appointment)
                    .map_or("unknown to Knock".to_string(), |a| {
                        format!("{:?} in Knock", a.status)
                    });
                mismatches.push(format!(
                    "booking {} is {} but its Knock appointment {appointment} is {status}",
                    b.id, b.state
                ));
            }
            many => mismatches.push(format!(
                "booking {}: {} CONFIRMED Knock appointments with id {appointment}",
                b.id,
                many.len()
            )),
        }
    }
    for a in snapshot
        .appointments
        .iter()
        .filter(|a| a.status == AppointmentStatus::Confirmed && a.tour_type == TourType::SelfGuided)
    {
        let held = live
            .iter()
            .any(|b| b.appointment.as_deref() == Some(a.id.as_str()));
        let staff_told = waiting.iter().any(|(id, start)| match id {
            Some(id) => id == &a.id,
            None => *start == a.start,
        });
        if !held && !staff_told {
            mismatches.push(format!(
                "Knock appointment {} (prospect {}, {}) is CONFIRMED but no live booking holds it",
                a.id, a.prospect_id, a.start
            ));
        }
    }
    if mismatches.is_empty() {
        return;
    }
    let pending: Vec<String> = app
        .app_store
        .outbox_jobs(None, 100)
        .await
        .map(|jobs| {
            jobs.into_iter()
                .filter(|j| !matches!(j.state, JobState::Delivered | JobState::Skipped))
                .map(|j| {
                    format!(
                        "job {} {} of {}: {} ({})",
                        j.id,
                        j.kind.as_str(),
                        j.booking_id,
                        j.state.as_str(),
                        j.last_error.as_deref().unwrap_or("no error")
                    )
                })
                .collect()
        })
        .unwrap_or_else(|e| vec![format!("(outbox not read: {e})")]);
    let appointments: Vec<String> = snapshot
        .appointments
        .iter()
        .map(|a| format!("{} {:?} {:?} {}", a.id, a.status, a.tour_type, a.start))
        .collect();
    panic!(
        "Tourgate and Knock disagree:\n  {}\nlive bookings: {live:?}\nKnock appointments: \
         {appointments:?}\njobs not delivered: {pending:?}",
        mismatches.join("\n  ")
    );
}

/// The booking's change hold as stored (`None`: nobody holds it).
#[allow(dead_code)]
pub async fn change_hold_of(store: &Store, id: &str) -> Option<DateTime<Utc>> {
    let sql = "SELECT change_held_until FROM bookings WHERE id = $1";
    let row: Result<(Option<DateTime<Utc>>,), sqlx::Error> = match store.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).bind(id).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).bind(id).fetch_one(p).await,
    };
    row.expect("the booking exists").0
}

/// Sets the booking's change hold, as a process that took it (and perhaps died) left it.
#[allow(dead_code)]
pub async fn set_change_hold(store: &Store, id: &str, until: Option<DateTime<Utc>>) {
    let sql = "UPDATE bookings SET change_held_until = $1 WHERE id = $2";
    let changed = match store.db() {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(until)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(until)
            .bind(id)
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    };
    assert_eq!(changed.unwrap(), 1);
}

/// Waits (polling, ten seconds at most) until a change holds the booking.
#[allow(dead_code)]
pub async fn wait_for_change_hold(store: &Store, id: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if change_hold_of(store, id)
            .await
            .is_some_and(|t| t > Utc::now())
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no change took the hold of booking {id} within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The links to booking page `page` (a path) in the plain-text parts of `raw` mails, as the
/// renter's mail client shows them.
#[allow(dead_code)]
pub fn links_in_mail(raw: &[u8], page: &str) -> Vec<String> {
    let Ok(mail) = mailparse::parse_mail(raw) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut parts = vec![&mail];
    while let Some(part) = parts.pop() {
        if part.ctype.mimetype == "text/plain" {
            if let Ok(body) = part.get_body() {
                out.extend(
                    body.split_whitespace()
                        .filter(|w| w.starts_with("http") && w.contains(page))
                        .map(str::to_string),
                );
            }
        }
        parts.extend(part.subparts.iter());
    }
    out
}

impl TestApp {
    /// The mails written under this app's data folder (no SMTP_URL), oldest first.
    #[allow(dead_code)]
    pub fn mail_files(&self) -> Vec<Vec<u8>> {
        let Ok(dir) = std::fs::read_dir(self.settings.data_dir.join("mail")) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, Vec<u8>)> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| {
                let at = e.metadata().ok()?.modified().ok()?;
                Some((at, std::fs::read(e.path()).ok()?))
            })
            .collect();
        files.sort_by_key(|f| f.0);
        files.into_iter().map(|f| f.1).collect()
    }

    /// The link to booking page `page` that our mail to the renter carries (with its proof of
    /// e-mail), from the mail written to files. None before any such mail was sent.
    #[allow(dead_code)]
    pub fn mailed_link(&self, page: &str) -> Option<String> {
        self.mail_files()
            .iter()
            .flat_map(|m| links_in_mail(m, page))
            .find(|l| l.contains("proof="))
    }

    /// What the renter does: sends the mail due now (the confirmation) and opens the booking
    /// link in it with `client`, whose cookie jar then holds the proof of e-mail.
    #[allow(dead_code)]
    pub async fn open_mailed_link(&self, client: &reqwest::Client, page: &str) {
        if self.mailed_link(page).is_none() {
            self.outbox
                .drain(Utc::now())
                .await
                .expect("the outbox drains");
        }
        let link = self
            .mailed_link(page)
            .expect("a mail to the renter carries the booking link");
        let r = client.get(&link).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "{link}");
        assert_eq!(r.headers()[LOCATION].to_str().unwrap(), page);
    }

    /// This app with `extra` lines added to Maple Court's entry in the communities file.
    #[allow(dead_code)]
    pub async fn with_maple(backend: Backend, extra: &str, env: &[(&str, &str)]) -> TestApp {
        let file =
            std::env::temp_dir().join(format!("tourgate-communities-{}.toml", random_name()));
        let text = COMMUNITIES.replacen(
            "units = [\"101\", \"102\", \"2B\"]",
            &format!("units = [\"101\", \"102\", \"2B\"]\n{extra}"),
            1,
        );
        std::fs::write(&file, text).unwrap();
        let path = file.display().to_string();
        let mut all: Vec<(&str, &str)> = vec![("TOURGATE_COMMUNITIES", &path)];
        all.extend_from_slice(env);
        spawn_app_with(backend, &all).await
    }
}
