//! The renter moving a tour: Knock ends with one upcoming appointment, the booking keeps its
//! history, and a refused new time changes nothing.
use chrono::Utc;
use knock_sandbox::{Fault, FaultRoute};
use tourgate::booking::{BookingId, BookingState};
use tourgate::outbox::{JobKind, JobState};

use crate::callbacks::{booking_id, state_of, MAPLE};
use crate::helpers::{client, offered_form, spawn_app, Backend, TestApp};
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
