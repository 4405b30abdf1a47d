//! The demo as `tourgate serve` starts it with nothing configured: `/` explains it, a staff
//! account exists to sign in with, a restart keeps the secret key (door codes, staff
//! sessions) and Knock's records, and the demo community's codes work for any upcoming tour.
//! Beside it Cedar Lofts is on a Seam lock: the Seam emulator runs in the process (real time,
//! its webhook to our `/callbacks/seam`), its keypad is the demo lock page, and a restart sets
//! the codes on the emptied emulator again.
use chrono::{DateTime, Duration, SubsecRound, Utc};
use seam_sandbox::{seeds, SeamSandbox};
use tourgate::access::CodeProvider;
use tourgate::booking::{BookingId, BookingState};
use tourgate::domain::GrantState;

use crate::callbacks::{attr, booking_id, MAPLE};
use crate::helpers::{client, random_name, spawn_app, spawn_served, Backend, TestApp, COMMUNITIES};
use crate::on_both_backends;

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

/// The text of the first element carrying `name`.
fn text_of(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("[{name}]")).unwrap();
    doc.select(&sel)
        .next()
        .map(|e| e.text().collect::<String>().trim().to_string())
}

fn links(html: &str, kind: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("a[data-demo-link={kind}]")).unwrap();
    doc.select(&sel)
        .filter_map(|a| a.attr("href").map(str::to_string))
        .collect()
}

/// The demo account as the index shows it.
async fn demo_account(app: &TestApp) -> (String, String) {
    let (status, html) = app.get(&client(), "/").await;
    assert_eq!(status, 200, "{html}");
    (
        text_of(&html, "data-demo-email").expect("the account's e-mail"),
        text_of(&html, "data-demo-password").expect("the account's password"),
    )
}

async fn sign_in(app: &TestApp, c: &reqwest::Client, email: &str, password: &str) -> u16 {
    let form = app.landing(c, "/staff/login").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    app.post_form(c, "/staff/login", &fields)
        .await
        .status()
        .as_u16()
}

/// Enters `code` at the demo lock: whether the door opened.
async fn door_opens(app: &TestApp, code: &str) -> bool {
    let c = client();
    let form = app.landing(&c, "/sandbox/lock/maple-court").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("code".into(), code.into()));
    let r = app
        .post_form(&c, "/sandbox/lock/maple-court/open", &fields)
        .await;
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    let open = attr(&html, "data-door").as_deref() == Some("open");
    assert_eq!(open, status == 200, "{status}: {html}");
    open
}

/// The first offered start at least `ahead` from now.
async fn start_after(app: &TestApp, c: &reqwest::Client, ahead: Duration) -> String {
    let form = app.landing(c, MAPLE).await;
    form.starts
        .iter()
        .find(|s| DateTime::parse_from_rfc3339(s).unwrap() > Utc::now() + ahead)
        .expect("a start that far ahead")
        .clone()
}

on_both_backends!(
    the_demo_index_lists_the_renter_link_mailbox_lock_knock_view_and_the_staff_account,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let (status, html) = app.get(&client(), "/").await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(
            links(&html, "renter"),
            [
                "/tours/maple-court?utm_knock_source_title=Zillow%20Self%20Tour%20%26%20Co",
                "/tours/cedar-lofts?utm_knock_source_title=Zillow%20Self%20Tour%20%26%20Co"
            ]
        );
        assert_eq!(links(&html, "mailbox"), ["/sandbox/mail"]);
        assert_eq!(
            links(&html, "lock"),
            ["/sandbox/lock/maple-court", "/sandbox/lock/cedar-lofts"]
        );
        assert_eq!(
            links(&html, "knock"),
            [format!("{}/_sandbox", app.sandbox_url)]
        );
        assert_eq!(links(&html, "staff"), ["/staff/login"]);
        let (email, password) = demo_account(&app).await;
        assert_eq!(email, tourgate::demo::STAFF_EMAIL);
        assert_eq!(
            password,
            tourgate::demo::staff_password(&app.settings.secret_key).expose()
        );
        // Every link answers.
        for path in [
            "/tours/maple-court",
            "/tours/cedar-lofts",
            "/sandbox/mail",
            "/sandbox/lock/maple-court",
            "/sandbox/lock/cedar-lofts",
        ] {
            assert_eq!(app.get(&client(), path).await.0, 200, "{path}");
        }
    }
);

on_both_backends!(
    the_demo_staff_account_signs_in_and_sees_the_staff_area,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let (email, password) = demo_account(&app).await;
        let c = client();
        assert_eq!(sign_in(&app, &c, &email, "wrong password here").await, 401);
        assert_eq!(sign_in(&app, &c, &email, &password).await, 303);
        let (status, html) = app.get(&c, "/staff").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Maple Court Apartments"), "{html}");
    }
);

on_both_backends!(
    outside_demo_mode_the_index_shows_nothing_of_the_demo_and_no_demo_state_is_made,
    |b: Backend| async move {
        // A real deployment (Knock configured) talking to a sandbox that stands in for Knock.
        let knock = spawn_app(b).await;
        let communities =
            std::env::temp_dir().join(format!("tourgate-communities-{}.toml", random_name()));
        std::fs::write(&communities, COMMUNITIES).unwrap();
        let knock_url = url::Url::parse(&format!("{}/", knock.sandbox_url)).unwrap();
        let communities = communities.display().to_string();
        let app = spawn_served(
            b,
            &[
                ("KNOCK_BASE_URL", knock_url.as_str()),
                ("KNOCK_API_KEY", knock_sandbox::STAGE_PROSPECT_KEY),
                ("KNOCK_AGENT_USERNAME", "tourgate"),
                (
                    "ACCESS_WEBHOOK_SECRET",
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                ),
                ("TOURGATE_SECRET_KEY", "0123456789abcdef0123456789abcdef"),
                ("TOURGATE_COMMUNITIES", &communities),
            ],
            Some((knock.sandbox.clone(), knock_url.clone())),
        )
        .await;
        assert!(!app.settings.demo());
        let (status, html) = app.get(&client(), "/").await;
        assert_eq!(status, 404, "{html}");
        for demo in [
            "demo-staff",
            "data-demo",
            "sandbox",
            tourgate::demo::staff_password(&app.settings.secret_key).expose(),
        ] {
            assert!(!html.contains(demo), "{demo}: {html}");
        }
        assert!(tourgate::staff::list(&app.app_store)
            .await
            .unwrap()
            .is_empty());
        assert!(!app.settings.data_dir.join("secret-key").exists());
        assert!(!app.settings.data_dir.join("knock-sandbox.json").exists());
        assert!(app.seam.is_none(), "no Seam emulator outside demo mode");
    }
);

on_both_backends!(
    a_restart_keeps_the_secret_key_so_door_codes_and_staff_sessions_and_knocks_records,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let booking = booking_of(&app, &c, &page).await;
        let code = code_of(&app, &booking);
        let (email, password) = demo_account(&app).await;
        let staff = client();
        assert_eq!(sign_in(&app, &staff, &email, &password).await, 303);
        let prospect = booking
            .knock_prospect_id
            .clone()
            .expect("Knock knows the renter");
        assert!(app
            .sandbox
            .snapshot()
            .prospects
            .iter()
            .any(|p| p.id == prospect));

        // The sandbox saves its calls together within a second (`knock_sandbox::SAVE_EVERY`).
        let kept_file = app.settings.data_dir.join("knock-sandbox.json");
        let appointment = booking
            .knock_appointment_id
            .clone()
            .expect("booked in Knock");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !std::fs::read_to_string(&kept_file)
            .is_ok_and(|saved| saved.contains(&prospect) && saved.contains(&appointment))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the sandbox saved its records"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }

        let again = app.restart_served().await;
        assert_ne!(again.base, app.base);
        // The same door code opens the door; the staff cookie is still a session.
        assert!(door_opens(&again, &code).await);
        let (status, _) = again.get(&staff, "/staff").await;
        assert_eq!(status, 200, "the staff session survives the restart");
        // The demo account still signs in with the password shown.
        assert_eq!(demo_account(&again).await, (email, password));
        // Knock's records: the prospect and its appointment are still known to Knock.
        let kept = again.sandbox.snapshot();
        assert!(kept.prospects.iter().any(|p| p.id == prospect), "{kept:?}");
        assert!(kept
            .appointments
            .iter()
            .any(|a| Some(&a.id) == booking.knock_appointment_id.as_ref()));
        assert!(matches!(
            again.sandbox.restored(),
            knock_sandbox::Restored::Loaded { prospects: 1, .. }
        ));
    }
);

#[tokio::test]
async fn a_corrupt_sandbox_state_file_is_set_aside_with_a_clear_message_and_the_demo_starts() {
    let data_dir = std::env::temp_dir().join(format!("tourgate-served-{}", random_name()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let file = data_dir.join("knock-sandbox.json");
    std::fs::write(&file, "not json at all").unwrap();
    let dir = data_dir.display().to_string();
    let app = spawn_served(Backend::Sqlite, &[("TOURGATE_DATA_DIR", &dir)], None).await;
    let restored = app.sandbox.restored();
    let knock_sandbox::Restored::SetAside { moved_to, .. } = restored else {
        panic!("set aside: {restored:?}");
    };
    assert_eq!(
        std::fs::read_to_string(moved_to).unwrap(),
        "not json at all"
    );
    let message = restored.to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("could not be read"), "{message}");
    assert!(message.contains("starts empty"), "{message}");
    // The demo runs, and keeps its records again.
    let c = client();
    app.book(&c, MAPLE, None).await;
    // Saved within `SAVE_EVERY`, polled for with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "written within SAVE_EVERY"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    assert!(app.sandbox.snapshot().prospects.len() == 1);
}

on_both_backends!(
    the_demo_communitys_code_opens_the_door_three_days_ahead_and_a_real_communitys_does_not,
    |b: Backend| async move {
        let demo = spawn_served(b, &[], None).await;
        let c = client();
        let start = start_after(&demo, &c, Duration::days(3)).await;
        let page = demo.book(&c, MAPLE, Some(&start)).await;
        let booking = booking_of(&demo, &c, &page).await;
        assert!(booking.slot_start() > Utc::now() + Duration::days(3));
        // The renter sees the code on the page reached from the mail, and it opens the door.
        demo.outbox.drain(Utc::now()).await.unwrap();
        demo.open_mailed_link(&c, &page).await;
        let code = code_of(&demo, &booking);
        let html = demo.get(&c, &page).await.1;
        assert_eq!(
            attr(&html, "data-access-code").as_deref(),
            Some(code.as_str())
        );
        assert!(door_opens(&demo, &code).await);

        // A community from a communities file keeps its day at most.
        let real = spawn_app(b).await;
        let c = client();
        let start = start_after(&real, &c, Duration::days(3)).await;
        let page = real.book(&c, MAPLE, Some(&start)).await;
        let booking = booking_of(&real, &c, &page).await;
        assert!(!door_opens(&real, &code_of(&real, &booking)).await);
    }
);

on_both_backends!(
    the_mailbox_shows_each_mail_decoded_its_html_in_a_sandboxed_frame,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let (_, list) = app.get(&c, "/sandbox/mail").await;
        let doc = scraper::Html::parse_document(&list);
        let sel = scraper::Selector::parse("[data-mail] h2 a").unwrap();
        let view = doc
            .select(&sel)
            .find(|a| a.text().collect::<String>().starts_with("How to get in"))
            .and_then(|a| a.attr("href"))
            .expect("the door-code mail, sent at once in the demo")
            .to_string();

        let (status, source) = app.get(&c, &format!("{view}/source")).await;
        assert_eq!(status, 200);
        assert!(
            source.contains("Content-Transfer-Encoding: quoted-printable"),
            "{source}"
        );

        let (status, html) = app.get(&c, &view).await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("grace@example.com"), "{html}");
        assert_eq!(
            attr(&html, "data-mail-html").as_deref(),
            Some(""),
            "a frame for the HTML part"
        );
        let text = text_of(&html, "data-mail-text").expect("the text part");
        assert!(!text.contains("=\r\n") && !text.contains("=3D"), "{text}");

        let r = c
            .get(app.url(&format!("{view}/html")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("sandbox") && csp.contains("frame-ancestors 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"), "{csp}");
        let body = r.text().await.unwrap();
        // Decoded: the door code and the booking link as the renter's mail client shows them.
        let booking = booking_of(&app, &c, &page).await;
        assert!(body.contains(&code_of(&app, &booking)), "{body}");
        assert!(body.contains(&format!("{page}?proof=")), "{body}");
        assert!(!body.contains("=3D"), "{body}");

        assert_eq!(app.get(&c, "/sandbox/mail/nothing.eml/html").await.0, 404);
    }
);

const CEDAR: &str = "/tours/cedar-lofts";
const CEDAR_LOCK: &str = "/sandbox/lock/cedar-lofts";

/// The demo's in-process Seam emulator.
fn emulator(app: &TestApp) -> SeamSandbox {
    app.seam
        .as_ref()
        .map(|(s, _)| s.clone())
        .expect("the demo starts the Seam emulator in the process")
}

/// Polls `done` until it holds, for what the emulator does in real time (its ticks).
async fn until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 15 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn grant_state(app: &TestApp, id: &BookingId) -> Option<GrantState> {
    app.app_store
        .access_grant(id)
        .await
        .unwrap()
        .map(|g| g.state)
}

/// Types `code` on the Seam lock's page: its status and HTML.
async fn at_the_seam_lock(app: &TestApp, code: &str) -> (u16, String) {
    let c = client();
    let form = app.landing(&c, CEDAR_LOCK).await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("code".into(), code.into()));
    let r = app
        .post_form(&c, &format!("{CEDAR_LOCK}/open"), &fields)
        .await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The emulator's live codes for booking `id` on the Front Door.
fn front_door_codes(seam: &SeamSandbox, id: &BookingId) -> Vec<seam_sandbox::AccessCodeRecord> {
    let name = format!("Tour {}", id.as_str());
    seam.access_codes(seeds::FRONT_DOOR)
        .into_iter()
        .filter(|c| c.name.as_deref() == Some(name.as_str()))
        .collect()
}

on_both_backends!(
    the_demo_runs_the_seam_emulator_in_process_with_its_webhook_to_us_and_its_keypad_makes_the_arrival,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let seam = emulator(&app);
        let settings = app.settings.seam.as_ref().expect("Seam settings");
        let url = &app.seam.as_ref().unwrap().1;
        assert_eq!(
            settings.endpoint.as_str().trim_end_matches('/'),
            url,
            "the adapter talks to the emulator"
        );
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(seam.api_key(), tourgate::config::SANDBOX_SEAM_API_KEY);
        let hooks = seam.webhooks();
        assert_eq!(hooks.len(), 1, "one webhook: {hooks:?}");
        assert_eq!(hooks[0].url, app.url("/callbacks/seam"));
        assert_eq!(hooks[0].secret, settings.webhook_secret.expose());
        assert_eq!(hooks[0].event_types, ["*"]);

        // The Front Door is offline for a moment: the code waits for it, as the page says.
        seam.set_device_offline(seeds::FRONT_DOOR, true).unwrap();
        let c = client();
        let page = app.book(&c, CEDAR, None).await;
        let booking = booking_of(&app, &c, &page).await;
        assert_eq!(booking.community_slug, tourgate::demo::SEAM_COMMUNITY);
        app.open_mailed_link(&c, &page).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let codes = front_door_codes(&seam, &booking.id);
        assert_eq!(codes.len(), 1, "the adapter created the booking's code");
        let code = code_of(&app, &booking);
        assert_eq!(codes[0].code.as_deref(), Some(code.as_str()));
        let (start, _) = codes[0].window.expect("a time-bound code");
        assert!(start < Utc::now(), "its window has begun: {start}");
        let html = app.get(&c, &page).await.1;
        assert_eq!(attr(&html, "data-code-waits").as_deref(), Some("setting"));
        assert!(!html.contains(&code), "no code before the lock has it");
        // The lock's page shows what it holds, never a PIN.
        let (status, lock) = app.get(&client(), CEDAR_LOCK).await;
        assert_eq!(status, 200);
        assert!(lock.contains(&format!("Tour {}", booking.id.as_str())), "{lock}");
        assert!(!lock.contains(&code), "{lock}");

        // Back online: the emulator sets it on its own and says so with its signed webhook.
        seam.set_device_offline(seeds::FRONT_DOOR, false).unwrap();
        until("the grant set through the emulator's webhook", || async {
            grant_state(&app, &booking.id).await == Some(GrantState::Set)
        })
        .await;
        let html = app.get(&c, &page).await.1;
        assert_eq!(attr(&html, "data-access-code").as_deref(), Some(code.as_str()));
        assert!(attr(&html, "data-code-waits").is_none());

        // A wrong PIN: the emulator's lock refuses it and nothing changes.
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let (status, html) = at_the_seam_lock(&app, wrong).await;
        assert_eq!(status, 403, "{html}");
        assert_eq!(attr(&html, "data-seam-entry").as_deref(), Some("denied"));
        assert_eq!(
            seam.events()
                .iter()
                .filter(|e| e.event_type == "lock.access_denied")
                .count(),
            1
        );
        assert_eq!(
            booking_of(&app, &c, &page).await.state,
            BookingState::Confirmed
        );

        // The code: the emulator opens, its webhook reaches us before the page answers.
        let (status, html) = at_the_seam_lock(&app, &code).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(attr(&html, "data-seam-entry").as_deref(), Some("unlocked"));
        assert!(attr(&html, "data-just-used").is_some(), "{html}");
        assert!(!html.contains(&code), "the PIN is masked: {html}");
        assert!(
            html.contains("reported it to Tourgate"),
            "{}",
            text_of(&html, "data-seam-reported").unwrap_or_default()
        );
        assert!(
            !html.contains("action=\"/sandbox/lock/cedar-lofts/finish\""),
            "no Finish tour on a Seam lock"
        );
        let unlocked: Vec<_> = seam
            .events()
            .into_iter()
            .filter(|e| e.event_type == "lock.unlocked")
            .collect();
        assert_eq!(unlocked.len(), 1);
        let arrived = booking_of(&app, &c, &page).await;
        assert_eq!(arrived.state, BookingState::InProgress);
        // The arrival is the lock's, as Seam's wire puts it (milliseconds).
        assert_eq!(
            arrived.first_access_at,
            Some(unlocked[0].occurred_at.trunc_subsecs(3))
        );
        // The built-in finish does not apply to a Seam lock.
        let form = app.landing(&c, CEDAR_LOCK).await;
        let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
        fields.push(("code".into(), code.clone()));
        let r = app
            .post_form(&c, &format!("{CEDAR_LOCK}/finish"), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 404);
        assert_eq!(
            booking_of(&app, &c, &page).await.state,
            BookingState::InProgress
        );
    }
);

on_both_backends!(
    a_restart_sets_the_seam_codes_again_on_the_emulator_which_starts_empty,
    |b: Backend| async move {
        let app = spawn_served(b, &[], None).await;
        let seam = emulator(&app);
        let c = client();
        let page = app.book(&c, CEDAR, None).await;
        let booking = booking_of(&app, &c, &page).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        until("the code set on the emulator's lock", || async {
            grant_state(&app, &booking.id).await == Some(GrantState::Set)
        })
        .await;
        let first = front_door_codes(&seam, &booking.id);
        assert_eq!(first.len(), 1);
        let code = code_of(&app, &booking);

        let again = app.restart_served().await;
        let fresh = emulator(&again);
        assert!(
            front_door_codes(&fresh, &booking.id).is_empty(),
            "a new emulator holds nothing"
        );
        // Not left as set: queued for the new emulator, as the booking's history says.
        assert_eq!(
            grant_state(&again, &booking.id).await,
            Some(GrantState::Issuing)
        );
        let history = again.app_store.booking_events(&booking.id).await.unwrap();
        assert!(
            history
                .iter()
                .any(|h| h.kind == tourgate::demo::REISSUE_KIND),
            "{history:?}"
        );
        again.outbox.drain(Utc::now()).await.unwrap();
        until("the code set on the new emulator's lock", || async {
            grant_state(&again, &booking.id).await == Some(GrantState::Set)
        })
        .await;
        let codes = front_door_codes(&fresh, &booking.id);
        assert_eq!(codes.len(), 1);
        assert_eq!(
            codes[0].code.as_deref(),
            Some(code.as_str()),
            "the same PIN"
        );
        assert_ne!(codes[0].access_code_id, first[0].access_code_id);
        let (status, html) = at_the_seam_lock(&again, &code).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(
            booking_of(&again, &c, &page).await.state,
            BookingState::InProgress
        );
        // A tour under way is set again too, once per start.
        let third = again.restart_served().await;
        assert_eq!(
            grant_state(&third, &booking.id).await,
            Some(GrantState::Issuing)
        );
        let history = third.app_store.booking_events(&booking.id).await.unwrap();
        assert_eq!(
            history
                .iter()
                .filter(|h| h.kind == tourgate::demo::REISSUE_KIND)
                .count(),
            2,
            "one reset per start"
        );
    }
);
