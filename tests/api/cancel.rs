//! Cancelling: by the renter from the booking page and by staff with a reason. Every
//! cancellation reaches Knock once, through the outbox, whatever Knock does in between.
use chrono::{Duration, Utc};
use knock_sandbox::{Fault, FaultRoute};
use tourgate::booking::{BookingId, BookingState};
use tourgate::outbox::{JobKind, JobState};

use crate::callbacks::{booking_id, callback, completed, jobs_of, state_of, MAPLE};
use crate::helpers::{
    assert_knock_agrees, client, offered_form, spawn_app, wait_for_change_hold, Backend, TestApp,
};
use crate::on_both_backends;
use crate::reschedule::{booked, CHANGE_IN_PROGRESS};

const PASSWORD: &str = "correct horse battery staple";

/// A confirmed booking: the renter's client (holding the session), its page path and its id.
async fn confirmed(app: &TestApp) -> (reqwest::Client, String, String) {
    let c = client();
    let page = app.book(&c, MAPLE, None).await;
    let (_, html) = app.get(&c, &page).await;
    let id = booking_id(&html);
    assert_eq!(state_of(app, &id).await, BookingState::Confirmed);
    (c, page, id)
}

fn appointment_of(app: &TestApp) -> String {
    let snap = app.sandbox.snapshot();
    assert_eq!(snap.appointments.len(), 1);
    snap.appointments[0].id.clone()
}

/// PUT /appointment/{id}/cancel calls that Knock answered with 200.
fn knock_cancels(app: &TestApp, appointment: &str) -> usize {
    let path = format!("/appointment/{appointment}/cancel");
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.method == "PUT" && r.path == path && r.status == 200)
        .count()
}

fn knock_status(app: &TestApp, appointment: &str) -> String {
    let snap = app.sandbox.snapshot();
    let a = snap
        .appointments
        .iter()
        .find(|a| a.id == appointment)
        .expect("Knock has the appointment");
    format!("{:?}", a.status)
}

/// Follows the page's own confirmation step and posts its form.
async fn renter_cancels(app: &TestApp, c: &reqwest::Client, page: &str) -> reqwest::Response {
    let (status, html) = app.get(c, &format!("{page}/cancel")).await;
    assert_eq!(status, 200, "{html}");
    let form = offered_form(&html);
    assert_eq!(form.action, format!("{page}/cancel"));
    let fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    app.post_form(c, &form.action, &fields).await
}

async fn cancel_jobs(app: &TestApp, id: &str) -> Vec<tourgate::outbox::OutboxJob> {
    jobs_of(app, id)
        .await
        .into_iter()
        .filter(|j| j.kind == JobKind::AppointmentCancel)
        .collect()
}

/// Drives the outbox from `t` on until the booking's cancel job settles.
async fn deliver_cancel(app: &TestApp, id: &str, mut t: chrono::DateTime<Utc>) -> JobState {
    for _ in 0..20 {
        app.outbox.drain(t).await.unwrap();
        let jobs = cancel_jobs(app, id).await;
        assert_eq!(jobs.len(), 1);
        if matches!(jobs[0].state, JobState::Delivered | JobState::Dead) {
            return jobs[0].state;
        }
        t = t.max(jobs[0].next_attempt_at);
    }
    panic!("the cancel did not settle in 20 passes");
}

on_both_backends!(
    a_renter_cancel_reaches_knock_once_and_a_later_completion_is_refused,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c, page, id) = confirmed(&app).await;
        let appointment = appointment_of(&app);

        // The booking page links to the confirmation step; GET alone changes nothing.
        let (_, html) = app.get(&c, &page).await;
        assert!(html.contains(&format!("{page}/cancel")));
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);

        let r = renter_cancels(&app, &c, &page).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(r.headers()["location"], page.as_str());
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
        assert_eq!(cancel_jobs(&app, &id).await.len(), 1);

        assert_eq!(
            deliver_cancel(&app, &id, Utc::now()).await,
            JobState::Delivered
        );
        assert_eq!(knock_cancels(&app, &appointment), 1);
        assert_eq!(knock_status(&app, &appointment), "Cancelled");

        // The page says so and offers nothing but booking again.
        let (_, html) = app.get(&c, &page).await;
        assert!(html.contains("This tour is cancelled"), "{html}");
        assert!(!html.contains(&format!("{page}/cancel")));
        assert!(!html.contains("data-access-code"));
        let (status, _) = app.get(&c, &format!("{page}/cancel")).await;
        assert_eq!(status, 303, "the confirmation step is gone");

        // A completion reported afterwards is refused and queues no visit.
        let (s, _) = callback(&app, "msg_late", completed(&id, Utc::now(), &["101"])).await;
        assert_eq!(s, 409);
        assert!(jobs_of(&app, &id)
            .await
            .iter()
            .all(|j| j.kind != JobKind::Visit));
    }
);

on_both_backends!(
    cancelling_twice_is_harmless_and_knock_hears_of_it_once,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c, page, id) = confirmed(&app).await;
        let appointment = appointment_of(&app);
        let (_, html) = app.get(&c, &format!("{page}/cancel")).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        for _ in 0..2 {
            let r = app.post_form(&c, &format!("{page}/cancel"), &fields).await;
            assert_eq!(r.status().as_u16(), 303);
        }
        assert_eq!(cancel_jobs(&app, &id).await.len(), 1);
        deliver_cancel(&app, &id, Utc::now()).await;
        app.outbox
            .drain(Utc::now() + Duration::hours(2))
            .await
            .unwrap();
        assert_eq!(knock_cancels(&app, &appointment), 1);
    }
);

on_both_backends!(
    a_cancel_without_the_forms_token_changes_nothing,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c, page, id) = confirmed(&app).await;
        let r = app
            .post_form(
                &c,
                &format!("{page}/cancel"),
                &[("csrf_token".into(), "forged".into())],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);
        assert!(cancel_jobs(&app, &id).await.is_empty());
    }
);

on_both_backends!(
    knock_down_during_a_cancel_delivers_it_later,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c, page, id) = confirmed(&app).await;
        let appointment = appointment_of(&app);
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentCancel, 503).times(3));
        // Knock cancels, then the answer is lost to a time-out: repeating is harmless.
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentCancel, 3_000).after_effect());
        renter_cancels(&app, &c, &page).await;
        let t = Utc::now();
        app.outbox.drain(t).await.unwrap();
        let job = &cancel_jobs(&app, &id).await[0];
        assert_eq!(job.state, JobState::Pending);
        assert!(
            job.last_error
                .as_deref()
                .is_some_and(|e| e.contains("(HTTP 503)")),
            "{job:?}"
        );

        assert_eq!(deliver_cancel(&app, &id, t).await, JobState::Delivered);
        assert_eq!(knock_status(&app, &appointment), "Cancelled");
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
    }
);

on_both_backends!(
    a_request_knock_confirms_after_the_renter_cancelled_gets_cancelled_in_knock,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        // Knock does not answer at once: the booking stays requesting.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503).times(10));
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let (_, html) = app.get(&c, &page).await;
        let id = booking_id(&html);
        assert_eq!(state_of(&app, &id).await, BookingState::Requesting);

        let r = renter_cancels(&app, &c, &page).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
        assert!(
            cancel_jobs(&app, &id).await.is_empty(),
            "no appointment yet"
        );

        // The request that was on its way comes back confirmed after all.
        let bid = BookingId::parse(&id).unwrap();
        let confirmed = app
            .bookings
            .confirm(&bid, "4242", &[], Utc::now())
            .await
            .unwrap();
        assert!(!confirmed);
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
        let jobs = cancel_jobs(&app, &id).await;
        assert_eq!(jobs.len(), 1);
        assert!(jobs[0].payload.contains("4242"));
        app.sandbox.clear_faults();
    }
);

// ---- staff ----

pub async fn add_staff(app: &TestApp, email: &str, communities: &[&str]) {
    let slugs: Vec<String> = communities.iter().map(|s| s.to_string()).collect();
    tourgate::staff::add_staff(
        &app.app_store,
        &app.settings.communities,
        email,
        PASSWORD,
        &slugs,
        false,
    )
    .await
    .expect("the staff member is added");
}

pub async fn staff_client(app: &TestApp, email: &str) -> reqwest::Client {
    let c = client();
    let form = app.landing(&c, "/staff/login").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let r = app.post_form(&c, "/staff/login", &fields).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    c
}

/// Opens the staff confirmation step and posts it with `reason`.
async fn staff_cancels(
    app: &TestApp,
    c: &reqwest::Client,
    id: &str,
    reason: &str,
) -> reqwest::Response {
    let path = format!("/staff/bookings/{id}/cancel");
    let (status, html) = app.get(c, &path).await;
    assert_eq!(status, 200, "{html}");
    let form = offered_form(&html);
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("reason".into(), reason.into()));
    app.post_form(c, &path, &fields).await
}

on_both_backends!(
    a_staff_cancel_needs_a_reason_reaches_knock_once_and_is_in_the_history,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let (_, _, id) = confirmed(&app).await;
        let appointment = appointment_of(&app);
        let c = staff_client(&app, "ann@example.com").await;

        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        assert!(html.contains(&format!("/staff/bookings/{id}/cancel")));

        let r = staff_cancels(&app, &c, &id, "   ").await;
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.text().await.unwrap().contains("Give a reason"));
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);

        let r = staff_cancels(&app, &c, &id, "Unit 101 was leased <today>").await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
        assert_eq!(
            deliver_cancel(&app, &id, Utc::now()).await,
            JobState::Delivered
        );
        assert_eq!(knock_cancels(&app, &appointment), 1);

        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        assert!(html.contains("Unit 101 was leased &lt;today&gt;"), "{html}");
        assert!(html.contains("ann@example.com"));
        assert!(!html.contains(&format!("/staff/bookings/{id}/cancel")));
    }
);

on_both_backends!(
    a_staff_member_cannot_cancel_another_communitys_tour,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "lotus@example.com", &["lotus-residency"]).await;
        let (_, _, id) = confirmed(&app).await;
        let c = staff_client(&app, "lotus@example.com").await;
        let path = format!("/staff/bookings/{id}/cancel");
        let (status, _) = app.get(&c, &path).await;
        assert_eq!(status, 404);
        // Even with a valid token from one of its own pages.
        let (_, html) = app.get(&c, "/staff").await;
        let token = scraper::Html::parse_document(&html)
            .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
            .next()
            .and_then(|i| i.attr("value").map(str::to_string))
            .expect("a csrf token on the staff page");
        let r = app
            .post_form(
                &c,
                &path,
                &[("csrf_token".into(), token), ("reason".into(), "x".into())],
            )
            .await;
        assert_eq!(r.status().as_u16(), 404);
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);
        assert!(cancel_jobs(&app, &id).await.is_empty());
    }
);

on_both_backends!(
    a_dead_knock_cancel_shows_on_the_staff_pages_and_a_retry_delivers_it,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let (_, _, id) = confirmed(&app).await;
        let appointment = appointment_of(&app);
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentCancel, 400));
        let c = staff_client(&app, "ann@example.com").await;
        let r = staff_cancels(&app, &c, &id, "Lock is broken").await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(deliver_cancel(&app, &id, Utc::now()).await, JobState::Dead);
        assert_eq!(knock_status(&app, &appointment), "Confirmed");

        let (_, list) = app.get(&c, "/staff").await;
        assert!(list.contains("data-attention=\"dead_delivery\""), "{list}");
        assert!(list.contains("The cancel did not reach Knock"), "{list}");
        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        let job = cancel_jobs(&app, &id).await.remove(0);
        let action = format!("/staff/outbox/{}/retry", job.id);
        assert!(html.contains(&action), "{html}");
        let token = scraper::Html::parse_document(&html)
            .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
            .next()
            .and_then(|i| i.attr("value").map(str::to_string))
            .unwrap();

        let r = app
            .post_form(&c, &action, &[("csrf_token".into(), token)])
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(cancel_jobs(&app, &id).await[0].state, JobState::Pending);
        assert_eq!(
            deliver_cancel(&app, &id, Utc::now()).await,
            JobState::Delivered
        );
        assert_eq!(knock_status(&app, &appointment), "Cancelled");
        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        assert!(!html.contains(&action));
        assert!(html.contains("outbox_retry"));
    }
);

on_both_backends!(
    a_staff_member_cannot_retry_another_communitys_delivery,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "lotus@example.com", &["lotus-residency"]).await;
        let (c_renter, page, id) = confirmed(&app).await;
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentCancel, 400));
        renter_cancels(&app, &c_renter, &page).await;
        assert_eq!(deliver_cancel(&app, &id, Utc::now()).await, JobState::Dead);
        let job = cancel_jobs(&app, &id).await.remove(0);
        let c = staff_client(&app, "lotus@example.com").await;
        let (_, html) = app.get(&c, "/staff").await;
        let token = scraper::Html::parse_document(&html)
            .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
            .next()
            .and_then(|i| i.attr("value").map(str::to_string))
            .unwrap();
        let r = app
            .post_form(
                &c,
                &format!("/staff/outbox/{}/retry", job.id),
                &[("csrf_token".into(), token)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 404);
        assert_eq!(cancel_jobs(&app, &id).await[0].state, JobState::Dead);
    }
);

on_both_backends!(
    staff_resend_the_access_email_of_their_own_communitys_tour_only,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "maple@example.com", &["maple-court"]).await;
        add_staff(&app, "lotus@example.com", &["lotus-residency"]).await;
        let (_, _, id) = confirmed(&app).await;
        let access_jobs = |jobs: &[tourgate::outbox::OutboxJob]| {
            jobs.iter()
                .filter(|j| j.kind == JobKind::Email && j.payload.contains("access_instructions"))
                .count()
        };
        let bid = BookingId::parse(&id).unwrap();
        let before = access_jobs(&app.app_store.outbox_jobs_for_booking(&bid).await.unwrap());
        let path = format!("/staff/bookings/{id}/resend-access");
        let token_from = |html: &str| {
            scraper::Html::parse_document(html)
                .select(&scraper::Selector::parse("input[name=csrf_token]").unwrap())
                .next()
                .and_then(|i| i.attr("value").map(str::to_string))
                .expect("a csrf token")
        };

        let other = staff_client(&app, "lotus@example.com").await;
        let (_, html) = app.get(&other, "/staff").await;
        let r = app
            .post_form(&other, &path, &[("csrf_token".into(), token_from(&html))])
            .await;
        assert_eq!(r.status().as_u16(), 404);

        let c = staff_client(&app, "maple@example.com").await;
        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        assert!(html.contains(&path), "the button is offered");
        let r = app
            .post_form(&c, &path, &[("csrf_token".into(), token_from(&html))])
            .await;
        assert_eq!(r.status().as_u16(), 303);
        let jobs = app.app_store.outbox_jobs_for_booking(&bid).await.unwrap();
        assert_eq!(
            access_jobs(&jobs),
            before + 1,
            "one more access e-mail queued"
        );
        let (_, html) = app.get(&c, &format!("/staff/bookings/{id}")).await;
        assert!(
            html.contains("Access e-mail queued again"),
            "the action is in the history"
        );
    }
);

// ---- a cancel racing a reschedule ----

/// Every CONFIRMED appointment in Knock with its start.
fn live_in_knock(app: &TestApp) -> Vec<(String, chrono::DateTime<Utc>)> {
    app.sandbox
        .snapshot()
        .appointments
        .iter()
        .filter(|a| format!("{:?}", a.status) == "Confirmed")
        .map(|a| (a.id.clone(), a.start))
        .collect()
}

/// After a reschedule raced a cancel: either the booking is cancelled and Knock has nothing
/// live, or it moved to `moved_to` and Knock has exactly its appointment. Never anything else.
async fn cancelled_or_moved(app: &TestApp, id: &str, moved_to: &str) -> BookingState {
    assert_knock_agrees(app).await;
    let b = app
        .app_store
        .booking_by_id(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let live = live_in_knock(app);
    match b.state {
        BookingState::Cancelled => assert!(live.is_empty(), "{live:?}"),
        BookingState::Confirmed => {
            assert_eq!(b.slot.value, moved_to);
            assert_eq!(live.len(), 1, "{live:?}");
            assert_eq!(Some(&live[0].0), b.knock_appointment_id.as_ref());
            assert_eq!(live[0].1, b.slot_start());
        }
        other => panic!("neither cancelled nor moved: {other:?}"),
    }
    b.state
}

on_both_backends!(
    a_renter_cancel_while_knock_answers_a_reschedule_waits_for_it,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let to = form.starts[1].clone();
        let (_, html) = app.get(&renter.c, &format!("{}/cancel", renter.page)).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 1_500));

        let (moved, cancel) = tokio::join!(renter.reschedule(&app, &form, &to), async {
            wait_for_change_hold(&app.app_store, &renter.id).await;
            let r = app
                .post_form(&renter.c, &format!("{}/cancel", renter.page), &fields)
                .await;
            (r.status().as_u16(), r.text().await.unwrap())
        });
        assert_eq!(cancel.0, 409, "{}", cancel.1);
        assert!(cancel.1.contains(CHANGE_IN_PROGRESS), "{}", cancel.1);
        assert_eq!(moved.0, 303, "{}", moved.1);
        assert!(
            cancel_jobs(&app, &renter.id).await.len() == 1,
            "the old one's only"
        );
        assert_eq!(
            cancelled_or_moved(&app, &renter.id, &to).await,
            BookingState::Confirmed
        );

        // Once the move is kept, the renter's cancel goes through and cancels the new one.
        let r = app
            .post_form(&renter.c, &format!("{}/cancel", renter.page), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(
            cancelled_or_moved(&app, &renter.id, &to).await,
            BookingState::Cancelled
        );
    }
);

on_both_backends!(
    a_reschedule_and_a_cancel_at_once_end_cancelled_or_moved_never_in_between,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let to = form.starts[1].clone();
        let (_, html) = app.get(&renter.c, &format!("{}/cancel", renter.page)).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 500));

        let (moved, cancel) = tokio::join!(renter.reschedule(&app, &form, &to), async {
            app.post_form(&renter.c, &format!("{}/cancel", renter.page), &fields)
                .await
                .status()
                .as_u16()
        });
        // Whichever took the booking first: the other answers 409, or finds it cancelled.
        match cancelled_or_moved(&app, &renter.id, &to).await {
            BookingState::Cancelled => assert_eq!(cancel, 303),
            _ => {
                assert_eq!(moved.0, 303, "{}", moved.1);
                assert_eq!(cancel, 409);
            }
        }
    }
);

on_both_backends!(
    a_staff_cancel_while_knock_answers_a_reschedule_waits_for_it,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let staff = staff_client(&app, "ann@example.com").await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let to = form.starts[1].clone();
        let path = format!("/staff/bookings/{}/cancel", renter.id);
        let (_, html) = app.get(&staff, &path).await;
        let mut fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        fields.push(("reason".into(), "Unit leased".into()));
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 1_500));

        let (moved, cancel) = tokio::join!(renter.reschedule(&app, &form, &to), async {
            wait_for_change_hold(&app.app_store, &renter.id).await;
            let r = app.post_form(&staff, &path, &fields).await;
            (r.status().as_u16(), r.text().await.unwrap())
        });
        assert_eq!(cancel.0, 409, "{}", cancel.1);
        assert!(cancel.1.contains(CHANGE_IN_PROGRESS), "{}", cancel.1);
        assert_eq!(moved.0, 303, "{}", moved.1);
        assert_eq!(
            cancelled_or_moved(&app, &renter.id, &to).await,
            BookingState::Confirmed
        );
        let (_, page) = app
            .get(&staff, &format!("/staff/bookings/{}", renter.id))
            .await;
        assert!(!page.contains("Unit leased"), "no cancel on record");

        let r = app.post_form(&staff, &path, &fields).await;
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(
            cancelled_or_moved(&app, &renter.id, &to).await,
            BookingState::Cancelled
        );
    }
);
