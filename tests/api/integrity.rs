//! Booking integrity: Tourgate and Knock agree on every booking, whatever Knock's timing. Each
//! test ends with the shared check (`assert_knock_agrees`): every live booking has exactly one
//! confirmed appointment in Knock with its id, and every confirmed self-guided appointment in
//! Knock belongs to a live booking, or to a request staff are told of.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use knock_sandbox::{AppointmentStatus, Fault, FaultRoute};
use tourgate::booking::{BookingId, BookingState};
use tourgate::domain::Review;

use crate::callbacks::{booking_id, MAPLE};
use crate::cancel::{add_staff, staff_client};
use crate::helpers::{
    assert_knock_agrees, client, offered_form, set_state, spawn_app, spawn_app_with, Backend,
    TestApp,
};
use crate::on_both_backends;

/// Calls Knock received on `path` (e.g. "/appointment/request").
fn calls(app: &TestApp, path: &str) -> usize {
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

fn confirmed_in_knock(app: &TestApp) -> Vec<String> {
    app.sandbox
        .snapshot()
        .appointments
        .into_iter()
        .filter(|a| a.status == AppointmentStatus::Confirmed)
        .map(|a| a.id)
        .collect()
}

async fn booking(app: &TestApp, id: &str) -> tourgate::booking::Booking {
    app.app_store
        .booking_by_id(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("the booking exists")
}

/// Posts the landing page's earliest time; returns the answer's status and location.
async fn post_booking(app: &TestApp, c: &reqwest::Client) -> (u16, String) {
    post_first_start(app, c, |_| true).await
}

/// Posts the landing page's earliest time that `fits`; returns the answer's status and
/// location.
async fn post_first_start(
    app: &TestApp,
    c: &reqwest::Client,
    fits: impl Fn(&str) -> bool,
) -> (u16, String) {
    let form = app.landing(c, MAPLE).await;
    let start = form
        .starts
        .iter()
        .find(|s| fits(s))
        .expect("a fitting time is offered")
        .clone();
    let r = app
        .post_form(c, &form.action, &TestApp::fill(&form, &start, &[]))
        .await;
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|l| l.to_str().unwrap().to_string());
    (status, location.unwrap_or_default())
}

/// Posts the landing page's earliest time at least `hours` ahead: for a test that runs the
/// worker that far on, where an earlier tour would rightly be given up (ten minutes before
/// it) whatever the time of day the test runs at.
async fn post_booking_hours_ahead(app: &TestApp, c: &reqwest::Client, hours: i64) -> (u16, String) {
    let not_before = Utc::now() + Duration::hours(hours);
    post_first_start(app, c, |s| {
        chrono::DateTime::parse_from_rfc3339(s).is_ok_and(|t| t > not_before)
    })
    .await
}

async fn id_behind(app: &TestApp, c: &reqwest::Client, page: &str) -> String {
    let (status, html) = app.get(c, page).await;
    assert_eq!(status, 200, "{html}");
    booking_id(&html)
}

on_both_backends!(
    a_slow_knock_answer_gets_one_request_and_a_confirmed_booking,
    |b: Backend| async move {
        // Knock's time-out as in production (tests use 2 s), so that 3 s is merely slow.
        let app = spawn_app_with(b, &[("KNOCK_TIMEOUT_SECS", "10")]).await;
        let c = client();
        // Knock books at once and answers three seconds later.
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 3_000).after_effect());
        let done = AtomicBool::new(false);
        let renter = async {
            let answer = post_booking(&app, &c).await;
            done.store(true, Ordering::SeqCst);
            answer
        };
        // Meanwhile the booking worker runs, as it does every second in every process.
        let worker = async {
            let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
            let mut runs_while_waiting = 0;
            while !done.load(Ordering::SeqCst) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the request never ended"
                );
                if !app.sandbox.snapshot().appointments.is_empty() {
                    assert_eq!(
                        app.run_worker_at(Utc::now()).await,
                        0,
                        "the worker took a held booking"
                    );
                    runs_while_waiting += 1;
                }
                tokio::time::sleep(StdDuration::from_millis(50)).await;
            }
            runs_while_waiting
        };
        let ((status, page), runs) = tokio::join!(renter, worker);
        assert!(runs > 0, "the worker ran while Knock was answering");
        assert_eq!(status, 303, "the renter is sent to the booking page");
        let id = id_behind(&app, &c, &page).await;
        assert_eq!(booking(&app, &id).await.state, BookingState::Confirmed);
        assert_eq!(calls(&app, "/appointment/request"), 1);
        assert_eq!(
            app.run_worker_at(Utc::now() + Duration::minutes(5)).await,
            0
        );
        assert_knock_agrees(&app).await;
    }
);

async fn lost_answer_waits_for_staff(b: Backend, losses: u32) {
    let app = spawn_app(b).await;
    let c = client();
    // Knock books the tour, then the connection drops before its answer.
    app.sandbox.inject_fault(
        Fault::drop_connection(FaultRoute::AppointmentRequest)
            .after_effect()
            .times(losses),
    );
    let (status, page) = post_booking(&app, &c).await;
    assert_eq!(status, 303, "never 'nothing was booked'");
    let (_, html) = app.get(&c, &page).await;
    assert!(html.contains("We are confirming your tour"), "{html}");
    assert!(!html.contains("Nothing was booked"), "{html}");
    let id = booking_id(&html);
    let b = booking(&app, &id).await;
    assert_eq!(b.state, BookingState::Requesting);
    assert_eq!(b.review, Some(Review::NeedsAttention));
    // Knock's events showed the appointment: it was not asked for a second time.
    assert_eq!(calls(&app, "/appointment/request"), 1);
    let in_knock = confirmed_in_knock(&app);
    assert_eq!(in_knock.len(), 1);
    // The worker leaves it to staff.
    assert_eq!(app.run_worker_at(Utc::now() + Duration::hours(1)).await, 0);
    assert_eq!(calls(&app, "/appointment/request"), 1);
    assert_knock_agrees(&app).await;

    // Staff see it flagged, and keep the tour with the id from Knock's calendar.
    add_staff(&app, "ann@example.com", &["maple-court"]).await;
    let staff = staff_client(&app, "ann@example.com").await;
    let (_, list) = app.get(&staff, "/staff").await;
    assert!(list.contains("Needs attention"), "{list}");
    let path = format!("/staff/bookings/{id}");
    let (_, html) = app.get(&staff, &path).await;
    assert!(html.contains("data-review=\"needs_attention\""), "{html}");
    let form = offered_form(&html);
    let mut fields: Vec<(String, String)> = form.hidden.clone().into_iter().collect();
    fields.push(("appointment_id".into(), "not an id!".into()));
    let r = app
        .post_form(&staff, &format!("{path}/adopt"), &fields)
        .await;
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("role=\"alert\""));
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("appointment_id".into(), in_knock[0].clone()));
    let r = app
        .post_form(&staff, &format!("{path}/adopt"), &fields)
        .await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let b = booking(&app, &id).await;
    assert_eq!(b.state, BookingState::Confirmed);
    assert_eq!(
        b.knock_appointment_id.as_deref(),
        Some(in_knock[0].as_str())
    );
    assert_eq!(b.review, None);
    let (_, html) = app.get(&c, &page).await;
    assert!(html.contains("data-state=\"confirmed\""), "{html}");
    assert_knock_agrees(&app).await;
}

on_both_backends!(
    an_answer_lost_once_after_knock_booked_waits_for_staff_who_adopt_it,
    |b: Backend| lost_answer_waits_for_staff(b, 1)
);

on_both_backends!(
    an_answer_lost_on_every_try_is_asked_for_once_and_waits_for_staff,
    |b: Backend| lost_answer_waits_for_staff(b, 20)
);

on_both_backends!(
    an_answer_lost_before_knock_booked_is_asked_again_and_confirmed,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        // The connection drops and Knock did nothing: its events show no appointment.
        app.sandbox
            .inject_fault(Fault::drop_connection(FaultRoute::AppointmentRequest));
        let (status, page) = post_booking(&app, &c).await;
        assert_eq!(status, 303);
        let id = id_behind(&app, &c, &page).await;
        assert_eq!(booking(&app, &id).await.state, BookingState::Confirmed);
        assert_eq!(calls(&app, "/appointment/request"), 2);
        assert_eq!(confirmed_in_knock(&app).len(), 1);
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_refused_retry_after_a_lost_answer_is_no_refusal_when_knock_cannot_be_read,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        // Knock books, the answer is lost; its events cannot be read, and asking again is
        // refused (our own appointment holds the slot).
        app.sandbox
            .inject_fault(Fault::drop_connection(FaultRoute::AppointmentRequest).after_effect());
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::ProspectEvents, 503).times(2));
        let (status, page) = post_booking(&app, &c).await;
        assert_eq!(status, 303, "not the 409 'nothing was booked'");
        let id = id_behind(&app, &c, &page).await;
        let b = booking(&app, &id).await;
        assert_eq!(b.state, BookingState::Requesting);
        assert_eq!(b.review, Some(Review::NeedsAttention));
        assert!(
            b.review_detail
                .as_deref()
                .unwrap_or("")
                .contains("could not be read"),
            "{:?}",
            b.review_detail
        );
        assert_eq!(calls(&app, "/appointment/request"), 2);
        assert_eq!(confirmed_in_knock(&app).len(), 1);
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_late_answer_for_a_booking_given_up_cancels_its_appointment_in_knock,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503).times(2));
        let (status, page) = post_booking(&app, &c).await;
        assert_eq!(status, 303);
        let id = id_behind(&app, &c, &page).await;
        // Given up meanwhile (as ten minutes before the tour), then Knock's answer arrives.
        set_state(&app.app_store, &id, "failed").await;
        let bid = BookingId::parse(&id).unwrap();
        let confirmed = app
            .bookings
            .confirm(&bid, "4242", &[], Utc::now())
            .await
            .unwrap();
        assert!(!confirmed);
        let b = booking(&app, &id).await;
        assert_eq!(b.state, BookingState::Failed);
        let cancels: Vec<_> = app
            .app_store
            .outbox_jobs_for_booking(&bid)
            .await
            .unwrap()
            .into_iter()
            .filter(|j| j.kind == tourgate::outbox::JobKind::AppointmentCancel)
            .collect();
        assert_eq!(cancels.len(), 1);
        assert!(cancels[0].payload.contains("4242"));
    }
);

on_both_backends!(
    two_processes_during_an_outage_send_one_request_per_booking,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let other = app.another_process_same_knock().await;
        let c = client();
        // Knock is down, and slow about saying so.
        app.sandbox.inject_fault(
            Fault::status(FaultRoute::AppointmentRequest, 503)
                .with_latency(300)
                .times(1000),
        );
        let (status, page) = post_booking_hours_ahead(&app, &c, 3).await;
        assert_eq!(status, 303);
        let id = id_behind(&app, &c, &page).await;
        assert_eq!(booking(&app, &id).await.state, BookingState::Requesting);
        let before = calls(&app, "/appointment/request");
        for minutes in [5, 15, 30] {
            let at = Utc::now() + Duration::minutes(minutes);
            let (a, b) = tokio::join!(app.run_worker_at(at), other.run_worker_at(at));
            assert_eq!(a + b, 1, "one process works the booking at a time");
        }
        assert_eq!(calls(&app, "/appointment/request"), before + 3);
        app.sandbox.clear_faults();
        let at = Utc::now() + Duration::hours(1);
        let (a, b) = tokio::join!(app.run_worker_at(at), other.run_worker_at(at));
        assert_eq!(a + b, 1);
        assert_eq!(booking(&app, &id).await.state, BookingState::Confirmed);
        assert_eq!(calls(&app, "/appointment/request"), before + 4);
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_refused_key_is_an_outage_the_renter_waits_and_staff_see_why,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        // A rotated key: Knock's gateway refuses every appointment call for a while.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 403).times(3));
        let (status, page) = post_booking(&app, &c).await;
        assert_eq!(status, 303, "the renter is not told the time was refused");
        let id = id_behind(&app, &c, &page).await;
        assert_eq!(booking(&app, &id).await.state, BookingState::Requesting);
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let staff = staff_client(&app, "ann@example.com").await;
        let (_, html) = app.get(&staff, "/staff").await;
        assert!(html.contains("data-knock-down"), "{html}");
        assert!(
            html.contains("Knock has refused our API key since"),
            "{html}"
        );
        // The key works again: the booking goes through and the banner is gone.
        app.sandbox.clear_faults();
        assert_eq!(
            app.run_worker_at(Utc::now() + Duration::minutes(5)).await,
            1
        );
        assert_eq!(booking(&app, &id).await.state, BookingState::Confirmed);
        let (_, html) = app.get(&staff, "/staff").await;
        assert!(!html.contains("data-knock-down"), "{html}");
        assert_knock_agrees(&app).await;
    }
);

async fn awaiting_office(b: Backend) -> (TestApp, reqwest::Client, String, String) {
    // A community whose leasing office reviews requests by hand: Knock answers PENDING.
    let app = crate::helpers::spawn_app_with_sandbox(b, &[], |sandbox| {
        for c in &mut sandbox.communities {
            c.reviews_requests = true;
        }
    })
    .await;
    let c = client();
    let (status, page) = post_booking(&app, &c).await;
    assert_eq!(status, 303);
    let (_, html) = app.get(&c, &page).await;
    assert!(
        html.contains("The leasing office is reviewing your request"),
        "{html}"
    );
    assert!(
        !html.contains("data-access-code"),
        "no door code while pending"
    );
    let id = booking_id(&html);
    let b = booking(&app, &id).await;
    assert_eq!(b.state, BookingState::Requesting);
    assert_eq!(b.review, Some(Review::AwaitingOffice));
    let appointment = b.knock_appointment_id.clone().expect("Knock's id is kept");
    // No confirmation mail goes out while the office decides.
    app.outbox.drain(Utc::now()).await.unwrap();
    assert_eq!(app.run_worker_at(Utc::now() + Duration::hours(1)).await, 0);
    (app, c, id, appointment)
}

on_both_backends!(
    a_pending_answer_waits_for_the_office_and_staff_confirm_it_when_knock_does,
    |b: Backend| async move {
        let (app, c, id, appointment) = awaiting_office(b).await;
        app.sandbox.office_confirms(&appointment).unwrap();
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let staff = staff_client(&app, "ann@example.com").await;
        let (_, list) = app.get(&staff, "/staff").await;
        assert!(list.contains("Awaiting the leasing office"), "{list}");
        let path = format!("/staff/bookings/{id}");
        let (_, html) = app.get(&staff, &path).await;
        assert!(html.contains("data-review=\"awaiting_office\""), "{html}");
        let form = offered_form(&html);
        let fields: Vec<(String, String)> = form.hidden.into_iter().collect();
        let r = app
            .post_form(&staff, &format!("{path}/confirm"), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        let b = booking(&app, &id).await;
        assert_eq!(b.state, BookingState::Confirmed);
        assert_eq!(
            b.knock_appointment_id.as_deref(),
            Some(appointment.as_str())
        );
        // A second click changes nothing.
        let (_, html) = app.get(&staff, &path).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        let r = app
            .post_form(&staff, &format!("{path}/confirm"), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 409);
        let (_, page) = app.get(&c, &format!("/bookings/{}", b.token)).await;
        assert!(page.contains("data-state=\"confirmed\""), "{page}");
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_pending_request_the_office_declines_is_cancelled_by_staff_and_in_knock,
    |b: Backend| async move {
        let (app, _c, id, appointment) = awaiting_office(b).await;
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let staff = staff_client(&app, "ann@example.com").await;
        let path = format!("/staff/bookings/{id}/cancel");
        let (_, html) = app.get(&staff, &path).await;
        let mut fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        fields.push(("reason".into(), "The office declined the request".into()));
        let r = app.post_form(&staff, &path, &fields).await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
        assert_eq!(booking(&app, &id).await.state, BookingState::Cancelled);
        app.outbox.drain(Utc::now()).await.unwrap();
        let in_knock = app.sandbox.snapshot().appointments;
        let a = in_knock.iter().find(|a| a.id == appointment).unwrap();
        assert_eq!(a.status, AppointmentStatus::Cancelled);
        assert_knock_agrees(&app).await;
    }
);
