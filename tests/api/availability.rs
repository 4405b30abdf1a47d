//! The availability cache (`booking::availability`): Knock asked once per community per
//! interval, our own bookings never offered again, the last good times through an outage,
//! and Knock's Retry-After honoured. The cache's clock is moved by the test, never slept.
use std::time::{Duration, Instant};

use knock_sandbox::Fault;

use crate::helpers::{client, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

const MAPLE: &str = "/tours/maple-court";
const CACHED: &[(&str, &str)] = &[
    ("TOURGATE_AVAILABILITY_FRESH_SECS", "30"),
    ("TOURGATE_AVAILABILITY_STALE_SECS", "300"),
];
const TIMES_DOWN: &str = "Tour times are not available right now";

fn fault(status: u16, retry_after: Option<u64>) -> Fault {
    serde_json::from_value(serde_json::json!({
        "route": "available_times", "count": 1000, "status": status, "retry_after": retry_after
    }))
    .expect("a valid fault")
}

/// Knock's available-times calls for Maple Court so far.
fn knock_calls(app: &TestApp) -> usize {
    let path = format!(
        "/community/{}/available-times",
        app.settings
            .communities
            .get("maple-court")
            .unwrap()
            .knock_community_id
    );
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.path == path)
        .count()
}

/// Waits (polling, with a deadline) until Knock has had `n` calls.
async fn until_calls(app: &TestApp, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while knock_calls(app) < n {
        assert!(
            Instant::now() < deadline,
            "Knock had {} calls, not {n}",
            knock_calls(app)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn maple(app: &TestApp) -> tourgate::config::Community {
    app.settings.communities.get("maple-court").unwrap().clone()
}

on_both_backends!(
    a_hundred_page_views_at_once_make_one_knock_call,
    |b: Backend| async move {
        let app = spawn_app_with(b, CACHED).await;
        let views = (0..100).map(|_| {
            let c = client();
            let app = &app;
            async move { app.landing(&c, MAPLE).await.starts }
        });
        let all = futures_util::future::join_all(views).await;
        assert!(!all[0].is_empty());
        assert!(
            all.iter().all(|s| *s == all[0]),
            "every view shows the same times"
        );
        assert_eq!(knock_calls(&app), 1);
        // And the next views within the fresh time ask nobody.
        app.landing(&client(), MAPLE).await;
        assert_eq!(knock_calls(&app), 1);
    }
);

on_both_backends!(
    the_page_kept_for_an_answer_carries_each_visitors_own_form_tokens,
    |b: Backend| async move {
        // A plain view's page is made once per answer and kept with holes for the form's
        // tokens: what one visitor was given must never reach another.
        let app = spawn_app_with(b, CACHED).await;
        let (ada, bob) = (client(), client());
        let first = app.landing(&ada, MAPLE).await;
        let theirs = app.landing(&bob, MAPLE).await;
        let again = app.landing(&ada, MAPLE).await;
        assert_eq!(
            knock_calls(&app),
            1,
            "every view served from the kept answer"
        );
        for key in ["csrf_token", "idempotency_key"] {
            assert!(first.hidden[key].len() >= 32, "{key}: {:?}", first.hidden);
            assert_ne!(first.hidden[key], theirs.hidden[key], "{key} shared");
        }
        // A session keeps its token across views, and each visitor's form is theirs to post.
        assert_eq!(again.hidden["csrf_token"], first.hidden["csrf_token"]);
        let mut stolen = TestApp::fill(&theirs, &theirs.starts[0], &[]);
        for (k, v) in stolen.iter_mut() {
            if k == "csrf_token" {
                *v = first.hidden["csrf_token"].clone();
            }
        }
        let r = app.post_form(&bob, &theirs.action, &stolen).await;
        assert_eq!(
            r.status().as_u16(),
            403,
            "another session's token was taken"
        );
        let mine = TestApp::fill(&first, &first.starts[0], &[]);
        let r = app.post_form(&ada, &first.action, &mine).await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        let other = [("email", "bob@example.com"), ("phone", "(206) 555-0199")];
        let r = app
            .post_form(
                &bob,
                &theirs.action,
                &TestApp::fill(&theirs, &theirs.starts[1], &other),
            )
            .await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    }
);

on_both_backends!(
    a_booking_takes_its_slot_off_the_next_page_at_once,
    |b: Backend| async move {
        let app = spawn_app_with(b, CACHED).await;
        let other = app.another_process_same_knock().await;
        let c = client();
        let shown = app.landing(&c, MAPLE).await.starts;
        // The other process has the same times in its own memory.
        assert_eq!(other.landing(&client(), MAPLE).await.starts, shown);
        app.book(&c, MAPLE, Some(&shown[0])).await;
        let before = knock_calls(&app);
        let after = app.landing(&client(), MAPLE).await.starts;
        assert!(
            !after.contains(&shown[0]),
            "the booked time is still offered"
        );
        assert_eq!(after, shown[1..].to_vec());
        // The other process learns it from the database (read at most every second), still
        // without asking Knock.
        other
            .bookings
            .availability()
            .advance_clock(tourgate::booking::availability::HELD_FRESH * 2);
        let there = other.landing(&client(), MAPLE).await.starts;
        assert!(
            !there.contains(&shown[0]),
            "the other process offers the booked time"
        );
        assert_eq!(knock_calls(&app), before, "served from memory");
    }
);

on_both_backends!(
    a_knock_outage_serves_the_last_good_times_then_says_times_cannot_be_shown,
    |b: Backend| async move {
        let app = spawn_app_with(b, CACHED).await;
        let cache = app.bookings.availability();
        let shown = app.landing(&client(), MAPLE).await.starts;
        app.sandbox.inject_fault(fault(503, None));
        cache.advance_clock(Duration::from_secs(31));
        // Expired: the last answer is served while one refresh runs in the background.
        assert_eq!(app.landing(&client(), MAPLE).await.starts, shown);
        until_calls(&app, 2).await;
        // A booking's check must be fresh: it fails rather than trusting the old answer.
        assert!(app.bookings.available_slots(&maple(&app)).await.is_err());
        for _ in 0..5 {
            cache.advance_clock(Duration::from_secs(50));
            assert_eq!(app.landing(&client(), MAPLE).await.starts, shown);
        }
        let during = knock_calls(&app);
        assert!(during <= 8, "Knock asked {during} times during the outage");
        // 281 s after the good answer; past 300 s the page says plainly it cannot show times.
        cache.advance_clock(Duration::from_secs(20));
        let (status, html) = app.get(&client(), MAPLE).await;
        assert_eq!(status, 503);
        assert!(html.contains(TIMES_DOWN), "{html}");
        assert!(
            !html.contains(&shown[0]),
            "no time is offered past the stale bound"
        );
        // Knock back: the next read after the pause shows its times again.
        app.sandbox.clear_faults();
        cache.advance_clock(Duration::from_secs(3));
        assert_eq!(app.landing(&client(), MAPLE).await.starts, shown);
    }
);

on_both_backends!(
    knocks_retry_after_is_honoured_before_asking_again,
    |b: Backend| async move {
        let app = spawn_app_with(b, CACHED).await;
        let cache = app.bookings.availability();
        let c = client();
        let shown = app.landing(&c, MAPLE).await.starts;
        app.sandbox.inject_fault(fault(429, Some(60)));
        cache.advance_clock(Duration::from_secs(31));
        assert!(app.bookings.available_slots(&maple(&app)).await.is_err());
        assert_eq!(knock_calls(&app), 2);
        for _ in 0..5 {
            cache.advance_clock(Duration::from_secs(11));
            let form = app.landing(&c, MAPLE).await;
            assert_eq!(
                form.starts, shown,
                "the last good times while Knock asks us to wait"
            );
            // A booking does not ask Knock either: it is told the calendar is not answering.
            let r = app
                .post_form(&c, MAPLE, &TestApp::fill(&form, &shown[0], &[]))
                .await;
            assert_eq!(r.status().as_u16(), 503);
        }
        assert_eq!(knock_calls(&app), 2, "Knock asked before its Retry-After");
        // 61 s after the 429: asked again (in the background while the page is served).
        cache.advance_clock(Duration::from_secs(6));
        app.sandbox.clear_faults();
        assert_eq!(app.landing(&c, MAPLE).await.starts, shown);
        until_calls(&app, 3).await;
    }
);

on_both_backends!(
    a_page_view_that_changes_nothing_writes_no_cookie,
    |b: Backend| async move {
        let app = spawn_app_with(b, CACHED).await;
        let c = client();
        let first = c.get(app.url(MAPLE)).send().await.unwrap();
        assert!(
            first.headers().get("set-cookie").is_some(),
            "the first view starts a session"
        );
        let key = crate::helpers::offered_form(&first.text().await.unwrap()).hidden
            ["idempotency_key"]
            .clone();
        for _ in 0..3 {
            let again = c.get(app.url(MAPLE)).send().await.unwrap();
            assert!(
                again.headers().get("set-cookie").is_none(),
                "an unchanged session"
            );
            let form = crate::helpers::offered_form(&again.text().await.unwrap());
            assert_eq!(
                form.hidden["idempotency_key"], key,
                "the unposted key again"
            );
        }
        // Once posted, the key is never given out again.
        let booking = app.book(&c, MAPLE, None).await;
        let next = app.landing(&c, MAPLE).await;
        assert_ne!(next.hidden["idempotency_key"], key);
        // A resubmission of the posted key still lands on its booking.
        let mut fields = TestApp::fill(&next, &next.starts[0], &[]);
        fields.retain(|(k, _)| k != "idempotency_key");
        fields.push(("idempotency_key".into(), key));
        let r = app.post_form(&c, MAPLE, &fields).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"].to_str().unwrap(), booking);
    }
);
