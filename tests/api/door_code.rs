//! The door code goes only to the renter: the booking page shows it to a browser that opened
//! the link we e-mailed, and the code is stored nowhere and never sent to Knock. And the
//! workers' prune of what is kept only for a while.
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Duration, Utc};
use tourgate::access::{CodeProvider, EmailProof};
use tourgate::booking::{BookingId, MANAGE_LINK_MAILS_PER_WINDOW};
use tourgate::outbox::{Job, JobKind, JobState};
use tourgate::store::{Db, Pruned};

use crate::callbacks::{attr, booking_id, callback, granted, MAPLE};
use crate::helpers::{client, links_in_mail, offered_form, spawn_app, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::TestSmtp;

const CODE_NOW: &str = "code_shown_before_minutes = 1440\ncode_valid_before_minutes = 1440";

async fn booking_of(app: &TestApp, c: &reqwest::Client, page: &str) -> tourgate::booking::Booking {
    let html = app.get(c, page).await.1;
    let id = BookingId::parse(&booking_id(&html)).unwrap();
    app.app_store.booking_by_id(&id).await.unwrap().unwrap()
}

fn code_of(app: &TestApp, b: &tourgate::booking::Booking) -> String {
    CodeProvider::new(app.settings.secret_key.expose())
        .code_for(&b.id, b.slot_start())
        .reveal()
        .to_string()
}

on_both_backends!(
    the_page_reached_from_the_form_shows_no_code_until_the_emailed_link_is_opened,
    |b: Backend| async move {
        let app = TestApp::with_maple(b, CODE_NOW, &[]).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let booking = booking_of(&app, &c, &page).await;
        let code = code_of(&app, &booking);

        // Whoever posted the form: the booking, no code, and what to do.
        let html = app.get(&c, &page).await.1;
        assert!(attr(&html, "data-access-code").is_none());
        assert!(!html.contains(&code), "{html}");
        assert!(attr(&html, "data-code-needs-proof").is_some(), "{html}");
        assert!(html.contains("g***@example.com"), "{html}");
        assert!(!html.contains("grace@example.com"));

        // A made-up proof, or another booking's, sets nothing and lands on the clean page.
        let other = app
            .book_as(
                &client(),
                MAPLE,
                None,
                &[("email", "ada@example.com"), ("phone", "(206) 555-0199")],
            )
            .await;
        let other_booking = booking_of(&app, &c, &other).await;
        let proof = EmailProof::new(app.settings.secret_key.expose());
        for bad in ["nonsense".to_string(), proof.for_booking(&other_booking.id)] {
            let r = c
                .get(app.url(&format!("{page}?proof={bad}")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 303);
            assert_eq!(r.headers()["location"].to_str().unwrap(), page);
            assert!(r.headers().get("set-cookie").is_none());
        }
        assert!(attr(&app.get(&c, &page).await.1, "data-access-code").is_none());

        // The confirmation carries the link with its proof; opening it keeps the proof in a
        // cookie for this booking's pages only and leaves the clean address.
        app.outbox.drain(Utc::now()).await.unwrap();
        let link = app.mailed_link(&page).expect("the e-mailed link");
        assert!(link.contains("?proof="), "{link}");
        let r = c.get(&link).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(), page);
        assert_eq!(
            r.headers()["referrer-policy"].to_str().unwrap(),
            "no-referrer"
        );
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("tg_proof="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains(&format!("Path={page}")), "{cookie}");
        assert!(cookie.contains("Max-Age="), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
        let html = app.get(&c, &page).await.1;
        assert_eq!(
            attr(&html, "data-access-code").as_deref(),
            Some(code.as_str())
        );
        assert!(attr(&html, "data-code-needs-proof").is_none());
        // The cookie is this booking's: the other booking's page still wants its own proof.
        assert!(attr(&app.get(&c, &other).await.1, "data-access-code").is_none());
        // Another browser with only the booking link: no code.
        assert!(attr(&app.get(&client(), &page).await.1, "data-access-code").is_none());
    }
);

on_both_backends!(
    a_staffed_lobby_may_show_the_code_without_proof_of_email,
    |b: Backend| async move {
        let extra = format!("{CODE_NOW}\ndoor_code_needs_email_proof = false");
        let app = TestApp::with_maple(b, &extra, &[]).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let booking = booking_of(&app, &c, &page).await;
        let html = app.get(&c, &page).await.1;
        assert_eq!(
            attr(&html, "data-access-code"),
            Some(code_of(&app, &booking))
        );
        assert!(attr(&html, "data-send-link").is_none());
    }
);

fn send_link_form(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("form[action$='/send-link']").unwrap();
    let form = doc.select(&sel).next().expect("the send-link form");
    offered_form(&form.html()).hidden.into_iter().collect()
}

on_both_backends!(
    the_link_can_be_sent_again_a_few_times_an_hour,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let booking = booking_of(&app, &c, &page).await;
        let html = app.get(&c, &page).await.1;
        // Not due yet (an hour before): the page says when, and how to see it then.
        assert!(attr(&html, "data-code-appears").is_some(), "{html}");
        assert!(html.contains("g***@example.com"), "{html}");
        let fields = send_link_form(&html);
        let action = format!("{page}/send-link");
        for _ in 0..MANAGE_LINK_MAILS_PER_WINDOW {
            let r = app.post_form(&c, &action, &fields).await;
            assert_eq!(r.status().as_u16(), 200);
            let html = r.text().await.unwrap();
            assert!(html.contains("We have e-mailed the link again"), "{html}");
        }
        let r = app.post_form(&c, &action, &fields).await;
        assert_eq!(r.status().as_u16(), 429);
        // Without the form token: refused, nothing queued.
        let r = app.post_form(&c, &action, &[]).await;
        assert_eq!(r.status().as_u16(), 403);
        let links: Vec<JobState> = app
            .app_store
            .outbox_jobs_for_booking(&booking.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| matches!(j.job(), Ok(Job::Email(e)) if e.mail == "booking_link"))
            .map(|j| j.state)
            .collect();
        assert_eq!(links.len(), MANAGE_LINK_MAILS_PER_WINDOW);
        let history = app.app_store.booking_events(&booking.id).await.unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|e| e.kind == "booking_link_sent")
                .count(),
            MANAGE_LINK_MAILS_PER_WINDOW
        );

        // The mail sent again carries the link with its proof, which works.
        app.outbox.drain(Utc::now()).await.unwrap();
        let subjects: Vec<String> = app
            .mail_files()
            .iter()
            .map(|m| {
                use mailparse::MailHeaderMap;
                mailparse::parse_mail(m)
                    .unwrap()
                    .headers
                    .get_first_value("Subject")
                    .unwrap()
            })
            .collect();
        assert!(
            subjects
                .iter()
                .any(|s| s == "Your tour at Maple Court Apartments: the link to your booking"),
            "{subjects:?}"
        );
        app.open_mailed_link(&c, &page).await;
        let html = app.get(&c, &page).await.1;
        assert!(attr(&html, "data-send-link").is_none(), "proved: {html}");
        assert!(!html.contains("g***@example.com"));
    }
);

/// Where the code may hide: every occurrence of `needle` in `hay` that is not part of a longer
/// run of digits or a fraction of a second (timestamps carry six-digit fractions), with its
/// surroundings.
fn occurrences(hay: &[u8], needle: &str) -> Vec<String> {
    let n = needle.as_bytes();
    let mut found = Vec::new();
    if hay.len() < n.len() {
        return found;
    }
    for i in 0..=hay.len() - n.len() {
        if &hay[i..i + n.len()] != n {
            continue;
        }
        let before = i.checked_sub(1).map(|j| hay[j]);
        let after = hay.get(i + n.len()).copied();
        let digit = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_digit());
        if digit(before) || digit(after) || before == Some(b'.') {
            continue;
        }
        let from = i.saturating_sub(60);
        let to = (i + n.len() + 60).min(hay.len());
        found.push(String::from_utf8_lossy(&hay[from..to]).to_string());
    }
    found
}

#[derive(Clone)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything this test binary logs from now on, at debug (our crates at trace), but for the
/// tests' own client: its HTML parsing (which reads the code off the page, as the renter
/// does) and its cookie jar (which keeps the proof, as the renter's browser does).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = LogBuffer(buf.clone());
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,tourgate=trace,knock_sandbox=trace,h2=info,hyper=info,hyper_util=info,\
                 rustls=info,mio=info,reqwest=info,html5ever=off,markup5ever=off,selectors=off,\
                 scraper=off,cookie_store=off",
            ))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("no other test installs a global subscriber");
        buf
    })
    .clone()
}

/// Every text column of every table of the app's database, or its files on SQLite.
async fn database_contents(app: &TestApp) -> Vec<u8> {
    match app.app_store.db() {
        Db::Sqlite(_) => {
            let tourgate::config::DatabaseUrl::Sqlite(url) = &app.settings.database else {
                panic!("a SQLite store has a SQLite URL");
            };
            let path = url.trim_start_matches("sqlite://");
            let mut all = Vec::new();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                if let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) {
                    all.extend(bytes);
                }
            }
            assert!(!all.is_empty(), "the database file {path} is read");
            all
        }
        Db::Postgres(p) => {
            let tables: Vec<(String,)> = sqlx::query_as(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            )
            .fetch_all(p)
            .await
            .unwrap();
            assert!(tables.iter().any(|(t,)| t == "outbox_jobs"), "{tables:?}");
            let mut all = Vec::new();
            for (t,) in tables {
                let rows: Vec<(String,)> =
                    sqlx::query_as(&format!("SELECT row_to_json(t)::text FROM \"{t}\" t"))
                        .fetch_all(p)
                        .await
                        .unwrap();
                for (r,) in rows {
                    all.extend(r.into_bytes());
                    all.push(b'\n');
                }
            }
            all
        }
    }
}

on_both_backends!(
    the_door_code_is_stored_nowhere_logged_nowhere_and_never_sent_to_knock,
    |b: Backend| async move {
        let logs = captured_logs();
        let smtp = TestSmtp::start();
        let app = TestApp::with_maple(b, CODE_NOW, &[("SMTP_URL", smtp.url.as_str())]).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let booking = booking_of(&app, &c, &page).await;
        let code = code_of(&app, &booking);
        let proof = EmailProof::new(app.settings.secret_key.expose()).for_booking(&booking.id);

        // The confirmation and the access instructions (due at once here) go out; Knock gets
        // a log of each.
        app.outbox.drain(Utc::now()).await.unwrap();
        let got = smtp.wait_for(2);
        let bodies: Vec<String> = got
            .iter()
            .map(|m| {
                let parsed = mailparse::parse_mail(&m.data).unwrap();
                let mut text = String::new();
                let mut parts = vec![&parsed];
                while let Some(p) = parts.pop() {
                    if p.subparts.is_empty() {
                        text.push_str(&p.get_body().unwrap());
                    }
                    parts.extend(p.subparts.iter());
                }
                text
            })
            .collect();
        // The mail sent to the renter has the code (and the search finds it there).
        assert!(
            bodies
                .iter()
                .any(|t| !occurrences(t.as_bytes(), &code).is_empty()),
            "the access mail carries the code"
        );
        // The renter opens the link, sees the code, and opens the door with it.
        let link = got
            .iter()
            .flat_map(|m| links_in_mail(&m.data, &page))
            .find(|l| l.contains("proof="))
            .expect("the mailed link");
        assert_eq!(c.get(&link).send().await.unwrap().status().as_u16(), 303);
        let html = app.get(&c, &page).await.1;
        assert_eq!(attr(&html, "data-access-code"), Some(code.clone()));
        let lock = "/sandbox/lock/maple-court";
        let keypad = offered_form(&app.get(&c, lock).await.1);
        let fields = [
            (
                "csrf_token".to_string(),
                keypad.hidden["csrf_token"].clone(),
            ),
            ("code".to_string(), code.clone()),
        ];
        let r = app.post_form(&c, &keypad.action, &fields).await;
        assert_eq!(r.status().as_u16(), 200);
        app.outbox.drain(Utc::now()).await.unwrap();

        // Knock's log of the access mail says a code was sent, not which.
        let snap = app.sandbox.snapshot();
        let access_log = snap
            .emails
            .iter()
            .find(|e| e.subject.starts_with("How to get in"))
            .expect("the access mail is logged in Knock");
        assert!(
            access_log.body.contains(tourgate::mail::CODE_IN_LOG),
            "{}",
            access_log.body
        );

        let knock = serde_json::to_vec(&snap).unwrap();
        let database = database_contents(&app).await;
        let log_text = logs.lock().unwrap().clone();
        assert!(!log_text.is_empty(), "logs are captured");
        for (place, bytes) in [
            ("the database", &database),
            ("Knock's records", &knock),
            ("the logs", &log_text),
        ] {
            let found = occurrences(bytes, &code);
            assert!(found.is_empty(), "the door code is in {place}: {found:?}");
            let found = occurrences(bytes, &proof);
            assert!(
                found.is_empty(),
                "the e-mail proof is in {place}: {found:?}"
            );
        }
        // Every job's payload, read through the app.
        for j in app
            .app_store
            .outbox_jobs_for_booking(&booking.id)
            .await
            .unwrap()
        {
            assert!(!j.payload.contains(&code), "{:?} carries the code", j.kind);
        }
    }
);

/// A staff session as stored, begun at `created` and last seen at `seen`.
async fn insert_session(
    app: &TestApp,
    id: &str,
    staff: i64,
    created: DateTime<Utc>,
    seen: DateTime<Utc>,
) {
    let sql = "INSERT INTO staff_sessions (id, staff_id, created_at, last_seen_at) VALUES ($1, $2, $3, $4)";
    match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(id)
            .bind(staff)
            .bind(created)
            .bind(seen)
            .execute(p)
            .await
            .map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(id)
            .bind(staff)
            .bind(created)
            .bind(seen)
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row: (i64,) = match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_one(p).await,
    }
    .unwrap();
    row.0
}

async fn set_job(app: &TestApp, id: i64, state: &str, at: DateTime<Utc>) {
    let sql = "UPDATE outbox_jobs SET state = $1, updated_at = $2 WHERE id = $3";
    match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query(sql)
            .bind(state)
            .bind(at)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql)
            .bind(state)
            .bind(at)
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()),
    }
    .unwrap();
}

on_both_backends!(
    the_prune_forgets_old_webhook_ids_finished_jobs_and_ended_sessions_and_keeps_the_rest,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let start = form
            .starts
            .iter()
            .find(|s| DateTime::parse_from_rfc3339(s).unwrap() > Utc::now() + Duration::hours(30))
            .expect("a slot more than a day ahead")
            .clone();
        let page = app.book(&c, MAPLE, Some(&start)).await;
        let booking = booking_of(&app, &c, &page).await;
        let now = Utc::now();
        // The confirmation and its Knock log are delivered; the other mails wait.
        app.outbox.drain(now).await.unwrap();
        let jobs = app
            .app_store
            .outbox_jobs_for_booking(&booking.id)
            .await
            .unwrap();
        let mail = |m: &str| {
            jobs.iter()
                .find(|j| matches!(j.job(), Ok(Job::Email(e)) if e.mail == m))
                .unwrap()
                .id
        };
        set_job(&app, mail("reminder_24h"), "dead", now).await;
        set_job(&app, mail("access_instructions"), "skipped", now).await;
        assert_eq!(
            jobs.iter()
                .filter(|j| j.state == JobState::Delivered)
                .count(),
            2,
            "{jobs:?}"
        );
        assert!(jobs.iter().any(|j| j.kind == JobKind::EmailLog));
        let (s, _) = callback(&app, "msg_prune_1", granted(booking.id.as_str(), now)).await;
        assert_eq!(s, 200);
        let staff = app
            .app_store
            .insert_staff("pat@example.com", "not-a-hash", true, &[], "cli", now)
            .await
            .unwrap()
            .unwrap();
        insert_session(
            &app,
            "idle",
            staff,
            now - Duration::hours(10),
            now - Duration::hours(9),
        )
        .await;
        insert_session(&app, "too-old", staff, now - Duration::hours(13), now).await;
        insert_session(&app, "live", staff, now - Duration::hours(1), now).await;
        let history = app
            .app_store
            .booking_events(&booking.id)
            .await
            .unwrap()
            .len();
        assert!(history > 0);

        let keep = app.settings.retention;
        let prune = |at| tourgate::booking::prune_old_records(&app.app_store, &keep, at);
        let jobs_left = || count(&app, "SELECT COUNT(*) FROM outbox_jobs");
        let total = jobs_left().await;

        // Now: only the sessions that are over go.
        assert_eq!(
            prune(now).await.unwrap(),
            Pruned {
                webhooks: 0,
                jobs: 0,
                sessions: 2
            }
        );
        let sessions: Vec<(String,)> = match app.app_store.db() {
            Db::Sqlite(p) => {
                sqlx::query_as("SELECT id FROM staff_sessions")
                    .fetch_all(p)
                    .await
            }
            Db::Postgres(p) => {
                sqlx::query_as("SELECT id FROM staff_sessions")
                    .fetch_all(p)
                    .await
            }
        }
        .unwrap();
        assert_eq!(sessions, [("live".to_string(),)]);
        // A day on: the live one is idle too; webhook ids and jobs are kept.
        assert_eq!(
            prune(now + Duration::days(1)).await.unwrap(),
            Pruned {
                webhooks: 0,
                jobs: 0,
                sessions: 1
            }
        );
        // A month on: the webhook id goes; finished jobs stay for 90 days.
        assert_eq!(
            prune(now + Duration::days(31)).await.unwrap(),
            Pruned {
                webhooks: 1,
                jobs: 0,
                sessions: 0
            }
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM access_callbacks").await,
            0
        );
        assert_eq!(jobs_left().await, total);
        assert_eq!(
            prune(now + Duration::days(89)).await.unwrap(),
            Pruned::default()
        );
        // 91 days on: delivered and skipped rows go; pending and dead ones, and the booking's
        // history, stay.
        assert_eq!(
            prune(now + Duration::days(91)).await.unwrap(),
            Pruned {
                webhooks: 0,
                jobs: 3,
                sessions: 0
            }
        );
        let left: Vec<(String, JobState)> = app
            .app_store
            .outbox_jobs_for_booking(&booking.id)
            .await
            .unwrap()
            .into_iter()
            .map(|j| match j.job() {
                Ok(Job::Email(e)) => (e.mail, j.state),
                _ => (j.kind.as_str().to_string(), j.state),
            })
            .collect();
        assert_eq!(
            left,
            [
                ("reminder_24h".to_string(), JobState::Dead),
                ("reminder_1h".to_string(), JobState::Pending)
            ]
        );
        assert_eq!(
            app.app_store
                .booking_events(&booking.id)
                .await
                .unwrap()
                .len(),
            history
        );
    }
);
