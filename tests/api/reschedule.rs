//! The renter moving a tour: Knock ends with one upcoming appointment, the booking keeps its
//! history, and a refused new time changes nothing.
use chrono::Utc;
use knock_sandbox::{Fault, FaultRoute};
use tourgate::booking::{BookingId, BookingState};
use tourgate::outbox::{JobKind, JobState};

use crate::callbacks::{booking_id, state_of, MAPLE};
use crate::helpers::{
    assert_knock_agrees, change_hold_of, client, offered_form, set_change_hold, spawn_app,
    wait_for_change_hold, Backend, OfferedForm, TestApp,
};
use crate::on_both_backends;

fn confirmed_in_knock(app: &TestApp) -> Vec<(String, chrono::DateTime<Utc>)> {
    app.sandbox
        .snapshot()
        .appointments
        .iter()
        .filter(|a| format!("{:?}", a.status) == "Confirmed")
        .map(|a| (a.id.clone(), a.start))
        .collect()
}

async fn drain_until_idle(app: &TestApp) {
    let mut t = Utc::now();
    for _ in 0..10 {
        app.outbox.drain(t).await.unwrap();
        t += chrono::Duration::hours(1);
    }
}

on_both_backends!(
    a_reschedule_leaves_knock_with_one_upcoming_appointment_and_keeps_the_history,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let (_, html) = app.get(&c, &page).await;
        let id = booking_id(&html);
        assert!(html.contains(&format!("{page}/reschedule")));
        let bid = BookingId::parse(&id).unwrap();
        let before = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();

        let (status, html) = app.get(&c, &format!("{page}/reschedule")).await;
        assert_eq!(status, 200, "{html}");
        let form = offered_form(&html);
        assert!(!form.starts.is_empty());
        let new_start = form.starts[1].clone();
        let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
        fields.push(("start".into(), new_start.clone()));
        let r = app.post_form(&c, &form.action, &fields).await;
        assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());

        let after = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();
        assert_eq!(after.state, BookingState::Confirmed);
        assert_eq!(after.token, before.token, "one booking, the same link");
        assert_eq!(after.slot.value, new_start);
        assert_ne!(after.knock_appointment_id, before.knock_appointment_id);
        let events = app.app_store.booking_events(&bid).await.unwrap();
        assert!(events.iter().any(|e| e.kind == "rescheduled"));

        drain_until_idle(&app).await;
        let live = confirmed_in_knock(&app);
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(Some(&live[0].0), after.knock_appointment_id.as_ref());
        assert_eq!(live[0].1, after.slot_start());
        let jobs = app.app_store.outbox_jobs_for_booking(&bid).await.unwrap();
        let cancels: Vec<_> = jobs
            .iter()
            .filter(|j| j.kind == JobKind::AppointmentCancel)
            .collect();
        assert_eq!(cancels.len(), 1, "the old appointment's cancel");
        assert!(cancels.iter().all(|j| j.state == JobState::Delivered));

        // Cancelling the moved tour cancels its new appointment too.
        let (_, html) = app.get(&c, &format!("{page}/cancel")).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        let r = app.post_form(&c, &format!("{page}/cancel"), &fields).await;
        assert_eq!(r.status().as_u16(), 303);
        drain_until_idle(&app).await;
        assert!(confirmed_in_knock(&app).is_empty());
        assert_eq!(state_of(&app, &id).await, BookingState::Cancelled);
    }
);

on_both_backends!(
    a_new_time_knock_refuses_leaves_the_booking_and_knock_as_they_were,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let (_, html) = app.get(&c, &page).await;
        let bid = BookingId::parse(&booking_id(&html)).unwrap();
        let before = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();

        let (_, html) = app.get(&c, &format!("{page}/reschedule")).await;
        let form = offered_form(&html);
        let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
        fields.push(("start".into(), form.starts[0].clone()));
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 400));
        let r = app.post_form(&c, &form.action, &fields).await;
        assert_eq!(r.status().as_u16(), 409);
        assert!(r.text().await.unwrap().contains("Your tour is unchanged"));

        let after = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();
        assert_eq!(after.slot_start(), before.slot_start());
        assert_eq!(after.knock_appointment_id, before.knock_appointment_id);
        assert_eq!(after.state, BookingState::Confirmed);
        let live = confirmed_in_knock(&app);
        assert_eq!(live.len(), 1);
        assert_eq!(Some(&live[0].0), before.knock_appointment_id.as_ref());
        assert!(!app
            .app_store
            .outbox_jobs_for_booking(&bid)
            .await
            .unwrap()
            .iter()
            .any(|j| j.kind == JobKind::AppointmentCancel));

        // A time that is not offered is refused before Knock hears of it.
        let mut fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        fields.push(("start".into(), "2001-01-01T10:00:00-05:00".into()));
        let r = app
            .post_form(&c, &format!("{page}/reschedule"), &fields)
            .await;
        assert_eq!(r.status().as_u16(), 409);
    }
);

/// What the renter of a booking does: its page, its reschedule form.
pub struct Renter {
    pub c: reqwest::Client,
    pub page: String,
    pub id: String,
}

/// A confirmed booking through the form, by a renter of its own.
pub async fn booked(app: &TestApp) -> Renter {
    let c = client();
    let page = app.book(&c, MAPLE, None).await;
    let (_, html) = app.get(&c, &page).await;
    let id = booking_id(&html);
    assert_eq!(state_of(app, &id).await, BookingState::Confirmed);
    Renter { c, page, id }
}

impl Renter {
    pub async fn reschedule_form(&self, app: &TestApp) -> OfferedForm {
        let (status, html) = app.get(&self.c, &format!("{}/reschedule", self.page)).await;
        assert_eq!(status, 200, "{html}");
        offered_form(&html)
    }

    /// Posts the reschedule form with `start`: the status and the page.
    pub async fn reschedule(
        &self,
        app: &TestApp,
        form: &OfferedForm,
        start: &str,
    ) -> (u16, String) {
        let mut fields: Vec<(String, String)> = form.hidden.clone().into_iter().collect();
        fields.push(("start".into(), start.into()));
        let r = app.post_form(&self.c, &form.action, &fields).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

/// POST /appointment/request calls Knock received.
pub fn knock_requests(app: &TestApp) -> usize {
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/appointment/request")
        .count()
}

pub const CHANGE_IN_PROGRESS: &str =
    "Another change to this tour is on its way. Wait a moment, then reload this page.";

on_both_backends!(
    two_reschedules_at_once_make_one_knock_request_and_knock_keeps_the_one_we_show,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let bid = BookingId::parse(&renter.id).unwrap();
        let form = renter.reschedule_form(&app).await;
        assert!(form.starts.len() >= 3, "{:?}", form.starts);
        let (first, second) = (form.starts[1].clone(), form.starts[2].clone());
        let requests_before = knock_requests(&app);
        // Knock is slow: both posts arrive while the first is still waiting for it.
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 1_500).times(2));

        let (a, b2) = tokio::join!(
            renter.reschedule(&app, &form, &first),
            renter.reschedule(&app, &form, &second)
        );
        let mut statuses = [a.0, b2.0];
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 409], "one moves, one waits: {a:?} {b2:?}");
        let (moved_to, refused) = if a.0 == 303 {
            (&first, &b2)
        } else {
            (&second, &a)
        };
        assert!(refused.1.contains(CHANGE_IN_PROGRESS), "{}", refused.1);
        assert_eq!(
            knock_requests(&app),
            requests_before + 1,
            "the second change never reached Knock"
        );

        let after = app.app_store.booking_by_id(&bid).await.unwrap().unwrap();
        assert_eq!(after.state, BookingState::Confirmed);
        assert_eq!(&after.slot.value, moved_to);
        assert_eq!(
            change_hold_of(&app.app_store, &renter.id).await,
            None,
            "given back"
        );
        assert_knock_agrees(&app).await;
        let live = confirmed_in_knock(&app);
        assert_eq!(live.len(), 1, "{live:?}");
        assert_eq!(Some(&live[0].0), after.knock_appointment_id.as_ref());
        assert_eq!(live[0].1, after.slot_start());

        // The hold was given back: the renter's next move goes through.
        app.sandbox.clear_faults();
        let form = renter.reschedule_form(&app).await;
        let again = form.starts.iter().find(|s| *s != moved_to).unwrap().clone();
        let (status, html) = renter.reschedule(&app, &form, &again).await;
        assert_eq!(status, 303, "{html}");
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_hold_left_by_a_dead_process_blocks_changes_until_it_runs_out,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let requests_before = knock_requests(&app);
        // A process took the hold and died while Knock was answering it.
        set_change_hold(
            &app.app_store,
            &renter.id,
            Some(Utc::now() + chrono::Duration::minutes(5)),
        )
        .await;
        let (status, html) = renter.reschedule(&app, &form, &form.starts[1]).await;
        assert_eq!(status, 409, "{html}");
        assert!(html.contains(CHANGE_IN_PROGRESS), "{html}");
        assert_eq!(knock_requests(&app), requests_before, "Knock not called");
        // A refused change did not touch the other's hold.
        assert!(change_hold_of(&app.app_store, &renter.id).await.is_some());

        // Its hold ran out: the next change takes over.
        set_change_hold(
            &app.app_store,
            &renter.id,
            Some(Utc::now() - chrono::Duration::seconds(1)),
        )
        .await;
        let (status, html) = renter.reschedule(&app, &form, &form.starts[1]).await;
        assert_eq!(status, 303, "{html}");
        assert_eq!(change_hold_of(&app.app_store, &renter.id).await, None);
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    every_early_end_of_a_reschedule_gives_the_hold_back,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let start = form.starts[1].clone();
        let hold = || change_hold_of(&app.app_store, &renter.id);

        // Knock refuses the new time.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 400));
        let (status, _) = renter.reschedule(&app, &form, &start).await;
        assert_eq!(status, 409);
        assert_eq!(hold().await, None, "after a refusal");

        // Knock does not answer.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503));
        let (status, _) = renter.reschedule(&app, &form, &start).await;
        assert_eq!(status, 503);
        assert_eq!(hold().await, None, "after Knock was down");

        // Knock's times cannot be read.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AvailableTimes, 503));
        let (status, _) = renter.reschedule(&app, &form, &start).await;
        assert_eq!(status, 503);
        assert_eq!(hold().await, None, "after the times could not be read");

        // A time no longer offered.
        let (status, _) = renter
            .reschedule(&app, &form, "2001-01-01T10:00:00-05:00")
            .await;
        assert_eq!(status, 409);
        assert_eq!(hold().await, None, "after a time not offered");

        assert_knock_agrees(&app).await;
        let (status, html) = renter.reschedule(&app, &form, &start).await;
        assert_eq!(status, 303, "{html}");
        assert_knock_agrees(&app).await;
    }
);

on_both_backends!(
    a_cancel_that_lands_while_knock_answers_a_reschedule_whose_hold_ran_out_wins,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let renter = booked(&app).await;
        let form = renter.reschedule_form(&app).await;
        let (_, html) = app.get(&renter.c, &format!("{}/cancel", renter.page)).await;
        let cancel_fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        app.sandbox
            .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 1_500));

        let (moved, cancelled) =
            tokio::join!(renter.reschedule(&app, &form, &form.starts[1]), async {
                wait_for_change_hold(&app.app_store, &renter.id).await;
                // The reschedule's process stalls past its hold: the cancel goes through.
                set_change_hold(
                    &app.app_store,
                    &renter.id,
                    Some(Utc::now() - chrono::Duration::seconds(1)),
                )
                .await;
                let r = app
                    .post_form(
                        &renter.c,
                        &format!("{}/cancel", renter.page),
                        &cancel_fields,
                    )
                    .await;
                r.status().as_u16()
            });
        assert_eq!(cancelled, 303);
        // Knock made the new appointment, but the booking is cancelled: its cancel is queued.
        assert_eq!(moved.0, 303, "{}", moved.1);
        assert_eq!(state_of(&app, &renter.id).await, BookingState::Cancelled);
        let bid = BookingId::parse(&renter.id).unwrap();
        let events = app.app_store.booking_events(&bid).await.unwrap();
        assert!(
            events.iter().any(|e| e.kind == "reschedule_failed"),
            "{events:?}"
        );
        assert_knock_agrees(&app).await;
        assert!(
            confirmed_in_knock(&app).is_empty(),
            "{:?}",
            confirmed_in_knock(&app)
        );
    }
);
