//! How a tour ends when the provider never says `tour.completed` (SPEC.md "States"): the window
//! ends after an arrival, or the renter says they are done on the booking page. Either way the
//! booking is completed once and exactly one visit reaches Knock.
use chrono::{DateTime, Duration, SubsecRound, Utc};
use tourgate::booking::{BookingId, BookingState};
use tourgate::outbox::{Job, JobKind};

use crate::callbacks::{
    booking_id, callback, completed, confirmed_booking, granted, jobs_of, state_of, MAPLE,
};
use crate::helpers::{client, offered_form, Backend, TestApp};
use crate::on_both_backends;

async fn slot_end(app: &TestApp, id: &str) -> DateTime<Utc> {
    app.app_store
        .booking_by_id(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .slot_end
}

fn visit_of(app_jobs: &[tourgate::outbox::OutboxJob]) -> tourgate::outbox::VisitJob {
    assert_eq!(app_jobs.len(), 1, "one Knock job: the visit");
    assert_eq!(app_jobs[0].kind, JobKind::Visit);
    match app_jobs[0].job() {
        Ok(Job::Visit(v)) => v,
        other => panic!("a visit job, not {other:?}"),
    }
}

on_both_backends!(
    an_arrival_nobody_reports_finished_is_completed_when_the_window_ends_with_one_visit,
    |b: Backend| async move {
        let app = crate::helpers::spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let arrived = (Utc::now() - Duration::minutes(2)).trunc_subsecs(3);
        assert_eq!(callback(&app, "msg_in", granted(&id, arrived)).await.0, 200);
        let end = slot_end(&app, &id).await;

        let sweep = |at| app.bookings.sweep_ended_windows(at);
        assert!(sweep(end + Duration::minutes(14))
            .await
            .unwrap()
            .completed
            .is_empty());
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);
        let after = end + Duration::minutes(16);
        let moved = sweep(after).await.unwrap();
        assert_eq!(moved.completed, [BookingId::parse(&id).unwrap()]);
        assert!(moved.no_shows.is_empty(), "an arrival is never a no-show");
        assert_eq!(state_of(&app, &id).await, BookingState::Completed);
        let visit = visit_of(&jobs_of(&app, &id).await);
        assert_eq!(
            visit.visit_time, arrived,
            "when the renter was surely there"
        );
        assert!(visit.unit_names.is_empty());
        assert!(visit.is_self_guided);

        // Later sweeps and a late report from the lock add nothing.
        assert_eq!(
            sweep(after + Duration::hours(1)).await.unwrap(),
            Default::default()
        );
        let (s, _) = callback(&app, "msg_late", completed(&id, Utc::now(), &["101"])).await;
        assert_eq!(s, 200);
        assert_eq!(jobs_of(&app, &id).await.len(), 1);
        // The sweep ran as if at `after`: so does the delivery.
        app.outbox.drain(after + Duration::hours(1)).await.unwrap();
        let visits = app.sandbox.snapshot().visits;
        assert_eq!(visits.len(), 1, "one visit in Knock");
        assert_eq!(visits[0].visit_time, arrived);
    }
);

/// The booking page's "I have finished" form, as offered while the tour is under way.
async fn done_form(app: &TestApp, c: &reqwest::Client, page: &str) -> crate::helpers::OfferedForm {
    let (status, html) = app.get(c, page).await;
    assert_eq!(status, 200);
    let doc = scraper::Html::parse_document(&html);
    let sel = scraper::Selector::parse("form[action$='/done']").unwrap();
    let form = doc
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("the page offers the done form: {html}"));
    offered_form(&form.html())
}

on_both_backends!(
    the_renter_says_they_are_done_and_knock_gets_one_visit_with_the_homes_they_saw,
    |b: Backend| async move {
        let app = crate::helpers::spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let id = booking_id(&app.get(&c, &page).await.1);

        // Not under way yet: no form, and a post is refused.
        let html = app.get(&c, &page).await.1;
        assert!(
            !html.contains("/done\""),
            "no done form before the door opens"
        );
        let csrf = app.landing(&c, &format!("{page}/cancel")).await.hidden["csrf_token"].clone();
        let field = |k: &str, v: &str| (k.to_string(), v.to_string());
        let r = app
            .post_form(&c, &format!("{page}/done"), &[field("csrf_token", &csrf)])
            .await;
        assert_eq!(r.status().as_u16(), 409);
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);

        let arrived = (Utc::now() - Duration::minutes(3)).trunc_subsecs(3);
        assert_eq!(callback(&app, "msg_in", granted(&id, arrived)).await.0, 200);
        let form = done_form(&app, &c, &page).await;
        let token = form.hidden["csrf_token"].clone();

        // Without the token, from another site, or with a home the community does not have:
        // refused, and nothing changes.
        let r = app
            .post_form(&c, &form.action, &[field("unit", "101")])
            .await;
        assert_eq!(r.status().as_u16(), 403);
        let r = app
            .post_form(
                &c,
                &form.action,
                &[field("csrf_token", &token), field("unit", "Penthouse")],
            )
            .await;
        assert_eq!(r.status().as_u16(), 400);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("Choose only from the homes listed"));
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);
        assert!(jobs_of(&app, &id).await.is_empty());

        let before = Utc::now();
        let fields = [
            field("csrf_token", &token),
            field("unit", "2B"),
            field("unit", "101"),
        ];
        let r = app.post_form(&c, &form.action, &fields).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(state_of(&app, &id).await, BookingState::Completed);
        let html = app.get(&c, &page).await.1;
        assert!(html.contains("Thank you for touring"), "{html}");
        // Twice is once.
        let r = app.post_form(&c, &form.action, &fields).await;
        assert_eq!(r.status().as_u16(), 303);

        let visit = visit_of(&jobs_of(&app, &id).await);
        assert_eq!(visit.unit_names, ["2B", "101"]);
        // The visit is when the renter was there (the arrival), not the click.
        assert_eq!(visit.visit_time, arrived);
        assert!(before > arrived);
        app.outbox.drain(Utc::now()).await.unwrap();
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.visits.len(), 1);
        assert_eq!(snap.visits[0].unit_names, ["2B", "101"]);
        assert_eq!(
            snap.visits[0].appointment_id.as_deref(),
            Some(snap.appointments[0].id.as_str())
        );
    }
);

on_both_backends!(
    a_late_report_from_inside_the_window_turns_a_no_show_into_a_completed_tour,
    |b: Backend| async move {
        let app = crate::helpers::spawn_app(b).await;
        let c = client();
        let starts = app.landing(&c, MAPLE).await.starts;
        let mut ids = Vec::new();
        // Three renters: one live booking per renter.
        let renters = [
            [("email", "grace@example.com"), ("phone", "(206) 555-0155")],
            [("email", "ada@example.com"), ("phone", "(206) 555-0199")],
            [("email", "alan@example.com"), ("phone", "(206) 555-0188")],
        ];
        for (start, renter) in starts[..3].iter().zip(&renters) {
            let page = app.book_as(&c, MAPLE, Some(start), renter).await;
            ids.push(booking_id(&app.get(&c, &page).await.1));
        }
        let (opened, finished, outside) = (&ids[0], &ids[1], &ids[2]);
        let mut latest = slot_end(&app, outside).await;
        for id in &ids {
            latest = latest.max(slot_end(&app, id).await);
        }
        let swept = app
            .bookings
            .sweep_ended_windows(latest + Duration::minutes(16))
            .await
            .unwrap();
        assert_eq!(swept.no_shows.len(), 3);

        // The lock's report of the door opening five minutes into the tour, hours late.
        let start = slot_end(&app, opened).await - Duration::minutes(30);
        let (s, _) = callback(
            &app,
            "msg_late_in",
            granted(opened, start + Duration::minutes(5)),
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(state_of(&app, opened).await, BookingState::Completed);
        let visit = visit_of(&jobs_of(&app, opened).await);
        assert!(visit.unit_names.is_empty());

        // A late completion, ten minutes after the window, with the homes seen.
        let at = slot_end(&app, finished).await + Duration::minutes(10);
        let (s, _) = callback(&app, "msg_late_done", completed(finished, at, &["102"])).await;
        assert_eq!(s, 200);
        assert_eq!(state_of(&app, finished).await, BookingState::Completed);
        assert_eq!(visit_of(&jobs_of(&app, finished).await).unit_names, ["102"]);

        // A door opening an hour after the window is not this tour's.
        let at = slot_end(&app, outside).await + Duration::hours(1);
        let (s, _) = callback(&app, "msg_too_late", granted(outside, at)).await;
        assert_eq!(s, 409);
        assert_eq!(state_of(&app, outside).await, BookingState::NoShow);
        assert!(jobs_of(&app, outside).await.is_empty());

        // Replays and further reports change nothing; Knock gets one visit per tour.
        let (s, _) = callback(&app, "msg_late_in", granted(opened, start)).await;
        assert_eq!(s, 200);
        let (s, _) = callback(&app, "msg_late_again", completed(opened, start, &[])).await;
        assert_eq!(s, 200);
        assert_eq!(jobs_of(&app, opened).await.len(), 1);
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(app.sandbox.snapshot().visits.len(), 2);
    }
);
