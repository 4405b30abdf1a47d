//! Knock's copy of a community disagreeing with ours: the sandbox is configured on its own
//! (`spawn_app_with_sandbox`), as the real Knock is, so that a difference cannot hide.
use chrono::{DateTime, Duration, FixedOffset, Utc};
use tourgate::booking::BookingState;

use crate::callbacks::{booking_id, state_of, MAPLE};
use crate::helpers::{client, spawn_app_with_sandbox, Backend, TestApp};
use crate::on_both_backends;

const MAPLE_KNOCK_ID: &str = "mapleCourt000001";

on_both_backends!(
    knocks_shorter_tour_length_confirms_our_tour_with_our_end_or_refuses_it_plainly,
    |b: Backend| async move {
        // Ours: 30-minute tours. Knock's: 20 minutes (its slot grid and in-person length).
        let app = spawn_app_with_sandbox(b, &[], |sandbox| {
            let maple = sandbox
                .communities
                .iter_mut()
                .find(|c| c.id == MAPLE_KNOCK_ID)
                .expect("maple court is in the sandbox");
            maple.tour_minutes = 20;
        })
        .await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let starts: Vec<DateTime<FixedOffset>> = form
            .starts
            .iter()
            .map(|s| DateTime::parse_from_rfc3339(s).expect("an RFC 3339 start"))
            .collect();
        // The renter is offered Knock's grid, not ours: two starts 20 minutes apart.
        let (early, late) = starts
            .windows(2)
            .map(|w| (w[0], w[1]))
            .find(|(a, b)| *b - *a == Duration::minutes(20))
            .expect("Knock's 20-minute grid is what we offer");

        // A books the later start. We ask Knock for our 30 minutes (endTime); Knock honours a
        // self-guided endTime (API.md §4 behaviour 7), so its appointment ends where ours does.
        let page = book_as(
            &app,
            &c,
            &late.to_rfc3339(),
            "ada@example.com",
            "(206) 555-0101",
        )
        .await
        .expect("confirmed");
        let (_, html) = app.get(&c, &page).await;
        let a = booking_id(&html);
        assert_eq!(state_of(&app, &a).await, BookingState::Confirmed);
        let ours = app
            .app_store
            .booking_by_id(&tourgate::booking::BookingId::parse(&a).unwrap())
            .await
            .unwrap()
            .expect("the booking");
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.appointments.len(), 1);
        let knocks = &snap.appointments[0];
        assert_eq!(knocks.start, late.with_timezone(&Utc));
        assert_eq!(
            (knocks.start, knocks.end),
            (ours.slot_start(), ours.slot_end),
            "Knock's appointment is the tour we show"
        );
        assert_eq!(ours.slot_end - ours.slot_start(), Duration::minutes(30));

        // B takes the earlier start, still free on Knock's 20-minute grid: our 30 minutes
        // would run into A's tour, so Knock refuses it. The renter is told plainly and picks
        // again (409, never a 500); nothing is booked on either side.
        let c2 = client();
        app.landing(&c2, MAPLE).await;
        let refused = book_as(
            &app,
            &c2,
            &early.to_rfc3339(),
            "bob@example.com",
            "(206) 555-0102",
        )
        .await
        .expect_err("Knock refuses the overlap");
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(refused.1.contains("Nothing was booked"), "{}", refused.1);
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.appointments.len(), 1, "Knock holds A's tour only");
        assert_eq!(
            snap.requests
                .iter()
                .filter(|r| r.path == "/appointment/request" && r.status == 400)
                .count(),
            1,
            "Knock was asked and said no"
        );
    }
);

/// Books `start` as a renter with this e-mail and phone: the booking page, or the status and
/// page of a refusal.
async fn book_as(
    app: &TestApp,
    c: &reqwest::Client,
    start: &str,
    email: &str,
    phone: &str,
) -> Result<String, (u16, String)> {
    let form = app.landing(c, MAPLE).await;
    let value = form
        .starts
        .iter()
        .find(|s| DateTime::parse_from_rfc3339(s).ok() == DateTime::parse_from_rfc3339(start).ok())
        .cloned()
        .unwrap_or_else(|| start.to_owned());
    let fields = TestApp::fill(&form, &value, &[("email", email), ("phone", phone)]);
    let r = app.post_form(c, &form.action, &fields).await;
    let status = r.status().as_u16();
    if status == 303 {
        return Ok(r.headers()["location"].to_str().unwrap().to_string());
    }
    Err((status, r.text().await.unwrap()))
}
