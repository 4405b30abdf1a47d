//! Abuse limits on the booking form: bookings per client address (shared by every process on
//! the database), form keys bound to the session that was shown the form, posts faster than
//! a person fills a form, and SMS consent only for numbers Knock may text.
use reqwest::header::{LOCATION, RETRY_AFTER};
use serde_json::Value;
use tourgate::store::Db;

use crate::helpers::{client, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

const MAPLE: &str = "/tours/maple-court";
const LOTUS: &str = "/tours/lotus-residency";

/// The `i`th renter of a test: a renter has one live booking per community, so each booking
/// needs an e-mail and a phone of its own.
fn renter(i: usize) -> (String, String) {
    (
        format!("renter{i}@example.com"),
        format!("(206) 555-01{i:02}"),
    )
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let row: Result<(i64,), sqlx::Error> = match app.app_store.db() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_one(p).await,
        Db::Postgres(p) => sqlx::query_as(sql).fetch_one(p).await,
    };
    row.expect("the count is read").0
}

async fn bookings(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) FROM bookings").await
}

/// Shows the form at `path` to `c` and posts it for renter `i` (first offered start), with
/// `headers` on the post as a proxy would add them.
async fn post_as(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    i: usize,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let form = app.landing(c, path).await;
    let (email, phone) = renter(i);
    let fields = TestApp::fill(
        &form,
        &form.starts[0],
        &[("email", &email), ("phone", &phone)],
    );
    post_with(app, c, path, &fields, headers).await
}

async fn post_with(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    fields: &[(String, String)],
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = c
        .post(app.url(path))
        .header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(fields);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn assert_booked(r: reqwest::Response) -> String {
    let status = r.status().as_u16();
    let loc = location(&r);
    assert!(
        status == 303 && loc.starts_with("/bookings/"),
        "{status} {loc}: {}",
        r.text().await.unwrap()
    );
    loc
}

/// 429 with a Retry-After of at most the hour, and the page saying what to do.
async fn assert_limited(r: reqwest::Response) {
    assert_eq!(r.status().as_u16(), 429);
    let after: u64 = r.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!((1..=3600).contains(&after), "Retry-After {after}");
    let page = r.text().await.unwrap();
    assert!(page.contains("in an hour"), "{page}");
    assert!(page.contains("try again in about"), "{page}");
    assert!(page.contains("call the leasing office"), "{page}");
}

on_both_backends!(
    the_sixth_booking_in_an_hour_from_one_address_is_refused,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "5")]).await;
        for i in 0..5 {
            assert_booked(post_as(&app, &client(), MAPLE, i, &[]).await).await;
        }
        assert_eq!(bookings(&app).await, 5);
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let (email, phone) = renter(5);
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[("email", &email), ("phone", &phone)],
        );
        let seen = app.sandbox.snapshot().requests.len();
        let r = post_with(&app, &c, MAPLE, &fields, &[]).await;
        assert_limited(r).await;
        // Nothing written, and Knock not asked anything (not even for times).
        assert_eq!(bookings(&app).await, 5);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM client_bookings").await, 5);
        let since = &app.sandbox.snapshot().requests[seen..];
        assert!(since.is_empty(), "{since:?}");
        assert!(app
            .sandbox
            .snapshot()
            .prospects
            .iter()
            .all(|p| p.email.as_deref() != Some(email.as_str())));
        // Another community does not reset the count: the limit is the address's.
        let r = post_as(&app, &client(), LOTUS, 6, &[]).await;
        assert_limited(r).await;
        assert_eq!(bookings(&app).await, 5);
    }
);

on_both_backends!(
    the_limit_holds_across_serve_processes,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "5")]).await;
        let other = app.another_process().await;
        for i in 0..3 {
            assert_booked(post_as(&app, &client(), MAPLE, i, &[]).await).await;
        }
        for i in 3..5 {
            assert_booked(post_as(&other, &client(), MAPLE, i, &[]).await).await;
        }
        assert_limited(post_as(&other, &client(), MAPLE, 5, &[]).await).await;
        assert_limited(post_as(&app, &client(), MAPLE, 6, &[]).await).await;
        assert_eq!(bookings(&app).await, 5);
    }
);

on_both_backends!(
    racing_posts_from_one_address_never_exceed_the_limit,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "2")]).await;
        // Four forms shown first, each for another start, then posted at once.
        let mut posts = Vec::new();
        for i in 0..4 {
            let c = client();
            let form = app.landing(&c, MAPLE).await;
            let (email, phone) = renter(i);
            let fields = TestApp::fill(
                &form,
                &form.starts[i],
                &[("email", &email), ("phone", &phone)],
            );
            posts.push((c, fields));
        }
        let answers = futures_util::future::join_all(
            posts
                .iter()
                .map(|(c, fields)| post_with(&app, c, MAPLE, fields, &[])),
        )
        .await;
        let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        statuses.sort();
        assert_eq!(statuses, [303, 303, 429, 429]);
        assert_eq!(bookings(&app).await, 2);
    }
);

on_both_backends!(
    behind_a_trusted_proxy_the_client_is_counted_not_the_proxy,
    |b: Backend| async move {
        let app = spawn_app_with(
            b,
            &[
                ("TOURGATE_BOOKINGS_PER_HOUR", "2"),
                ("TOURGATE_TRUSTED_PROXIES", "127.0.0.1"),
            ],
        )
        .await;
        let a = [("X-Forwarded-For", "198.51.100.7")];
        // The left entry is the client's own word and is not believed.
        let a_forging = [("X-Forwarded-For", "203.0.113.1, 198.51.100.7")];
        assert_booked(post_as(&app, &client(), MAPLE, 0, &a).await).await;
        assert_booked(post_as(&app, &client(), MAPLE, 1, &a_forging).await).await;
        assert_limited(post_as(&app, &client(), MAPLE, 2, &a).await).await;
        // Another client behind the same proxy has its own allowance.
        let other = [("X-Forwarded-For", "198.51.100.8")];
        assert_booked(post_as(&app, &client(), MAPLE, 3, &other).await).await;
        assert_eq!(bookings(&app).await, 3);
    }
);

on_both_backends!(
    an_untrusted_peer_is_counted_whatever_it_forwards,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "1")]).await;
        let one = [("X-Forwarded-For", "198.51.100.7")];
        let two = [("X-Forwarded-For", "198.51.100.8")];
        assert_booked(post_as(&app, &client(), MAPLE, 0, &one).await).await;
        assert_limited(post_as(&app, &client(), MAPLE, 1, &two).await).await;
    }
);

on_both_backends!(an_ipv6_64_counts_as_one_address, |b: Backend| async move {
    let app = spawn_app_with(
        b,
        &[
            ("TOURGATE_BOOKINGS_PER_HOUR", "1"),
            ("TOURGATE_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let xff = |v: &'static str| [("X-Forwarded-For", v)];
    assert_booked(post_as(&app, &client(), MAPLE, 0, &xff("2001:db8:1:2::1")).await).await;
    assert_limited(post_as(&app, &client(), MAPLE, 1, &xff("2001:db8:1:2:ffff:ee:dd:9")).await)
        .await;
    assert_booked(post_as(&app, &client(), MAPLE, 2, &xff("2001:db8:1:3::1")).await).await;
    assert_eq!(bookings(&app).await, 2);
});

on_both_backends!(
    a_key_issued_to_one_session_gets_another_session_nothing,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[]).await;
        let a = client();
        let form_a = app.landing(&a, MAPLE).await;
        let key_a = form_a.hidden["idempotency_key"].clone();
        let fields_a = TestApp::fill(&form_a, &form_a.starts[0], &[]);
        let booked_a = assert_booked(post_with(&app, &a, MAPLE, &fields_a, &[]).await).await;

        // Session B, its own page and CSRF token, posting A's key (same renter even).
        let bc = client();
        let form_b = app.landing(&bc, MAPLE).await;
        let mut fields_b = TestApp::fill(&form_b, &form_b.starts[0], &[]);
        for (k, v) in fields_b.iter_mut() {
            if k == "idempotency_key" {
                *v = key_a.clone();
            }
        }
        let r = post_with(&app, &bc, MAPLE, &fields_b, &[]).await;
        assert_eq!(r.status().as_u16(), 400);
        assert!(location(&r).is_empty());
        let page = r.text().await.unwrap();
        assert!(
            page.contains("This form has expired; reload the page"),
            "{page}"
        );
        assert!(!page.contains(&booked_a), "{page}");
        assert_eq!(bookings(&app).await, 1);

        // No key, or a made-up one: the same.
        for key in ["", "made-up-key-made-up-key-made-up-key"] {
            let mut fields = TestApp::fill(&form_b, &form_b.starts[1], &[]);
            fields.retain(|(k, _)| k != "idempotency_key");
            fields.push(("idempotency_key".into(), key.into()));
            let r = post_with(&app, &bc, MAPLE, &fields, &[]).await;
            assert_eq!(r.status().as_u16(), 400, "{key:?}");
        }
        assert_eq!(bookings(&app).await, 1);

        // A's own resubmission still lands on A's booking; the stored key is not A's form key.
        let again = assert_booked(post_with(&app, &a, MAPLE, &fields_a, &[]).await).await;
        assert_eq!(again, booked_a);
        let raw = count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM bookings WHERE idempotency_key = '{}'",
                key_a.replace('\'', "")
            ),
        )
        .await;
        assert_eq!(raw, 0, "the form's key is stored bound to its session");
    }
);

on_both_backends!(
    a_double_tap_in_one_session_gives_one_booking,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "5")]).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let fields = TestApp::fill(&form, &form.starts[0], &[]);
        let (r1, r2) = tokio::join!(
            post_with(&app, &c, MAPLE, &fields, &[]),
            post_with(&app, &c, MAPLE, &fields, &[])
        );
        let (l1, l2) = (assert_booked(r1).await, assert_booked(r2).await);
        assert_eq!(l1, l2);
        assert_eq!(bookings(&app).await, 1);
        // A tap counted once against the address.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM client_bookings").await, 1);
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
    }
);

on_both_backends!(
    a_form_posted_faster_than_a_person_fills_it_is_dropped,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_MIN_FORM_SECONDS", "2")]).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        // The page was rendered before this: waits measured from here are at least as long.
        let shown = std::time::Instant::now();
        let fields = TestApp::fill(&form, &form.starts[0], &[]);
        // The scenario itself: the post comes half a second after the page.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let seen = app.sandbox.snapshot().requests.len();
        let r = post_with(&app, &c, MAPLE, &fields, &[]).await;
        // As the honeypot answers: back to the landing page, nothing done.
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(location(&r), MAPLE);
        assert_eq!(bookings(&app).await, 0);
        assert!(app.sandbox.snapshot().requests[seen..].is_empty());

        // The honeypot is answered the same way.
        let mut trap = fields.clone();
        trap.push(("website".into(), "http://spam.example".into()));
        let r = post_with(&app, &c, MAPLE, &trap, &[]).await;
        assert_eq!(
            (r.status().as_u16(), location(&r)),
            (303, MAPLE.to_string())
        );

        // The same form posted once a person could have filled it is booked.
        let wait = std::time::Duration::from_millis(2100).saturating_sub(shown.elapsed());
        tokio::time::sleep(wait).await;
        assert_booked(post_with(&app, &c, MAPLE, &fields, &[]).await).await;
        assert_eq!(bookings(&app).await, 1);
    }
);

/// The `smsConsent` (and disclaimer) of the last prospect and appointment request Knock got.
fn sms_sent(app: &TestApp) -> Vec<(String, Value, Value)> {
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| {
            r.method == "POST" && (r.path.ends_with("/prospect") || r.path.contains("appointment"))
        })
        .filter_map(|r| {
            let body = r.body.as_ref()?.value();
            Some((
                r.path.clone(),
                body.get("smsConsent").cloned().unwrap_or(Value::Null),
                body.get("smsConsentDisclaimer")
                    .cloned()
                    .unwrap_or(Value::Null),
            ))
        })
        .collect()
}

on_both_backends!(
    sms_consent_goes_to_knock_only_for_mobile_numbers,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[]).await;
        // Bengaluru: a landline, ticked.
        let c = client();
        let form = app.landing(&c, LOTUS).await;
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[
                ("phone", "+91 80 2222 3333"),
                ("email", "landline@example.com"),
                ("sms_consent", "yes"),
            ],
        );
        assert_booked(post_with(&app, &c, LOTUS, &fields, &[]).await).await;
        let sent = sms_sent(&app);
        assert_eq!(sent.len(), 2, "{sent:?}");
        for (path, consent, disclaimer) in &sent {
            assert_ne!(consent, &Value::Bool(true), "{path}: {sent:?}");
            assert!(disclaimer.is_null() || disclaimer == "", "{path}: {sent:?}");
        }
        // The renter's own choice is kept with the booking; only Knock is not told to text.
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM bookings WHERE sms_consent = TRUE"
            )
            .await,
            1
        );

        // An Indian mobile, ticked: Knock texts it.
        let before = sms_sent(&app).len();
        let c = client();
        let form = app.landing(&c, LOTUS).await;
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[
                ("phone", "+91 98765 43210"),
                ("email", "mobile@example.com"),
                ("sms_consent", "yes"),
            ],
        );
        assert_booked(post_with(&app, &c, LOTUS, &fields, &[]).await).await;
        let sent = sms_sent(&app);
        assert_eq!(sent.len(), before + 2, "{sent:?}");
        for (path, consent, disclaimer) in &sent[before..] {
            assert_eq!(consent, &Value::Bool(true), "{path}: {sent:?}");
            assert!(
                disclaimer.as_str().is_some_and(|d| !d.is_empty()),
                "{sent:?}"
            );
        }

        // A foreign mobile at a US community is not texted either.
        let before = sms_sent(&app).len();
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[
                ("phone", "+44 7400 123456"),
                ("email", "abroad@example.com"),
                ("sms_consent", "yes"),
            ],
        );
        assert_booked(post_with(&app, &c, MAPLE, &fields, &[]).await).await;
        let sent = sms_sent(&app);
        for (path, consent, _) in &sent[before..] {
            assert_ne!(consent, &Value::Bool(true), "{path}: {sent:?}");
        }
    }
);

on_both_backends!(
    a_ticked_box_with_a_landline_gets_a_note_not_an_error,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[]).await;
        let c = client();
        let form = app.landing(&c, LOTUS).await;
        // Another field is wrong, so the form comes back: the note is beside the box.
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[
                ("phone", "+91 80 2222 3333"),
                ("sms_consent", "yes"),
                ("first_name", ""),
            ],
        );
        let r = post_with(&app, &c, LOTUS, &fields, &[]).await;
        assert_eq!(r.status().as_u16(), 422);
        let page = r.text().await.unwrap();
        assert!(page.contains("We cannot text the number above"), "{page}");
        assert!(
            !page.contains("<a href=\"#phone\">"),
            "not a phone error: {page}"
        );
    }
);

on_both_backends!(
    bookings_older_than_the_hour_do_not_count_and_are_forgotten,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[("TOURGATE_BOOKINGS_PER_HOUR", "2")]).await;
        let old = chrono::Utc::now() - chrono::Duration::minutes(61);
        let sql = "INSERT INTO client_bookings (at, client, booking_id) VALUES ($1, $2, $3)";
        for i in 0..3 {
            let id = format!("old-{i}");
            match app.app_store.db() {
                Db::Sqlite(p) => sqlx::query(sql)
                    .bind(old)
                    .bind("127.0.0.1")
                    .bind(&id)
                    .execute(p)
                    .await
                    .map(|_| ()),
                Db::Postgres(p) => sqlx::query(sql)
                    .bind(old)
                    .bind("127.0.0.1")
                    .bind(&id)
                    .execute(p)
                    .await
                    .map(|_| ()),
            }
            .unwrap();
        }
        assert_booked(post_as(&app, &client(), MAPLE, 0, &[]).await).await;
        assert_eq!(count(&app, "SELECT COUNT(*) FROM client_bookings").await, 1);
        assert_booked(post_as(&app, &client(), MAPLE, 1, &[]).await).await;
        assert_limited(post_as(&app, &client(), MAPLE, 2, &[]).await).await;
    }
);
