//! The staff area over HTTP: sign-in and its limits, sessions, and who sees what.
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use knock_sandbox::Fault;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{LOCATION, SET_COOKIE};
use tourgate::booking::{BookingId, NewBooking, Renter};
use tourgate::domain::{BookingToken, Email, PersonName, Phone, SourceTitle};
use tourgate::store::{Db, InsertOutcome};

use crate::helpers::{client, spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery staple";
const REFUSED: &str = "E-mail or password is not right, or too many attempts. Try again later.";
const MAPLE: &str = "maple-court";
const LOTUS: &str = "lotus-residency";

async fn add_staff(app: &TestApp, email: &str, communities: &[&str], admin: bool) {
    let slugs: Vec<String> = communities.iter().map(|s| s.to_string()).collect();
    tourgate::staff::add_staff(
        &app.app_store,
        &app.settings.communities,
        email,
        PASSWORD,
        &slugs,
        admin,
    )
    .await
    .expect("the staff member is added");
}

/// A browser whose cookies the test can read and plant.
fn browser() -> (reqwest::Client, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let c = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (c, jar)
}

/// Fills in the sign-in form as the page offers it (with its CSRF token) and posts it.
async fn sign_in(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let form = app.landing(c, "/staff/login").await;
    assert_eq!(form.action, "/staff/login");
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    app.post_form(c, "/staff/login", &fields).await
}

async fn signed_in_client(app: &TestApp, email: &str) -> (reqwest::Client, Arc<Jar>) {
    let (c, jar) = browser();
    let r = sign_in(app, &c, email, PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    (c, jar)
}

fn staff_cookie(jar: &Jar, app: &TestApp) -> Option<String> {
    let url = app.url("/staff").parse().unwrap();
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|kv| kv.strip_prefix("tg_staff="))
        .map(str::to_string)
}

/// GET with nothing but the given staff cookie.
async fn get_with_cookie(app: &TestApp, path: &str, token: &str) -> u16 {
    client()
        .get(app.url(path))
        .header("Cookie", format!("tg_staff={token}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn goes_to_login(r: &reqwest::Response) -> bool {
    r.status().as_u16() == 303 && r.headers()[LOCATION] == "/staff/login"
}

fn booking_ids(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("[data-booking-id]").unwrap();
    doc.select(&sel)
        .map(|e| e.attr("data-booking-id").unwrap().to_string())
        .collect()
}

/// Books the first offered slot at a community and returns the booking id.
async fn book_at(app: &TestApp, slug: &str) -> String {
    let c = client();
    let page = app.book(&c, &format!("/tours/{slug}"), None).await;
    let (_, html) = app.get(&c, &page).await;
    booking_ids(&html)
        .pop()
        .expect("the booking page shows its id")
}

async fn exec(app: &TestApp, sql: &str, at: DateTime<Utc>) {
    match app.app_store.db() {
        Db::Sqlite(p) => {
            sqlx::query(sql).bind(at).execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(sql).bind(at).execute(p).await.unwrap();
        }
    }
}

async fn last_seen(app: &TestApp) -> DateTime<Utc> {
    let sql = "SELECT last_seen_at FROM staff_sessions";
    match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

async fn count_sessions(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM staff_sessions";
    match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

fn fault(route: &str, count: u32, status: u16) -> Fault {
    serde_json::from_value(serde_json::json!({
        "route": route, "count": count, "status": status, "retry_after": null
    }))
    .expect("a valid fault")
}

on_both_backends!(
    the_right_password_signs_in_with_a_locked_down_cookie_and_shows_the_tour_list,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "Ann@Example.com", &[MAPLE], false).await;
        let (c, _) = browser();
        // The address is matched whatever its case.
        let r = sign_in(&app, &c, "ann@example.COM", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()[LOCATION], "/staff");
        let cookie = r
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("tg_staff="))
            .expect("a staff session cookie");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/staff"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
        // And a device cookie: this browser signed in to Ann's account, for a year.
        let device = set_cookie(&r, "tg_device").expect("a device cookie");
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/staff/login",
            "Max-Age=31536000",
        ] {
            assert!(device.contains(part), "{part}: {device}");
        }
        assert!(!device.contains("Secure"), "plain http here: {device}");
        let (status, html) = app.get(&c, "/staff").await;
        assert_eq!(status, 200);
        assert!(html.contains("ann@example.com"), "{html}");
        assert!(html.contains("Maple Court Apartments"));
        // The sign-in is audited and shown back.
        assert!(html.contains("Your recent sign-ins") && html.contains("Signed in"));
        assert!(html.contains("from 127.0.0.1"), "{html}");
    }
);

on_both_backends!(
    behind_https_the_session_and_device_cookies_are_secure,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_PUBLIC_URL", "https://tours.example")]).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let r = sign_in(&app, &browser().0, "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        for name in ["tg_staff", "tg_device"] {
            let cookie = set_cookie(&r, name).unwrap_or_else(|| panic!("{name}"));
            assert!(cookie.contains("Secure"), "{cookie}");
        }
    }
);

on_both_backends!(
    a_wrong_password_and_an_unknown_email_get_the_same_401_message,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, jar) = browser();
        let wrong = sign_in(&app, &c, "ann@example.com", "not the password").await;
        assert_eq!(wrong.status().as_u16(), 401);
        let wrong = wrong.text().await.unwrap();
        let unknown = sign_in(&app, &c, "nobody@example.com", PASSWORD).await;
        assert_eq!(unknown.status().as_u16(), 401);
        let unknown = unknown.text().await.unwrap();
        let junk = sign_in(&app, &c, "not an address", PASSWORD).await;
        assert_eq!(junk.status().as_u16(), 401);
        for html in [&wrong, &unknown, &junk.text().await.unwrap()] {
            assert!(html.contains(REFUSED), "{html}");
        }
        // The typed address is kept, escaped; the password never is.
        assert!(wrong.contains("value=\"ann@example.com\""));
        assert!(!wrong.contains("not the password"));
        assert!(staff_cookie(&jar, &app).is_none());
        assert!(goes_to_login(
            &c.get(app.url("/staff")).send().await.unwrap()
        ));
    }
);

/// An app that believes 127.0.0.1's X-Forwarded-For, so that a test acts from any address.
async fn proxied(b: Backend) -> TestApp {
    spawn_app_with(b, &[("TOURGATE_TRUSTED_PROXIES", "127.0.0.1")]).await
}

/// `sign_in`, from the client address `from` (the app must be `proxied`).
async fn sign_in_from(
    app: &TestApp,
    c: &reqwest::Client,
    from: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let form = app.landing(c, "/staff/login").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    c.post(app.url("/staff/login"))
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-Forwarded-For", from)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

/// A limited attempt: 429, the plain message, and a Retry-After within the window; returns
/// the Retry-After in seconds.
async fn assert_limited(r: reqwest::Response, why: &str) -> u64 {
    assert_eq!(r.status().as_u16(), 429, "{why}");
    let retry_after: u64 = r
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("a Retry-After: {why}"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=tourgate::staff::WINDOW.as_secs()).contains(&retry_after),
        "{retry_after} ({why})"
    );
    assert!(r.text().await.unwrap().contains(REFUSED), "{why}");
    retry_after
}

/// The Set-Cookie header of the cookie `name`.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The device cookie the browser holds, as it sends it to the sign-in form.
fn device_cookie(jar: &Jar, app: &TestApp) -> Option<String> {
    let url = app.url("/staff/login").parse().unwrap();
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .unwrap()
        .split("; ")
        .find_map(|kv| kv.strip_prefix("tg_device="))
        .map(str::to_string)
}

/// A new browser holding `value` as its device cookie.
fn browser_with_device(app: &TestApp, value: &str) -> reqwest::Client {
    let (c, jar) = browser();
    let url: reqwest::Url = app.url("/staff/login").parse().unwrap();
    jar.add_cookie_str(&format!("tg_device={value}; Path=/staff/login"), &url);
    c
}

async fn count_failures(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM sign_in_failures";
    match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

on_both_backends!(
    the_sixth_wrong_password_from_one_address_for_one_account_is_limited,
    |b: Backend| async move {
        let app = proxied(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        add_staff(&app, "bob@example.com", &[MAPLE], false).await;
        let (c, _) = browser();
        let here = "198.51.100.1";
        for i in 0..tourgate::staff::PAIR_ATTEMPTS {
            let r = sign_in_from(&app, &c, here, "ann@example.com", "guess guess guess").await;
            assert_eq!(r.status().as_u16(), 401, "attempt {i}");
        }
        let r = sign_in_from(&app, &c, here, "ann@example.com", "guess guess guess").await;
        assert_limited(r, "the sixth wrong password").await;
        let r = sign_in_from(&app, &c, here, "ann@example.com", PASSWORD).await;
        assert_limited(r, "even the right password, from this address").await;
        assert!(goes_to_login(
            &c.get(app.url("/staff")).send().await.unwrap()
        ));
        // Another account from the same address is not limited by Ann's...
        let r = sign_in_from(&app, &c, here, "bob@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        // ...nor is Ann from another address: her account's own limit is not spent.
        let (elsewhere, _) = browser();
        let r = sign_in_from(
            &app,
            &elsewhere,
            "198.51.100.2",
            "ann@example.com",
            PASSWORD,
        )
        .await;
        assert_eq!(r.status().as_u16(), 303);
    }
);

on_both_backends!(
    a_flood_from_many_addresses_does_not_keep_the_member_out_of_her_own_browser,
    |b: Backend| async move {
        let first = proxied(b).await;
        let second = first.another_process().await;
        add_staff(&first, "ann@example.com", &[MAPLE], false).await;
        let home = "192.0.2.10";
        let (member, member_jar) = browser();
        let r = sign_in_from(&first, &member, home, "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        assert!(device_cookie(&member_jar, &first).is_some());

        // 30 other addresses guess Ann's password, three rounds over both processes, while
        // she signs in from her browser on each.
        let (attacker, _) = browser();
        let (mut refused, mut limited) = (0, 0);
        for round in 0..3 {
            for i in 0..30 {
                let app = if i % 2 == 0 { &first } else { &second };
                let from = format!("203.0.113.{i}");
                let r = sign_in_from(app, &attacker, &from, "ann@example.com", "guess").await;
                match r.status().as_u16() {
                    401 => refused += 1,
                    429 => limited += 1,
                    s => panic!("round {round}, {from}: {s}"),
                }
            }
            for app in [&first, &second] {
                let r = sign_in_from(app, &member, home, "ann@example.com", PASSWORD).await;
                assert_eq!(
                    r.status().as_u16(),
                    303,
                    "round {round}: the member signs in"
                );
                assert_eq!(app.get(&member, "/staff").await.0, 200);
            }
        }
        // The account's limit held the flood to its budget, across both processes.
        assert_eq!(refused, tourgate::staff::ACCOUNT_ATTEMPTS);
        assert_eq!(limited, 90 - tourgate::staff::ACCOUNT_ATTEMPTS);

        // A browser that never signed in to Ann's account is held to that limit, wherever it
        // is: the member on a new device waits it out (see README, "The staff area").
        for (app, from) in [(&first, "198.51.100.99"), (&second, home)] {
            let (fresh, _) = browser();
            let r = sign_in_from(app, &fresh, from, "ann@example.com", PASSWORD).await;
            assert_limited(r, "a new browser while the account is flooded").await;
        }
    }
);

on_both_backends!(
    a_device_cookie_spares_only_its_own_account_and_only_when_we_signed_it,
    |b: Backend| async move {
        let app = proxied(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        add_staff(&app, "bob@example.com", &[MAPLE], false).await;
        let (c, jar) = browser();
        let r = sign_in_from(&app, &c, "192.0.2.10", "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        let anns = device_cookie(&jar, &app).unwrap();

        // Bob's account is guessed at from many addresses until its limit is spent.
        let (attacker, _) = browser();
        for i in 0..tourgate::staff::ACCOUNT_ATTEMPTS {
            let from = format!("203.0.113.{i}");
            let r = sign_in_from(&app, &attacker, &from, "bob@example.com", "guess").await;
            assert_eq!(r.status().as_u16(), 401);
        }
        // Ann's browser is a new one as far as Bob's account goes.
        let r = sign_in_from(&app, &c, "192.0.2.10", "bob@example.com", PASSWORD).await;
        assert_limited(r, "Ann's device cookie for Bob's account").await;

        use base64::Engine;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let renamed = anns.replacen(&b64("ann@example.com"), &b64("bob@example.com"), 1);
        assert_ne!(renamed, anns);
        let now = Utc::now();
        let other_key = tourgate::staff::DeviceKey::new("another key, of 32 characters or more");
        let ours = tourgate::staff::DeviceKey::new(app.settings.secret_key.expose());
        let mut flipped = anns.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        for (i, forged) in [
            renamed,
            String::from_utf8(flipped).unwrap(),
            other_key.issue("bob@example.com", now).into_string(),
            ours.issue("bob@example.com", now - Duration::days(366))
                .into_string(),
            "junk".to_string(),
        ]
        .into_iter()
        .enumerate()
        {
            let c = browser_with_device(&app, &forged);
            let from = format!("192.0.2.{}", 20 + i);
            let r = sign_in_from(&app, &c, &from, "bob@example.com", PASSWORD).await;
            assert_limited(r, &format!("forged device cookie {i}")).await;
        }
        // One we did sign for Bob, within its year, spares him.
        let c = browser_with_device(&app, ours.issue("bob@example.com", now).as_str());
        let r = sign_in_from(&app, &c, "192.0.2.30", "bob@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
    }
);

on_both_backends!(
    a_device_cookie_used_for_guessing_is_itself_limited_across_processes,
    |b: Backend| async move {
        let first = proxied(b).await;
        let second = first.another_process().await;
        add_staff(&first, "ann@example.com", &[MAPLE], false).await;
        let (thief, jar) = browser();
        let r = sign_in_from(&first, &thief, "192.0.2.10", "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        let stolen = device_cookie(&jar, &first).unwrap();
        let thief = browser_with_device(&first, &stolen);
        // Guesses with the cookie, two per address (under the per-address limits), spread
        // over both processes (under each one's own budget).
        for i in 0..tourgate::staff::DEVICE_ATTEMPTS {
            let app = if i % 2 == 0 { &first } else { &second };
            let from = format!("203.0.113.{}", i / 2);
            let r = sign_in_from(app, &thief, &from, "ann@example.com", "guess").await;
            assert_eq!(r.status().as_u16(), 401, "guess {i}");
        }
        for app in [&first, &second] {
            let r = sign_in_from(app, &thief, "203.0.113.200", "ann@example.com", "guess").await;
            assert_limited(r, "the cookie is locked out").await;
            let r = sign_in_from(app, &thief, "203.0.113.201", "ann@example.com", PASSWORD).await;
            assert_limited(r, "even with the right password").await;
        }
        // Those guesses were the cookie's, not the account's: the member signs in on a new
        // browser, and her new cookie is good.
        let (fresh, fresh_jar) = browser();
        let r = sign_in_from(&second, &fresh, "198.51.100.7", "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_ne!(device_cookie(&fresh_jar, &second).unwrap(), stolen);
    }
);

/// `n` refused guesses (`guess(i)`: from which address, at which account) spread over two
/// `serve` processes sharing one database, each under its own in-memory budget; then Ann's
/// right password from `then_from` on a new browser is refused by both processes, as `why`
/// says, and by a third with nothing in memory. Time is driven through the records: with them
/// ten minutes old the wait is five minutes; a window old, they no longer count.
async fn limited_across_processes(
    b: Backend,
    n: u32,
    guess: impl Fn(u32) -> (String, String),
    then_from: &str,
    why: &str,
) {
    let first = proxied(b).await;
    let second = first.another_process().await;
    add_staff(&first, "ann@example.com", &[MAPLE], false).await;
    let (c, _) = browser();
    for i in 0..n {
        let app = if i % 2 == 0 { &first } else { &second };
        let (from, account) = guess(i);
        let r = sign_in_from(app, &c, &from, &account, "guess guess guess").await;
        assert_eq!(r.status().as_u16(), 401, "guess {i}");
    }
    assert_eq!(count_failures(&first).await, i64::from(n));
    for app in [&first, &second] {
        let r = sign_in_from(app, &browser().0, then_from, "ann@example.com", PASSWORD).await;
        assert_limited(r, why).await;
    }
    let third = first.another_process().await;
    let now = Utc::now();
    exec(
        &first,
        "UPDATE sign_in_failures SET at = $1",
        now - Duration::minutes(10),
    )
    .await;
    let r = sign_in_from(&third, &browser().0, then_from, "ann@example.com", PASSWORD).await;
    let wait = assert_limited(r, why).await;
    assert!((240..=300).contains(&wait), "five minutes left: {wait}");
    let window = Duration::from_std(tourgate::staff::WINDOW).unwrap();
    exec(
        &first,
        "UPDATE sign_in_failures SET at = $1",
        now - window - Duration::minutes(1),
    )
    .await;
    let r = sign_in_from(&third, &browser().0, then_from, "ann@example.com", PASSWORD).await;
    assert_eq!(r.status().as_u16(), 303, "a window later: {why}");
}

on_both_backends!(
    the_account_and_address_limit_holds_across_serve_processes_sharing_the_database,
    |b: Backend| async move {
        let one = |_| ("198.51.100.1".to_string(), "ann@example.com".to_string());
        let why = "every process refuses Ann from this address";
        limited_across_processes(b, tourgate::staff::PAIR_ATTEMPTS, one, "198.51.100.1", why).await;
    }
);

on_both_backends!(
    the_account_limit_holds_across_serve_processes_sharing_the_database,
    |b: Backend| async move {
        // Ann's account guessed at from many addresses.
        let many = |i| (format!("203.0.113.{i}"), "ann@example.com".to_string());
        let why = "every process refuses the account to a new browser";
        let n = tourgate::staff::ACCOUNT_ATTEMPTS;
        limited_across_processes(b, n, many, "198.51.100.99", why).await;
    }
);

on_both_backends!(
    the_address_limit_holds_across_serve_processes_sharing_the_database,
    |b: Backend| async move {
        // Many accounts tried from one address.
        let many = |i| ("198.51.100.1".to_string(), format!("user{i}@example.com"));
        let why = "every process refuses the address";
        let n = tourgate::staff::ADDRESS_ATTEMPTS;
        limited_across_processes(b, n, many, "198.51.100.1", why).await;
    }
);

on_both_backends!(
    an_address_trying_many_accounts_is_limited_and_a_trusted_proxy_names_the_client,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_TRUSTED_PROXIES", "127.0.0.1")]).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, _) = browser();
        let form = app.landing(&c, "/staff/login").await;
        let attempt = |email: String, forwarded: &'static str| {
            let mut fields: Vec<(String, String)> = form.hidden.clone().into_iter().collect();
            fields.push(("email".into(), email));
            fields.push(("password".into(), "guess guess guess".into()));
            c.post(app.url("/staff/login"))
                .header("Sec-Fetch-Site", "same-origin")
                // A forged first hop; the proxy appended the real client.
                .header("X-Forwarded-For", format!("6.6.6.6, {forwarded}"))
                .form(&fields)
                .send()
        };
        for i in 0..tourgate::staff::ADDRESS_ATTEMPTS {
            let r = attempt(format!("user{i}@example.com"), "198.51.100.1")
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 401);
        }
        let r = attempt("ann@example.com".into(), "198.51.100.1")
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 429);
        assert!(r.text().await.unwrap().contains(REFUSED));
        // Another client behind the same proxy is not limited.
        let r = attempt("ann@example.com".into(), "198.51.100.2")
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
);

on_both_backends!(
    x_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_address_limit,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c, _) = browser();
        let form = app.landing(&c, "/staff/login").await;
        for i in 0..=tourgate::staff::ADDRESS_ATTEMPTS {
            let mut fields: Vec<(String, String)> = form.hidden.clone().into_iter().collect();
            fields.push(("email".into(), format!("user{i}@example.com")));
            fields.push(("password".into(), "guess guess guess".into()));
            let r = c
                .post(app.url("/staff/login"))
                .header("Sec-Fetch-Site", "same-origin")
                .header("X-Forwarded-For", format!("203.0.113.{i}"))
                .form(&fields)
                .send()
                .await
                .unwrap();
            let expected = if i < tourgate::staff::ADDRESS_ATTEMPTS {
                401
            } else {
                429
            };
            assert_eq!(r.status().as_u16(), expected, "attempt {i}");
        }
    }
);

on_both_backends!(
    a_cookie_value_planted_before_sign_in_never_becomes_the_session,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        add_staff(&app, "mallory@example.com", &[MAPLE], false).await;
        let url: reqwest::Url = app.url("/staff").parse().unwrap();

        // A value of the right shape that the attacker chose.
        let planted = "A".repeat(43);
        let (c, jar) = browser();
        jar.add_cookie_str(&format!("tg_staff={planted}; Path=/staff"), &url);
        assert_eq!(
            sign_in(&app, &c, "ann@example.com", PASSWORD)
                .await
                .status()
                .as_u16(),
            303
        );
        let issued = staff_cookie(&jar, &app).unwrap();
        assert_ne!(issued, planted);
        assert_eq!(get_with_cookie(&app, "/staff", &planted).await, 303);
        assert_eq!(get_with_cookie(&app, "/staff", &issued).await, 200);

        // The attacker's own live session planted in the victim's browser: signing in ends
        // it and issues a new one, so the attacker never holds the victim's session.
        let (_, mallory_jar) = signed_in_client(&app, "mallory@example.com").await;
        let mallorys = staff_cookie(&mallory_jar, &app).unwrap();
        let (victim, victim_jar) = browser();
        victim_jar.add_cookie_str(&format!("tg_staff={mallorys}; Path=/staff"), &url);
        assert_eq!(
            sign_in(&app, &victim, "ann@example.com", PASSWORD)
                .await
                .status()
                .as_u16(),
            303
        );
        assert_ne!(staff_cookie(&victim_jar, &app).unwrap(), mallorys);
        assert_eq!(get_with_cookie(&app, "/staff", &mallorys).await, 303);
    }
);

on_both_backends!(
    signing_in_and_out_renews_the_form_token,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, jar) = browser();
        let before = app.landing(&c, "/staff/login").await.hidden["csrf_token"].clone();
        let r = sign_in(&app, &c, "ann@example.com", PASSWORD).await;
        assert_eq!(r.status().as_u16(), 303);
        let token = staff_cookie(&jar, &app).unwrap();
        let after = app.landing(&c, "/staff").await.hidden["csrf_token"].clone();
        assert_ne!(before, after, "signing in gives a new form token");

        // The token from before signing in is refused now; the new one works.
        let old = [("csrf_token".to_string(), before)];
        let r = app.post_form(&c, "/staff/logout", &old).await;
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(get_with_cookie(&app, "/staff", &token).await, 200);
        let new = [("csrf_token".to_string(), after.clone())];
        let r = app.post_form(&c, "/staff/logout", &new).await;
        assert!(goes_to_login(&r));
        let next = app.landing(&c, "/staff/login").await.hidden["csrf_token"].clone();
        assert_ne!(next, after, "signing out gives a new form token too");
    }
);

on_both_backends!(
    signing_out_ends_the_session_for_good,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, jar) = signed_in_client(&app, "ann@example.com").await;
        let token = staff_cookie(&jar, &app).unwrap();
        let (_, html) = app.get(&c, "/staff").await;
        let form = crate::helpers::offered_form(&html);
        assert_eq!(form.action, "/staff/logout");

        // Without the CSRF token nothing happens.
        let r = app.post_form(&c, "/staff/logout", &[]).await;
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(get_with_cookie(&app, "/staff", &token).await, 200);

        let fields: Vec<(String, String)> = form.hidden.into_iter().collect();
        let r = app.post_form(&c, "/staff/logout", &fields).await;
        assert!(goes_to_login(&r));
        assert!(staff_cookie(&jar, &app).is_none(), "the cookie is removed");
        // Replaying the old value does not work either: the session is gone.
        assert_eq!(get_with_cookie(&app, "/staff", &token).await, 303);
        assert_eq!(count_sessions(&app).await, 0);
    }
);

on_both_backends!(
    the_sign_in_form_refuses_posts_without_its_csrf_token_or_from_another_site,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, jar) = browser();
        let form = app.landing(&c, "/staff/login").await;
        let creds = [
            ("email".to_string(), "ann@example.com".to_string()),
            ("password".to_string(), PASSWORD.to_string()),
        ];
        let r = app.post_form(&c, "/staff/login", &creds).await;
        assert_eq!(r.status().as_u16(), 403);
        let mut wrong = creds.to_vec();
        wrong.push(("csrf_token".into(), "forged".into()));
        assert_eq!(
            app.post_form(&c, "/staff/login", &wrong)
                .await
                .status()
                .as_u16(),
            403
        );
        let mut right: Vec<(String, String)> = form.hidden.into_iter().collect();
        right.extend(creds.iter().cloned());
        let r = c
            .post(app.url("/staff/login"))
            .header("Sec-Fetch-Site", "cross-site")
            .form(&right)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert!(staff_cookie(&jar, &app).is_none());
        // The CSRF check comes first: refused posts did not spend the account's attempts.
        for _ in 1..tourgate::staff::ACCOUNT_ATTEMPTS {
            let _ = app.post_form(&c, "/staff/login", &creds).await;
        }
        assert_eq!(
            app.post_form(&c, "/staff/login", &right)
                .await
                .status()
                .as_u16(),
            303
        );
    }
);

on_both_backends!(
    every_staff_page_but_the_sign_in_form_needs_a_session,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        for path in [
            "/staff",
            "/staff/bookings/tg_0000000000000000",
            "/staff/bookings/x",
        ] {
            let r = c.get(app.url(path)).send().await.unwrap();
            assert!(goes_to_login(&r), "{path}");
        }
        assert_eq!(get_with_cookie(&app, "/staff", &"B".repeat(43)).await, 303);
        assert_eq!(get_with_cookie(&app, "/staff", "junk' OR 1=1").await, 303);
        let (status, html) = app.get(&c, "/staff/login").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("<label for=\"email\">") && html.contains("<label for=\"password\">")
        );
    }
);

on_both_backends!(
    a_busy_session_still_ends_twelve_hours_after_signing_in,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, _) = signed_in_client(&app, "ann@example.com").await;
        // Signed in eleven hours ago and busy since: still signed in.
        exec(
            &app,
            "UPDATE staff_sessions SET created_at = $1",
            Utc::now() - Duration::hours(11),
        )
        .await;
        assert_eq!(app.get(&c, "/staff").await.0, 200);
        exec(
            &app,
            "UPDATE staff_sessions SET created_at = $1",
            Utc::now() - Duration::hours(12) - Duration::minutes(1),
        )
        .await;
        assert!(goes_to_login(
            &c.get(app.url("/staff")).send().await.unwrap()
        ));
        assert_eq!(count_sessions(&app).await, 0, "the old session is deleted");
    }
);

on_both_backends!(
    a_session_idle_for_eight_hours_is_over,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, _) = signed_in_client(&app, "ann@example.com").await;
        // Seven hours idle: still signed in, and the visit counts as activity.
        exec(
            &app,
            "UPDATE staff_sessions SET last_seen_at = $1",
            Utc::now() - Duration::hours(7),
        )
        .await;
        assert_eq!(app.get(&c, "/staff").await.0, 200);
        let seen = last_seen(&app).await;
        assert!(Utc::now() - seen < Duration::minutes(1), "{seen}");
        exec(
            &app,
            "UPDATE staff_sessions SET last_seen_at = $1",
            Utc::now() - Duration::hours(8) - Duration::minutes(1),
        )
        .await;
        assert!(goes_to_login(
            &c.get(app.url("/staff")).send().await.unwrap()
        ));
        assert_eq!(count_sessions(&app).await, 0, "the idle session is deleted");
    }
);

on_both_backends!(
    a_staff_member_of_one_community_sees_nothing_of_another,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let maple = book_at(&app, MAPLE).await;
        let lotus = book_at(&app, LOTUS).await;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, _) = signed_in_client(&app, "ann@example.com").await;

        let (status, html) = app.get(&c, "/staff").await;
        assert_eq!(status, 200);
        assert_eq!(booking_ids(&html), vec![maple.clone()]);
        assert!(!html.contains("Lotus Residency"), "{html}");
        assert!(!html.contains(&lotus));

        // Asking for the other community by name, or for its booking, is a 404.
        assert_eq!(app.get(&c, "/staff?community=lotus-residency").await.0, 404);
        let (status, html) = app.get(&c, &format!("/staff/bookings/{lotus}")).await;
        assert_eq!(status, 404);
        assert!(!html.contains(&lotus));
        assert_eq!(app.get(&c, "/staff?community=nowhere").await.0, 404);

        let (status, html) = app.get(&c, &format!("/staff/bookings/{maple}")).await;
        assert_eq!(status, 200);
        assert_eq!(booking_ids(&html), vec![maple.clone()]);
        assert!(html.contains("Grace Hopper"));
        // Its history, from the request to Knock's confirmation.
        assert!(
            html.contains("requested") && html.contains("Knock confirmed"),
            "{html}"
        );
    }
);

on_both_backends!(an_admin_sees_every_community, |b: Backend| async move {
    let app = spawn_app(b).await;
    let maple = book_at(&app, MAPLE).await;
    let lotus = book_at(&app, LOTUS).await;
    add_staff(&app, "boss@example.com", &[], true).await;
    let (c, _) = signed_in_client(&app, "boss@example.com").await;
    let (_, html) = app.get(&c, "/staff").await;
    let ids = booking_ids(&html);
    assert!(ids.contains(&maple) && ids.contains(&lotus), "{html}");
    let (_, html) = app.get(&c, "/staff?community=lotus-residency").await;
    assert_eq!(booking_ids(&html), vec![lotus.clone()]);
    for id in [&maple, &lotus] {
        assert_eq!(app.get(&c, &format!("/staff/bookings/{id}")).await.0, 200);
    }
});

on_both_backends!(
    the_tour_list_shows_state_source_and_knock_delivery_and_filters_by_state,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let q = serde_urlencoded::to_string([("utm_knock_source_title", "Zillow <Self> Tour")])
            .unwrap();
        let page = app.book(&c, &format!("/tours/{MAPLE}?{q}"), None).await;
        let (_, html) = app.get(&c, &page).await;
        let confirmed = booking_ids(&html).pop().unwrap();
        // Knock is down: the next booking waits for a retry.
        app.sandbox
            .inject_fault(fault("appointment_request", 5, 503));
        let form = app.landing(&c, &format!("/tours/{MAPLE}")).await;
        let r = app
            .post_form(
                &c,
                &form.action,
                &TestApp::fill(
                    &form,
                    &form.starts[1],
                    &[("email", "alan@example.com"), ("phone", "(206) 555-0188")],
                ),
            )
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let (_, html) = app.get(&c, r.headers()[LOCATION].to_str().unwrap()).await;
        let pending = booking_ids(&html).pop().unwrap();

        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (s, _) = signed_in_client(&app, "ann@example.com").await;
        let (_, html) = app.get(&s, "/staff?view=list").await;
        let doc = scraper::Html::parse_document(&html);
        let row = |id: &str| {
            let sel = scraper::Selector::parse(&format!("tr[data-booking-id=\"{id}\"]")).unwrap();
            doc.select(&sel)
                .next()
                .unwrap_or_else(|| panic!("a row for {id}: {html}"))
                .text()
                .collect::<String>()
        };
        let first = row(&confirmed);
        assert!(
            first.contains("Confirmed") && first.contains("In Knock"),
            "{first}"
        );
        assert!(first.contains("Zillow <Self> Tour"), "{first}");
        assert!(
            html.contains("Zillow &lt;Self&gt; Tour")
                || html.contains("Zillow &#60;Self&#62; Tour")
        );
        let second = row(&pending);
        assert!(second.contains("Requested"), "{second}");
        assert!(second.contains("Sending to Knock…"), "{second}");
        assert!(html.contains("scope=\"col\"") && html.contains("<nav"));

        let (_, html) = app.get(&s, "/staff?state=requesting").await;
        assert_eq!(booking_ids(&html), vec![pending.clone()]);
        assert_eq!(app.get(&s, "/staff?state=lost").await.0, 400);
        assert_eq!(app.get(&s, "/staff?from=yesterday").await.0, 400);
    }
);

on_both_backends!(
    a_new_booking_shows_by_default_whatever_its_date_but_not_outside_an_asked_range,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let now = Utc::now();
        let start = now + Duration::days(40);
        let id = BookingId::generate();
        let new = NewBooking {
            id: id.clone(),
            token: BookingToken::generate(),
            idempotency_key: format!("staff-test-{}", crate::helpers::random_name()),
            community_slug: MAPLE.into(),
            renter: Renter {
                first_name: PersonName::parse("Ada").unwrap(),
                last_name: PersonName::parse("Lovelace").unwrap(),
                email: Email::parse("ada@example.com").unwrap(),
                phone: Phone::parse("(206) 555-0100").unwrap(),
                sms_consent: false,
                move_date: None,
                bedrooms: None,
                message: None,
            },
            source_title: SourceTitle::parse("Self-Guided Tour Vendor").unwrap(),
            slot: tourgate::domain::Slot::parse(&start.to_rfc3339()).unwrap(),
            slot_end: start + Duration::minutes(30),
            created_at: now,
        };
        assert!(matches!(
            app.app_store.insert_booking(&new, now).await.unwrap(),
            InsertOutcome::Inserted(_)
        ));
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (c, _) = signed_in_client(&app, "ann@example.com").await;
        let (_, html) = app.get(&c, "/staff").await;
        assert_eq!(booking_ids(&html), vec![id.to_string()]);
        let today = now.date_naive();
        let (_, html) = app
            .get(
                &c,
                &format!("/staff?from={today}&to={}", today + Duration::days(3)),
            )
            .await;
        assert!(booking_ids(&html).is_empty(), "{html}");
        let day = start
            .with_timezone(&chrono_tz::America::New_York)
            .date_naive();
        let (_, html) = app.get(&c, &format!("/staff?from={day}&to={day}")).await;
        assert_eq!(booking_ids(&html), vec![id.to_string()]);
    }
);

on_both_backends!(
    revoking_a_community_or_removing_the_account_takes_effect_at_the_next_request,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let maple = book_at(&app, MAPLE).await;
        add_staff(&app, "ann@example.com", &[MAPLE, LOTUS], false).await;
        let (c, _) = signed_in_client(&app, "ann@example.com").await;
        let detail = format!("/staff/bookings/{maple}");
        assert_eq!(app.get(&c, &detail).await.0, 200);
        tourgate::staff::revoke(&app.app_store, "ann@example.com", MAPLE)
            .await
            .unwrap();
        assert_eq!(app.get(&c, &detail).await.0, 404);
        let (_, html) = app.get(&c, "/staff").await;
        assert!(booking_ids(&html).is_empty());
        tourgate::staff::remove(&app.app_store, "ann@example.com")
            .await
            .unwrap();
        assert!(goes_to_login(
            &c.get(app.url("/staff")).send().await.unwrap()
        ));
        assert_eq!(count_sessions(&app).await, 0);
    }
);

on_both_backends!(
    every_staff_form_post_needs_its_csrf_token_first_and_then_a_session,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = book_at(&app, MAPLE).await;
        let bid = BookingId::parse(&id).unwrap();
        let job = app.app_store.outbox_jobs_for_booking(&bid).await.unwrap()[0].id;
        add_staff(&app, "ann@example.com", &[MAPLE], false).await;
        let (staff, _) = signed_in_client(&app, "ann@example.com").await;
        let (_, html) = app.get(&staff, "/staff").await;
        let token = crate::helpers::offered_form(&html).hidden["csrf_token"].clone();
        // A visitor with a form token of their own (from the sign-in page) but no session.
        let (visitor, _) = browser();
        let visitor_token =
            app.landing(&visitor, "/staff/login").await.hidden["csrf_token"].clone();
        let reason = ("reason".to_string(), "Unit leased".to_string());

        for route in [
            format!("/staff/bookings/{id}/cancel"),
            format!("/staff/bookings/{id}/resend-access"),
            format!("/staff/outbox/{job}/retry"),
            "/staff/logout".to_string(),
        ] {
            let with = |t: &str| vec![reason.clone(), ("csrf_token".to_string(), t.to_string())];
            // A missing, forged or another visitor's token: 403, signed in or not.
            for (c, fields) in [
                (&staff, vec![reason.clone()]),
                (&staff, with("forged")),
                (&staff, with(&visitor_token)),
                (&visitor, with("forged")),
                (&visitor, vec![reason.clone()]),
            ] {
                let r = app.post_form(c, &route, &fields).await;
                assert_eq!(r.status().as_u16(), 403, "{route} {fields:?}");
            }
            // The right token from another site.
            let r = staff
                .post(app.url(&route))
                .header("Sec-Fetch-Site", "cross-site")
                .form(&with(&token))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 403, "{route} cross-site");
            // A good token without a session: to sign in.
            let r = app.post_form(&visitor, &route, &with(&visitor_token)).await;
            assert!(goes_to_login(&r), "{route}: {}", r.status());
            assert_eq!(r.headers()["cache-control"], "no-store", "{route}");
            // A body over the form limit is a plain 400, never a 500.
            let big = vec![("reason".to_string(), "x".repeat(17 * 1024))];
            let r = app.post_form(&staff, &route, &big).await;
            assert_eq!(r.status().as_u16(), 400, "{route} oversized");
        }

        // Nothing was done, and the staff member is still signed in.
        let after = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();
        assert_eq!(after.state, tourgate::booking::BookingState::Confirmed);
        assert!(app
            .app_store
            .staff_actions_on(&bid)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(app.get(&staff, "/staff").await.0, 200);
    }
);
