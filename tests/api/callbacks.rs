//! POST /callbacks/access: Standard Webhooks signatures, replays, and the booking's states.
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use standardwebhooks::Webhook;
use tourgate::booking::{BookingId, BookingState};
use tourgate::outbox::{Job, JobKind, JobState, OutboxJob};
use tourgate::store::WebhookRecord;

use crate::helpers::{client, set_state, spawn_app, Backend, TestApp};
use crate::on_both_backends;

pub const MAPLE: &str = "/tours/maple-court";

pub fn booking_id(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("[data-booking-id]").unwrap();
    doc.select(&sel)
        .next()
        .expect("data-booking-id")
        .attr("data-booking-id")
        .unwrap()
        .to_string()
}

/// Books the first offered slot through the form and returns the booking id.
pub async fn confirmed_booking(app: &TestApp) -> String {
    let c = client();
    let page = app.book(&c, MAPLE, None).await;
    let (_, html) = app.get(&c, &page).await;
    let id = booking_id(&html);
    assert_eq!(state_of(app, &id).await, BookingState::Confirmed);
    id
}

pub async fn state_of(app: &TestApp, id: &str) -> BookingState {
    app.app_store
        .booking_by_id(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .expect("the booking exists")
        .state
}

/// A booking's Knock visit and cancel jobs (its mails and their logs left out).
pub async fn jobs_of(app: &TestApp, id: &str) -> Vec<OutboxJob> {
    app.app_store
        .outbox_jobs_for_booking(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|j| !matches!(j.kind, JobKind::Email | JobKind::EmailLog))
        .collect()
}

/// Posts `body` with the headers a provider would send, signed with `secret` at `at`.
pub async fn send_signed(
    app: &TestApp,
    secret: &str,
    webhook_id: &str,
    at: DateTime<Utc>,
    body: &str,
) -> (u16, Value) {
    let signature = Webhook::new(secret)
        .unwrap()
        .sign(webhook_id, at.timestamp(), body.as_bytes())
        .unwrap();
    let r = client()
        .post(app.url("/callbacks/access"))
        .header("content-type", "application/json")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", at.timestamp().to_string())
        .header("webhook-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A callback as the configured provider sends it, now.
pub async fn callback(app: &TestApp, webhook_id: &str, body: Value) -> (u16, Value) {
    let secret = app.settings.access_webhook_secret.expose().to_string();
    send_signed(app, &secret, webhook_id, Utc::now(), &body.to_string()).await
}

pub fn completed(booking: &str, at: DateTime<Utc>, units: &[&str]) -> Value {
    json!({ "type": "tour.completed", "booking": booking,
            "occurred_at": at.to_rfc3339(), "unit_names": units })
}

pub fn granted(booking: &str, at: DateTime<Utc>) -> Value {
    json!({ "type": "access.granted", "booking": booking, "occurred_at": at.to_rfc3339() })
}

on_both_backends!(
    a_signed_tour_reaches_knock_as_one_self_guided_visit,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let arrived = Utc::now() - Duration::minutes(20);
        let (s, body) = callback(&app, "msg_granted_1", granted(&id, arrived)).await;
        assert_eq!((s, body), (200, json!({"status": "accepted"})));
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);

        let done = (Utc::now() - Duration::minutes(5)).trunc_subsecs_ms();
        let (s, body) = callback(&app, "msg_done_1", completed(&id, done, &["101", "2b"])).await;
        assert_eq!((s, body), (200, json!({"status": "accepted"})));
        assert_eq!(state_of(&app, &id).await, BookingState::Completed);
        let jobs = jobs_of(&app, &id).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].kind, JobKind::Visit);
        assert_eq!(jobs[0].state, JobState::Pending);

        app.outbox.drain(Utc::now()).await.unwrap();
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.visits.len(), 1);
        let visit = &snap.visits[0];
        let appointment = &snap.appointments[0];
        assert_eq!(
            visit.appointment_id.as_deref(),
            Some(appointment.id.as_str())
        );
        assert_eq!(visit.prospect_id, appointment.prospect_id);
        assert_eq!(visit.is_self_guided, Some(true));
        assert_eq!(
            visit.source_title.as_deref(),
            Some("Self-Guided Tour Vendor")
        );
        assert_eq!(visit.visit_time, done);
        assert_eq!(visit.unit_names, ["101", "2b"]);
        let job = &jobs_of(&app, &id).await[0];
        assert_eq!(job.state, JobState::Delivered);
        assert_eq!(job.knock_result.as_deref(), Some(visit.id.as_str()));
    }
);

trait TruncMs {
    fn trunc_subsecs_ms(self) -> Self;
}

impl TruncMs for DateTime<Utc> {
    /// Knock's visit times carry milliseconds.
    fn trunc_subsecs_ms(self) -> Self {
        chrono::SubsecRound::trunc_subsecs(self, 3)
    }
}

on_both_backends!(
    unsigned_stale_and_tampered_callbacks_are_refused_and_change_nothing,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let secret = app.settings.access_webhook_secret.expose().to_string();
        let body = completed(&id, Utc::now(), &[]).to_string();

        let unsigned = client()
            .post(app.url("/callbacks/access"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(unsigned.status().as_u16(), 401);
        let stale = Utc::now() - Duration::seconds(6 * 60);
        assert_eq!(
            send_signed(&app, &secret, "msg_stale", stale, &body)
                .await
                .0,
            401
        );
        let ahead = Utc::now() + Duration::seconds(6 * 60);
        assert_eq!(
            send_signed(&app, &secret, "msg_ahead", ahead, &body)
                .await
                .0,
            401
        );
        let other_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let (s, err) = send_signed(&app, other_secret, "msg_forged", Utc::now(), &body).await;
        assert_eq!(s, 401);
        assert!(err["error"].is_string(), "{err}");

        // Signed for one body, sent with another.
        let signature = Webhook::new(&secret)
            .unwrap()
            .sign("msg_tampered", Utc::now().timestamp(), body.as_bytes())
            .unwrap();
        let tampered = body.replace("tour.completed", "access.granted");
        let r = client()
            .post(app.url("/callbacks/access"))
            .header("webhook-id", "msg_tampered")
            .header("webhook-timestamp", Utc::now().timestamp().to_string())
            .header("webhook-signature", signature)
            .body(tampered)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);

        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);
        assert!(jobs_of(&app, &id).await.is_empty());
        // A timestamp within the five minutes is fine.
        let recent = Utc::now() - Duration::seconds(4 * 60);
        assert_eq!(
            send_signed(&app, &secret, "msg_recent", recent, &body)
                .await
                .0,
            200
        );
    }
);

on_both_backends!(
    a_replayed_callback_answers_duplicate_and_does_nothing_more,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let body = granted(&id, Utc::now());
        assert_eq!(callback(&app, "msg_once", body.clone()).await.0, 200);
        let (s, answer) = callback(&app, "msg_once", body).await;
        assert_eq!((s, answer), (200, json!({"status": "duplicate"})));

        let done = completed(&id, Utc::now(), &["101"]);
        assert_eq!(callback(&app, "msg_done", done.clone()).await.0, 200);
        let (s, answer) = callback(&app, "msg_done", done).await;
        assert_eq!((s, answer), (200, json!({"status": "duplicate"})));
        assert_eq!(jobs_of(&app, &id).await.len(), 1);
        let events = app
            .app_store
            .booking_events(&BookingId::parse(&id).unwrap())
            .await
            .unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "in_progress").count(), 1);
        assert_eq!(events.iter().filter(|e| e.kind == "completed").count(), 1);
    }
);

on_both_backends!(
    a_replay_after_the_booking_moved_on_is_still_a_duplicate,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let body = granted(&id, Utc::now());
        assert_eq!(callback(&app, "msg_before", body.clone()).await.0, 200);
        set_state(&app.app_store, &id, "cancelled").await;
        // The provider did not hear our first answer and sends the same delivery again: it
        // was acted on, so it is a replay, not a refusal.
        let (s, answer) = callback(&app, "msg_before", body.clone()).await;
        assert_eq!((s, answer), (200, json!({"status": "duplicate"})));
        // A new delivery for the cancelled booking is refused, and not recorded as seen.
        assert_eq!(callback(&app, "msg_after", body.clone()).await.0, 409);
        assert_eq!(callback(&app, "msg_after", body).await.0, 409);
    }
);

on_both_backends!(
    a_second_completion_with_a_new_webhook_id_gives_one_visit,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let at = Utc::now() - Duration::minutes(1);
        assert_eq!(
            callback(&app, "msg_a", completed(&id, at, &["101"]))
                .await
                .0,
            200
        );
        app.outbox.drain(Utc::now()).await.unwrap();
        let (s, answer) = callback(&app, "msg_b", completed(&id, at, &["102"])).await;
        assert_eq!((s, answer), (200, json!({"status": "accepted"})));
        // Access after completion changes nothing either.
        assert_eq!(callback(&app, "msg_c", granted(&id, at)).await.0, 200);
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(app.sandbox.snapshot().visits.len(), 1);
        assert_eq!(jobs_of(&app, &id).await.len(), 1);
        assert_eq!(state_of(&app, &id).await, BookingState::Completed);
    }
);

on_both_backends!(
    malformed_unknown_and_cancelled_are_told_apart,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let secret = app.settings.access_webhook_secret.expose().to_string();
        let (s, err) = send_signed(&app, &secret, "msg_bad_json", Utc::now(), "{not json").await;
        assert_eq!(s, 400);
        assert!(
            err["error"].as_str().unwrap().contains("malformed"),
            "{err}"
        );
        let missing_time = json!({"type": "tour.completed", "booking": id});
        assert_eq!(callback(&app, "msg_no_time", missing_time).await.0, 400);
        let unknown_type = json!({"type": "door.exploded", "booking": id,
                                  "occurred_at": Utc::now().to_rfc3339()});
        let (s, err) = callback(&app, "msg_type", unknown_type).await;
        assert_eq!(s, 400);
        assert!(err["error"].as_str().unwrap().contains("type"), "{err}");

        let nobody = BookingId::generate();
        let (s, err) = callback(&app, "msg_nobody", granted(nobody.as_str(), Utc::now())).await;
        assert_eq!((s, err), (404, json!({"error": "unknown booking"})));
        assert_eq!(
            callback(&app, "msg_junk", granted("1 OR 1=1", Utc::now()))
                .await
                .0,
            404
        );

        set_state(&app.app_store, &id, "cancelled").await;
        let (s, err) = callback(&app, "msg_late", completed(&id, Utc::now(), &[])).await;
        assert_eq!(s, 409);
        assert!(
            err["error"].as_str().unwrap().contains("cancelled"),
            "{err}"
        );
        assert!(jobs_of(&app, &id).await.is_empty());
    }
);

on_both_backends!(
    a_completion_reported_in_the_future_is_posted_as_now,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        let before = Utc::now();
        let ahead = before + Duration::hours(3);
        assert_eq!(
            callback(&app, "msg_future", completed(&id, ahead, &[]))
                .await
                .0,
            200
        );
        let job = jobs_of(&app, &id).await.remove(0);
        let Ok(Job::Visit(visit)) = job.job() else {
            panic!("a visit job");
        };
        assert!(visit.visit_time >= before && visit.visit_time <= Utc::now());
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(app.sandbox.snapshot().visits.len(), 1);
        assert_eq!(jobs_of(&app, &id).await[0].state, JobState::Delivered);
    }
);

on_both_backends!(
    a_tour_without_door_access_becomes_a_no_show_after_the_grace_period,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let absent = confirmed_booking(&app).await;
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let ada = [("email", "ada@example.com"), ("phone", "(206) 555-0199")];
        let page = app.book_as(&c, MAPLE, Some(&form.starts[1]), &ada).await;
        let present = booking_id(&app.get(&c, &page).await.1);
        let end = app
            .app_store
            .booking_by_id(&BookingId::parse(&absent).unwrap())
            .await
            .unwrap()
            .unwrap()
            .slot_end;
        assert_eq!(
            callback(&app, "msg_in", granted(&present, Utc::now()))
                .await
                .0,
            200
        );

        let sweep = |at| app.bookings.sweep_ended_windows(at);
        assert_eq!(
            sweep(end + Duration::minutes(14)).await.unwrap(),
            Default::default()
        );
        assert_eq!(state_of(&app, &absent).await, BookingState::Confirmed);
        let marked = sweep(end + Duration::minutes(16)).await.unwrap();
        assert_eq!(marked.no_shows, [BookingId::parse(&absent).unwrap()]);
        assert_eq!(state_of(&app, &absent).await, BookingState::NoShow);
        assert_eq!(state_of(&app, &present).await, BookingState::InProgress);
        assert!(sweep(end + Duration::hours(2))
            .await
            .unwrap()
            .no_shows
            .is_empty());

        // No visit for a no-show when what arrives afterwards happened after the window (a
        // late report from inside it is tests/api/completion.rs's).
        let after = end + Duration::hours(1);
        let (s, err) = callback(&app, "msg_after", completed(&absent, after, &[])).await;
        assert_eq!(s, 409);
        assert!(err["error"].as_str().unwrap().contains("no_show"), "{err}");
        assert!(jobs_of(&app, &absent).await.is_empty());
    }
);

pub fn attr(html: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(&format!("[{name}]")).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.attr(name))
        .map(str::to_string)
}

on_both_backends!(
    the_door_code_appears_only_when_due_and_opens_only_its_live_booking_in_its_window,
    |b: Backend| async move {
        // Before it is due, the page says when the code will appear.
        let app = spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let html = app.get(&c, &page).await.1;
        assert!(attr(&html, "data-access-code").is_none());
        assert!(attr(&html, "data-code-appears").is_some(), "{html}");

        // A community that shows codes a day ahead.
        let file = std::env::temp_dir().join(format!(
            "tourgate-communities-{}.toml",
            crate::helpers::random_name()
        ));
        let text = crate::helpers::COMMUNITIES.replacen(
            "units = [\"101\", \"102\", \"2B\"]",
            "units = [\"101\", \"102\", \"2B\"]\ncode_shown_before_minutes = 1440",
            1,
        );
        std::fs::write(&file, text).unwrap();
        let path = file.display().to_string();
        let app = crate::helpers::spawn_app_with(b, &[("TOURGATE_COMMUNITIES", &path)]).await;
        let page = app.book(&c, MAPLE, None).await;
        // Not before the renter opened the link we e-mailed them.
        let html = app.get(&c, &page).await.1;
        assert!(attr(&html, "data-access-code").is_none());
        assert!(attr(&html, "data-code-needs-proof").is_some(), "{html}");
        app.open_mailed_link(&c, &page).await;
        let html = app.get(&c, &page).await.1;
        let code = attr(&html, "data-access-code").expect("the code is shown");
        assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
        let id = BookingId::parse(&booking_id(&html)).unwrap();

        let community = app.settings.communities.get("maple-court").unwrap();
        let keypad = tourgate::access::CodeProvider::new(app.settings.secret_key.expose());
        let booking = app.app_store.booking_by_id(&id).await.unwrap().unwrap();
        let (start, end) = (booking.slot_start(), booking.slot_end);
        let nearby = app
            .app_store
            .bookings_between(&["maple-court".into()], start - Duration::days(1), end)
            .await
            .unwrap();
        let opens = |code: &str, at| {
            keypad
                .open(community, &nearby, code, at)
                .map(|b| b.id.clone())
        };
        assert_eq!(opens(&code, start + Duration::minutes(5)), Some(id.clone()));
        assert_eq!(
            opens(&code, start - Duration::minutes(14)),
            Some(id.clone())
        );
        assert_eq!(opens(&code, start - Duration::minutes(16)), None);
        assert_eq!(opens(&code, end + Duration::minutes(16)), None);
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(opens(wrong, start), None);

        set_state(&app.app_store, id.as_str(), "cancelled").await;
        let html = app.get(&c, &page).await.1;
        assert!(attr(&html, "data-access-code").is_none());
        let nearby = app
            .app_store
            .bookings_between(&["maple-court".into()], start - Duration::days(1), end)
            .await
            .unwrap();
        assert!(keypad.open(community, &nearby, &code, start).is_none());
        let _ = std::fs::remove_file(file);
    }
);

on_both_backends!(
    the_demo_lock_opens_with_the_code_and_its_finished_tour_reaches_knock,
    |b: Backend| async move {
        let file = std::env::temp_dir().join(format!(
            "tourgate-communities-{}.toml",
            crate::helpers::random_name()
        ));
        let text = crate::helpers::COMMUNITIES.replacen(
            "units = [\"101\", \"102\", \"2B\"]",
            "units = [\"101\", \"102\", \"2B\"]\ncode_shown_before_minutes = 1440\n\
             code_valid_before_minutes = 1440",
            1,
        );
        std::fs::write(&file, text).unwrap();
        let path = file.display().to_string();
        let app = crate::helpers::spawn_app_with(b, &[("TOURGATE_COMMUNITIES", &path)]).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        app.open_mailed_link(&c, &page).await;
        let html = app.get(&c, &page).await.1;
        let code = attr(&html, "data-access-code").expect("the code is shown");
        let id = booking_id(&html);

        let lock = "/sandbox/lock/maple-court";
        let keypad = crate::helpers::offered_form(&app.get(&c, lock).await.1);
        let csrf = keypad.hidden["csrf_token"].clone();
        let field = |k: &str, v: &str| (k.to_string(), v.to_string());
        let wrong = if code == "000000" { "000001" } else { "000000" };
        let r = app
            .post_form(
                &c,
                &keypad.action,
                &[field("csrf_token", &csrf), field("code", wrong)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(state_of(&app, &id).await, BookingState::Confirmed);

        let r = app
            .post_form(
                &c,
                &keypad.action,
                &[field("csrf_token", &csrf), field("code", &code)],
            )
            .await;
        assert_eq!(r.status().as_u16(), 200);
        let opened = r.text().await.unwrap();
        assert_eq!(attr(&opened, "data-door").as_deref(), Some("open"));
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);

        let finish = crate::helpers::offered_form(&opened);
        let mut fields: Vec<(String, String)> = finish.hidden.into_iter().collect();
        fields.push(field("unit", "2B"));
        let r = app.post_form(&c, &finish.action, &fields).await;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(state_of(&app, &id).await, BookingState::Completed);
        app.outbox.drain(Utc::now()).await.unwrap();
        let visits = app.sandbox.snapshot().visits;
        assert_eq!(visits.len(), 1);
        assert_eq!(visits[0].unit_names, ["2B"]);
        let _ = std::fs::remove_file(file);
    }
);

on_both_backends!(
    a_report_that_changes_nothing_is_recorded_only_while_its_booking_is_as_read,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = confirmed_booking(&app).await;
        assert_eq!(
            callback(&app, "msg_in", granted(&id, Utc::now())).await.0,
            200
        );
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);
        let booking = BookingId::parse(&id).unwrap();
        let record = |webhook_id| WebhookRecord {
            webhook_id,
            booking: &booking,
            kind: "access.granted",
            occurred_at: Utc::now(),
            changed: false,
        };
        let store = &app.app_store;
        // Another door opening, decided from the booking read in progress; cancelled by
        // staff before it is written: not recorded.
        set_state(store, &id, "cancelled").await;
        let stale = store
            .record_unchanged_report(&record("msg_stale"), BookingState::InProgress, Utc::now())
            .await
            .unwrap();
        assert!(!stale, "recorded against a booking that had moved on");
        // The delivery itself is then decided afresh under the lock: refused, not recorded.
        let (s, _) = callback(&app, "msg_stale", granted(&id, Utc::now())).await;
        assert_eq!(s, 409);
        // Still as read: recorded once, and the same delivery again is not.
        set_state(store, &id, "in_progress").await;
        let first = store
            .record_unchanged_report(&record("msg_next"), BookingState::InProgress, Utc::now())
            .await
            .unwrap();
        let again = store
            .record_unchanged_report(&record("msg_next"), BookingState::InProgress, Utc::now())
            .await
            .unwrap();
        assert!(first && !again);
        let (s, answer) = callback(&app, "msg_next", granted(&id, Utc::now())).await;
        assert_eq!((s, answer), (200, json!({"status": "duplicate"})));
        // A new door opening now goes the one-statement way: accepted, nothing changed.
        let (s, answer) = callback(&app, "msg_more", granted(&id, Utc::now())).await;
        assert_eq!((s, answer), (200, json!({"status": "accepted"})));
        assert_eq!(state_of(&app, &id).await, BookingState::InProgress);
        let events = store.booking_events(&booking).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == "in_progress").count(), 1);
        // A door opening from before the known first one (a late delivery) does change
        // something: the arrival moves to it.
        let first = store.booking_by_id(&booking).await.unwrap().unwrap();
        let first = first.first_access_at.expect("an arrival");
        let earlier = DateTime::from_timestamp(first.timestamp() - 300, 0).unwrap();
        let (s, _) = callback(&app, "msg_early", granted(&id, earlier)).await;
        assert_eq!(s, 200);
        let now = store.booking_by_id(&booking).await.unwrap().unwrap();
        assert_eq!(now.first_access_at, Some(earlier));
    }
);
