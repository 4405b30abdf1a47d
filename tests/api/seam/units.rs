//! Per-unit locks (`[community.unit_access]`): a booking's code on the building's lock and on
//! each unit's, one grant per lock; the renter sees the code once the building's lock has
//! it, whatever the units' locks do; the first door opening on any of them is the arrival,
//! and the units whose locks opened are the visit's homes; a cancel takes the code off
//! every lock; staff see each lock's state.
use chrono::{Duration, Utc};
use seam_sandbox::seeds;
use tourgate::booking::{BookingId, BookingState, Canceller};
use tourgate::domain::GrantState;
use tourgate::outbox::JobKind;

use super::{seam_app_with, SeamApp};
use crate::callbacks::state_of;
use crate::helpers::Backend;
use crate::on_both_backends;

/// Maple Court: the front door for the building, a Schlage on 101 and a Lockly on 2B.
async fn units_app(b: Backend, behind: Duration) -> SeamApp {
    let locks = format!(
        "access = {{ provider = \"seam\", device_id = \"{}\" }}\n[community.unit_access]\n\
         \"101\" = {{ provider = \"seam\", device_id = \"{}\" }}\n\
         \"2B\" = {{ provider = \"seam\", device_id = \"{}\" }}\n",
        seeds::FRONT_DOOR,
        seeds::MODEL_UNIT,
        seeds::GARDEN_GATE
    );
    seam_app_with(b, &locks, behind).await
}

async fn desk(s: &SeamApp) -> reqwest::Client {
    crate::today::staff_client(&s.app, "desk@example.com", &["maple-court"]).await
}

const LOCKS: [&str; 3] = [seeds::FRONT_DOOR, seeds::MODEL_UNIT, seeds::GARDEN_GATE];

impl SeamApp {
    async fn grants(&self, id: &str) -> Vec<tourgate::store::GrantRow> {
        self.app
            .app_store
            .access_grants(&BookingId::parse(id).unwrap())
            .await
            .unwrap()
    }

    /// (device id, data-grant-state) of each row of the staff booking page's locks.
    async fn staff_lock_rows(&self, desk: &reqwest::Client, id: &str) -> Vec<(String, String)> {
        let (status, html) = self.app.get(desk, &format!("/staff/bookings/{id}")).await;
        assert_eq!(status, 200);
        let doc = scraper::Html::parse_document(&html);
        let sel = scraper::Selector::parse("tr[data-lock]").unwrap();
        doc.select(&sel)
            .map(|r| {
                let v = r.value();
                (
                    v.attr("data-lock").unwrap().to_string(),
                    v.attr("data-grant-state").unwrap().to_string(),
                )
            })
            .collect()
    }
}

on_both_backends!(
    a_booking_opens_the_building_and_each_unit_lock_and_the_visit_names_the_units_opened,
    |b: Backend| async move {
        let s = units_app(b, Duration::minutes(4)).await;
        let (id, page) = s.book().await;
        let grants = s.grants(&id).await;
        let units: Vec<Option<&str>> = grants.iter().map(|g| g.unit.as_deref()).collect();
        assert_eq!(units, [None, Some("101"), Some("2B")]);
        assert!(grants.iter().all(|g| g.state == GrantState::Issuing));
        assert_eq!(s.jobs(&id, JobKind::AccessIssue).await.len(), 3);

        s.drain().await;
        let code = s.code(&id).await;
        for device in LOCKS {
            let codes = s.codes_of(device, &id);
            assert_eq!(codes.len(), 1, "{device}");
            assert_eq!(codes[0].code.as_deref(), Some(code.as_str()), "one PIN");
        }
        s.seam.tick().await;
        assert!(s.shown(&page, &id).await);
        let rows = s.staff_lock_rows(&desk(&s).await, &id).await;
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(
            rows.iter().all(|(_, st)| st == "scheduled" || st == "set"),
            "{rows:?}"
        );

        // The renter opens unit 2B's lock first: that is the arrival.
        s.seam.keypad_entry(seeds::GARDEN_GATE, &code).unwrap();
        s.seam.tick().await;
        assert_eq!(state_of(&s.app, &id).await, BookingState::InProgress);
        let arrival = s.lock_events("lock.unlocked")[0].occurred_at;
        assert_eq!(s.booking(&id).await.first_access_at, Some(arrival));
        s.seam.advance(std::time::Duration::from_secs(60));
        s.seam.keypad_entry(seeds::FRONT_DOOR, &code).unwrap();
        s.seam.tick().await;
        assert_eq!(s.booking(&id).await.first_access_at, Some(arrival));
        let opened: Vec<_> = s
            .grants(&id)
            .await
            .into_iter()
            .filter(|g| g.opened_at.is_some())
            .map(|g| g.unit)
            .collect();
        assert_eq!(opened, [None, Some("2B".to_string())]);

        // The renter ticks 101 (`finish`); 2B's lock opened: the visit names both.
        s.finish(&page).await;
        s.drain().await;
        let visits = s.app.sandbox.snapshot().visits;
        assert_eq!(visits.len(), 1);
        let mut seen = visits[0].unit_names.clone();
        seen.sort();
        assert_eq!(seen, ["101", "2B"]);
        assert_eq!(visits[0].visit_time, arrival);
    }
);

on_both_backends!(
    a_unit_lock_that_cannot_take_the_code_alerts_staff_and_the_renter_still_gets_the_code,
    |b: Backend| async move {
        // Ten minutes of emulator time pass: start it that far behind real time.
        let s = units_app(b, Duration::minutes(12)).await;
        s.seam.set_device_offline(seeds::MODEL_UNIT, true).unwrap();
        let (id, page) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        s.seam.advance(std::time::Duration::from_secs(11 * 60));
        s.seam.tick().await;
        let grants = s.grants(&id).await;
        let state = |unit: Option<&str>| {
            grants
                .iter()
                .find(|g| g.unit.as_deref() == unit)
                .map(|g| g.state)
        };
        assert_eq!(state(Some("101")), Some(GrantState::Failed));
        assert!(state(None).unwrap().lock_has_it());
        assert!(s.shown(&page, &id).await, "the building's lock has it");
        let attention = s.app.app_store.grants_needing_attention().await.unwrap();
        assert_eq!(attention.len(), 1);
        assert_eq!(attention[0].unit.as_deref(), Some("101"));
        let rows = s.staff_lock_rows(&desk(&s).await, &id).await;
        assert!(
            rows.contains(&(seeds::MODEL_UNIT.to_string(), "failed".to_string())),
            "{rows:?}"
        );
        s.drain().await;
        s.one_staff_alert(&id, "unit 101").await;
    }
);

on_both_backends!(
    a_cancel_takes_the_code_off_every_lock_of_the_booking,
    |b: Backend| async move {
        let s = units_app(b, Duration::minutes(4)).await;
        let (id, _) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        let bid = BookingId::parse(&id).unwrap();
        s.app
            .bookings
            .cancel(&bid, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        assert_eq!(s.jobs(&id, JobKind::AccessRevoke).await.len(), 3);
        assert!(s
            .grants(&id)
            .await
            .iter()
            .all(|g| g.state == GrantState::Revoking));
        s.drain().await;
        for device in LOCKS {
            assert!(
                s.codes_of(device, &id).iter().all(|c| c.delete_requested),
                "{device}"
            );
        }
        s.seam.tick().await;
        assert!(s
            .grants(&id)
            .await
            .iter()
            .all(|g| g.state == GrantState::Removed));
        assert!(s
            .staff_lock_rows(&desk(&s).await, &id)
            .await
            .iter()
            .all(|(_, st)| st == "removed"));
    }
);

on_both_backends!(
    a_unit_lockbox_that_picks_its_own_pin_has_it_shown_and_mailed_but_never_logged,
    |b: Backend| async move {
        let locks = format!(
            "access = {{ provider = \"seam\", device_id = \"{}\" }}\n[community.unit_access]\n\
             \"2B\" = {{ provider = \"seam\", device_id = \"{}\" }}\n",
            seeds::FRONT_DOOR,
            seeds::LOCKBOX
        );
        let s = seam_app_with(b, &locks, Duration::minutes(4)).await;
        let (id, page) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        let pin = s.codes_of(seeds::LOCKBOX, &id)[0].code.clone().unwrap();
        let ours = s.code(&id).await;
        assert_ne!(pin, ours, "the lockbox's maker picked its PIN");

        // The page: the building's code, and the lockbox's own for its home.
        let (_, html) = s.app.get(&crate::helpers::client(), &page).await;
        assert!(html.contains(&ours), "the building's code");
        assert!(
            html.contains("data-unit-code=\"2B\"") && html.contains(&pin),
            "the lockbox's PIN with its home: {html}"
        );

        // The access mail carries both; Knock's copy of it neither.
        let mail = s
            .jobs(&id, JobKind::Email)
            .await
            .into_iter()
            .find(|j| j.payload.contains("access_instructions"))
            .expect("the access mail is queued");
        s.app.outbox.drain(mail.next_attempt_at).await.unwrap();
        let sent: Vec<String> = s
            .app
            .mail_files()
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).to_string())
            .filter(|m| m.contains("How to get in"))
            .collect();
        assert_eq!(sent.len(), 1);
        assert!(
            sent[0].contains(&pin) && sent[0].contains(&ours),
            "{}",
            sent[0]
        );
        let logged = s.app.sandbox.snapshot().emails;
        let log = logged
            .iter()
            .find(|e| e.subject.contains("How to get in"))
            .expect("logged in Knock");
        assert!(
            !log.body.contains(&pin) && !log.body.contains(&ours),
            "{}",
            log.body
        );
    }
);
