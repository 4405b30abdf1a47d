//! The booking path, end to end over HTTP against the sandbox.
use chrono::{DateTime, Duration, TimeZone, Utc};
use knock_sandbox::Fault;
use reqwest::header::LOCATION;

use crate::helpers::{client, offered_form, spawn_app, Backend, TestApp};
use crate::on_both_backends;

const MAPLE: &str = "/tours/maple-court";

fn fault(route: &str, count: u32, status: u16, retry_after: Option<u64>) -> Fault {
    serde_json::from_value(serde_json::json!({
        "route": route, "count": count, "status": status, "retry_after": retry_after
    }))
    .expect("a valid fault")
}

fn booking_id(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("[data-booking-id]").unwrap();
    doc.select(&sel)
        .next()
        .expect("data-booking-id")
        .attr("data-booking-id")
        .unwrap()
        .to_string()
}

fn live_appointments(app: &TestApp) -> usize {
    app.sandbox
        .snapshot()
        .appointments
        .iter()
        .filter(|a| format!("{:?}", a.status).eq_ignore_ascii_case("confirmed"))
        .count()
}

on_both_backends!(
    the_utm_source_title_reaches_knock_byte_for_byte,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let source = "Zillow Self Tour & Co — Été 2026";
        let q = serde_urlencoded::to_string([("utm_knock_source_title", source)]).unwrap();
        let page = app.book(&c, &format!("{MAPLE}?{q}"), None).await;
        let (status, html) = app.get(&c, &page).await;
        assert_eq!(status, 200);
        assert!(html.contains("Confirmed"), "{html}");
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.appointments.len(), 1);
        assert_eq!(snap.appointments[0].source_title.as_deref(), Some(source));
        assert_eq!(
            format!("{:?}", snap.appointments[0].tour_type),
            "SelfGuided"
        );
        // The prospect was created first and its id kept with the booking.
        let id = booking_id(&html);
        let stored = app
            .app_store
            .booking_by_id(&tourgate::booking::BookingId::parse(&id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            stored.knock_prospect_id.as_deref(),
            Some(snap.appointments[0].prospect_id.as_str())
        );
        assert!(stored.knock_appointment_id.is_some());
    }
);

on_both_backends!(
    without_a_utm_value_the_community_default_source_is_sent,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        app.book(&client(), MAPLE, None).await;
        let snap = app.sandbox.snapshot();
        assert_eq!(
            snap.appointments[0].source_title.as_deref(),
            Some("Self-Guided Tour Vendor")
        );
    }
);

on_both_backends!(
    the_appointment_ends_one_tour_length_after_its_start,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        app.book(&client(), "/tours/lotus-residency", None).await;
        let a = &app.sandbox.snapshot().appointments[0];
        assert_eq!(a.end - a.start, Duration::minutes(45));
    }
);

on_both_backends!(
    an_invalid_email_gets_422_with_its_message_and_sends_nothing_to_knock,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let before = app.sandbox.snapshot().requests.len();
        let fields = TestApp::fill(
            &form,
            &form.starts[0],
            &[("email", "grace@@example"), ("first_name", "Grace <b>")],
        );
        let r = app.post_form(&c, MAPLE, &fields).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(html.contains("id=\"email-error\""), "{html}");
        assert!(html.contains("aria-invalid=\"true\""));
        // Values are kept, escaped.
        assert!(html.contains("value=\"grace@@example\""));
        assert!(
            html.contains("Grace &lt;b&gt;") || html.contains("Grace &#60;b&#62;"),
            "escaped name kept"
        );
        let after = app.sandbox.snapshot();
        let knock_writes = after.requests[before..]
            .iter()
            .filter(|r| r.method == "POST")
            .count();
        assert_eq!(knock_writes, 0, "nothing was sent to Knock");
        assert!(after.prospects.is_empty());
    }
);

on_both_backends!(a_forged_csrf_token_gets_403, |b: Backend| async move {
    let app = spawn_app(b).await;
    let c = client();
    let form = app.landing(&c, MAPLE).await;
    let mut fields = TestApp::fill(&form, &form.starts[0], &[]);
    for f in fields.iter_mut() {
        if f.0 == "csrf_token" {
            f.1 = "forged".into();
        }
    }
    assert_eq!(
        app.post_form(&c, MAPLE, &fields).await.status().as_u16(),
        403
    );
    // A cross-site post with the right token is refused too.
    let good = TestApp::fill(&form, &form.starts[0], &[]);
    let r = c
        .post(app.url(MAPLE))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(app.sandbox.snapshot().appointments.is_empty());
});

on_both_backends!(
    a_double_submit_gives_the_same_booking_and_one_appointment,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let fields = TestApp::fill(&form, &form.starts[0], &[]);
        let (r1, r2) = tokio::join!(
            app.post_form(&c, MAPLE, &fields),
            app.post_form(&c, MAPLE, &fields)
        );
        let r3 = app.post_form(&c, MAPLE, &fields).await;
        let loc = |r: &reqwest::Response| {
            r.headers()
                .get(LOCATION)
                .map(|h| h.to_str().unwrap().to_string())
        };
        assert_eq!(r1.status().as_u16(), 303);
        assert_eq!(loc(&r1), loc(&r3));
        assert_eq!(r2.status().as_u16(), 303, "{:?}", r2.headers());
        assert_eq!(loc(&r2), loc(&r1));
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
    }
);

on_both_backends!(
    two_renters_racing_for_one_slot_make_one_appointment,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c1, c2) = (client(), client());
        let f1 = app.landing(&c1, MAPLE).await;
        let f2 = app.landing(&c2, MAPLE).await;
        let slot = f1.starts[0].clone();
        let a = TestApp::fill(&f1, &slot, &[]);
        let b2 = TestApp::fill(
            &f2,
            &slot,
            &[
                ("email", "ada@example.com"),
                ("phone", "2065550199"),
                ("first_name", "Ada"),
            ],
        );
        let (r1, r2) = tokio::join!(
            app.post_form(&c1, MAPLE, &a),
            app.post_form(&c2, MAPLE, &b2)
        );
        let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [303, 409]);
        let loser = if r1.status().as_u16() == 409 { r1 } else { r2 };
        let html = loser.text().await.unwrap();
        let again = offered_form(&html);
        assert!(
            !again.starts.contains(&slot),
            "the taken slot is no longer offered"
        );
        assert!(html.contains("just taken"));
        assert_eq!(live_appointments(&app), 1);
    }
);

fn ny(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

on_both_backends!(
    slots_and_the_booking_page_are_right_across_a_dst_change,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        app.sandbox.set_now(Some(ny(2026, 10, 29, 12)));
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        // 9:00 local on both sides of the change (1 November 2026).
        assert!(
            form.starts
                .contains(&"2026-10-31T09:00:00-04:00".to_string()),
            "{:?}",
            &form.starts[..5]
        );
        assert!(form
            .starts
            .contains(&"2026-11-02T09:00:00-05:00".to_string()));
        let (_, html) = app.get(&c, MAPLE).await;
        assert!(html.contains("America/New_York"), "the zone is named");
        let after = app.book(&c, MAPLE, Some("2026-11-02T09:00:00-05:00")).await;
        let (_, page) = app.get(&c, &after).await;
        assert!(
            page.contains("Monday, November 2, 2026 at 9:00 AM EST"),
            "{page}"
        );
        let c2 = client();
        let ada = [("email", "ada@example.com"), ("phone", "(206) 555-0199")];
        let before = app
            .book_as(&c2, MAPLE, Some("2026-10-31T09:00:00-04:00"), &ada)
            .await;
        let (_, page) = app.get(&c2, &before).await;
        assert!(
            page.contains("Saturday, October 31, 2026 at 9:00 AM EDT"),
            "{page}"
        );
        let (status, ics) = app.get(&c2, &format!("{before}/calendar.ics")).await;
        assert_eq!(status, 200);
        assert!(
            ics.contains("DTSTART;TZID=America/New_York:20261031T090000"),
            "{ics}"
        );
        assert!(ics.contains("BEGIN:VTIMEZONE"));
    }
);

on_both_backends!(
    a_half_hour_zone_shows_its_own_local_times,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, "/tours/lotus-residency").await;
        assert!(
            form.starts.iter().all(|s| s.ends_with("+05:30")),
            "{:?}",
            &form.starts[..3]
        );
        let (_, html) = app.get(&c, "/tours/lotus-residency").await;
        assert!(html.contains("Asia/Kolkata"));
        let page = app
            .book(&c, "/tours/lotus-residency", Some(&form.starts[0]))
            .await;
        let (_, page) = app.get(&c, &page).await;
        let local = chrono::DateTime::parse_from_rfc3339(&form.starts[0]).unwrap();
        assert!(
            page.contains(&local.format("%-I:%M %p IST").to_string()),
            "{page}"
        );
    }
);

on_both_backends!(
    knock_answering_503_during_booking_leaves_a_pending_booking_the_worker_finishes,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        app.sandbox
            .inject_fault(fault("appointment_request", 2, 503, Some(1)));
        let r = app
            .post_form(&c, MAPLE, &TestApp::fill(&form, &form.starts[0], &[]))
            .await;
        assert_eq!(
            r.status().as_u16(),
            303,
            "the renter still gets a booking page"
        );
        let page = r.headers()[LOCATION].to_str().unwrap().to_string();
        let (_, html) = app.get(&c, &page).await;
        assert!(html.contains("We are confirming your tour"), "{html}");
        assert_eq!(live_appointments(&app), 0);
        // The worker runs when its backoff is due: here, by driving it as if a minute had passed.
        assert_eq!(
            app.run_worker_at(Utc::now() + Duration::minutes(1)).await,
            1
        );
        let (_, html) = app.get(&c, &page).await;
        assert!(html.contains("data-state=\"confirmed\""), "{html}");
        assert_eq!(live_appointments(&app), 1);
        // Nothing more to do, and nothing done twice.
        assert_eq!(app.run_worker_at(Utc::now() + Duration::hours(1)).await, 0);
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
    }
);

on_both_backends!(
    knock_refusing_the_request_gives_the_form_back_with_fresh_slots,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        app.sandbox
            .inject_fault(fault("appointment_request", 1, 400, None));
        let r = app
            .post_form(&c, MAPLE, &TestApp::fill(&form, &form.starts[0], &[]))
            .await;
        assert_eq!(r.status().as_u16(), 409);
        let html = r.text().await.unwrap();
        assert!(html.contains("could not book that time"), "{html}");
        assert!(!offered_form(&html).starts.is_empty());
        assert_eq!(live_appointments(&app), 0);
    }
);

on_both_backends!(
    knock_unreachable_on_landing_says_so_plainly,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        app.sandbox
            .inject_fault(fault("available_times", 1, 503, None));
        let (status, html) = app.get(&client(), MAPLE).await;
        assert_eq!(status, 503);
        assert!(
            html.contains("Tour times are not available right now"),
            "{html}"
        );
    }
);

on_both_backends!(
    unknown_communities_and_tokens_are_404_pages,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let (s, html) = app.get(&c, "/tours/nowhere").await;
        assert_eq!(s, 404);
        assert!(html.contains("Page not found"));
        assert_eq!(
            app.get(&c, "/bookings/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .await
                .0,
            404
        );
        assert_eq!(app.get(&c, "/bookings/short").await.0, 404);
        assert_eq!(app.get(&c, "/bookings/short/calendar.ics").await.0, 404);
    }
);

on_both_backends!(pages_carry_the_security_headers, |b: Backend| async move {
    let app = spawn_app(b).await;
    let r = client().get(app.url(MAPLE)).send().await.unwrap();
    let h = r.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
});
