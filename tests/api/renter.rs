//! One live booking per renter per community, by e-mail or by phone (Knock's merge keys): a
//! second booking is not sent to Knock, the page says so without telling anything about the
//! first one, and the first booking's link is e-mailed to its own address (a few times an hour
//! at most).
use chrono::{Duration, Utc};
use knock_sandbox::Fault;
use mailparse::{parse_mail, MailHeaderMap};
use reqwest::header::LOCATION;
use tourgate::booking::{
    queue_manage_link, BookingId, BookingState, Canceller, ManageLinkQueued,
    MANAGE_LINK_MAILS_PER_WINDOW,
};
use tourgate::domain::{
    BookingToken, Email, NewBooking, PersonName, Phone, Renter, Slot, SourceTitle,
};
use tourgate::outbox::{Job, JobKind, JobState, OutboxJob};
use tourgate::store::InsertOutcome;

use crate::callbacks::{booking_id, callback, granted, state_of, MAPLE};
use crate::helpers::{client, set_state, spawn_app, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::TestSmtp;

const LOTUS: &str = "/tours/lotus-residency";
const SAID: &str = "A tour is already booked for this e-mail address or phone number. We have \
e-mailed the link to change or cancel it to the address we have on file.";

/// Posts the booking form at `path` for its `nth` offered start, the renter's fields changed
/// by `overrides`.
async fn post_booking(
    app: &TestApp,
    path: &str,
    nth: usize,
    overrides: &[(&str, &str)],
) -> reqwest::Response {
    let c = client();
    let form = app.landing(&c, path).await;
    let fields = TestApp::fill(&form, &form.starts[nth], overrides);
    app.post_form(&c, path, &fields).await
}

/// Books at `path` and returns the booking id (303 expected).
async fn booked(app: &TestApp, path: &str, nth: usize, overrides: &[(&str, &str)]) -> String {
    let c = client();
    let form = app.landing(&c, path).await;
    let fields = TestApp::fill(&form, &form.starts[nth], overrides);
    let r = app.post_form(&c, path, &fields).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    let page = r.headers()[LOCATION].to_str().unwrap().to_string();
    booking_id(&app.get(&c, &page).await.1)
}

async fn booking(app: &TestApp, id: &str) -> tourgate::booking::Booking {
    app.app_store
        .booking_by_id(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// The booking's e-mail jobs of the manage-link kind.
async fn manage_links(app: &TestApp, id: &str) -> Vec<OutboxJob> {
    app.app_store
        .outbox_jobs_for_booking(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|j| {
            j.kind == JobKind::Email
                && matches!(j.job(), Ok(Job::Email(e)) if e.mail == "manage_link")
        })
        .collect()
}

/// All bookings at the test communities, whatever their state.
async fn all_bookings(app: &TestApp) -> Vec<tourgate::booking::Booking> {
    let now = Utc::now();
    app.app_store
        .bookings_between(
            &["maple-court".to_string(), "lotus-residency".to_string()],
            now - Duration::days(30),
            now + Duration::days(90),
        )
        .await
        .unwrap()
}

fn knock_posts(app: &TestApp) -> usize {
    app.sandbox
        .snapshot()
        .requests
        .iter()
        .filter(|r| r.method == "POST")
        .count()
}

/// The refusal: 409, the plain message at the top in an alert, the form with the values
/// typed, and nothing about the other booking.
async fn assert_refused(r: reqwest::Response, first: &tourgate::booking::Booking, typed: &str) {
    assert_eq!(r.status().as_u16(), 409);
    let html = r.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let alert = scraper::Selector::parse("[role=alert]").unwrap();
    let alerts: Vec<String> = doc
        .select(&alert)
        .map(|e| e.text().collect::<String>())
        .collect();
    assert!(
        alerts.iter().any(|t| t.trim() == SAID),
        "the message, in an alert: {alerts:?}"
    );
    assert!(
        html.contains(&format!("value=\"{typed}\"")),
        "the form keeps what was typed"
    );
    for secret in [
        first.token.as_str(),
        first.id.as_str(),
        first.slot.value.as_str(),
        first.phone.as_e164(),
    ] {
        assert!(
            !html.contains(secret),
            "the page tells nothing of the booking"
        );
    }
    if first.email.as_str() != typed {
        assert!(!html.contains(first.email.as_str()), "nor its e-mail");
    }
    assert!(!html.contains("data-booking-id"));
}

on_both_backends!(
    the_same_email_in_another_case_is_refused_and_the_link_goes_to_the_first_booking,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = spawn_app_with(b, &[("SMTP_URL", smtp.url.as_str())]).await;
        let first_id = booked(&app, MAPLE, 0, &[]).await;
        let first = booking(&app, &first_id).await;
        let appointment = first.knock_appointment_id.clone().unwrap();
        let posts = knock_posts(&app);

        let typed = "GRACE@Example.COM";
        let c = client();
        let form = app.landing(&c, MAPLE).await;
        let fields = TestApp::fill(
            &form,
            &form.starts[1],
            &[
                ("email", typed),
                ("phone", "(206) 555-0199"),
                ("first_name", "Mallory"),
            ],
        );
        let seen = app.sandbox.snapshot().requests.len();
        let r = app.post_form(&c, MAPLE, &fields).await;
        assert_refused(r, &first, typed).await;
        // Turned away before Knock was asked anything, availability included: the one call
        // since is the times the form is shown again with.
        let since: Vec<_> = app.sandbox.snapshot().requests[seen..]
            .iter()
            .map(|r| (r.method.clone(), r.path.clone()))
            .collect();
        assert_eq!(since.len(), 1, "{since:?}");
        assert_eq!(since[0].0, "GET");
        assert!(since[0].1.ends_with("/available-times"), "{since:?}");

        // Nothing was written for it and Knock heard nothing of it.
        assert_eq!(all_bookings(&app).await.len(), 1);
        assert_eq!(knock_posts(&app), posts);
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.appointments.len(), 1);
        assert_eq!(snap.appointments[0].id, appointment);
        assert_eq!(format!("{:?}", snap.appointments[0].status), "Confirmed");
        assert_eq!(state_of(&app, &first_id).await, BookingState::Confirmed);

        // One manage-link mail, to the first booking's own address, with its link.
        let jobs = manage_links(&app, &first_id).await;
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].state, JobState::Pending);
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(
            manage_links(&app, &first_id).await[0].state,
            JobState::Delivered
        );
        let got = smtp.wait_for(2);
        let link_mail = got
            .iter()
            .find(|m| {
                parse_mail(&m.data)
                    .unwrap()
                    .headers
                    .get_first_value("Subject")
                    .unwrap()
                    == "Your tour at Maple Court Apartments: the link to change it"
            })
            .expect("the manage-link mail");
        assert_eq!(link_mail.to, vec!["grace@example.com".to_string()]);
        let parsed = parse_mail(&link_mail.data).unwrap();
        let mut bodies = Vec::new();
        for p in parsed.subparts.iter().chain(std::iter::once(&parsed)) {
            if let Ok(body) = p.get_body() {
                bodies.push((p.ctype.mimetype.clone(), body));
            }
        }
        for mime in ["text/plain", "text/html"] {
            let (_, body) = bodies
                .iter()
                .find(|(m, _)| m == mime)
                .unwrap_or_else(|| panic!("a {mime} part"));
            assert!(
                body.contains(&format!("/bookings/{}", first.token.as_str())),
                "{body}"
            );
            assert!(body.contains("one tour booked at a time"), "{body}");
        }
        assert!(
            bodies.iter().all(|(m, _)| m != "text/calendar"),
            "no calendar rides along"
        );
    }
);

on_both_backends!(
    the_same_phone_written_differently_is_refused,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let first_id = booked(&app, MAPLE, 0, &[("phone", "(206) 555-0100")]).await;
        let first = booking(&app, &first_id).await;
        let posts = knock_posts(&app);
        let typed = "ada@example.com";
        let r = post_booking(
            &app,
            MAPLE,
            1,
            &[
                ("email", typed),
                ("phone", "+1 206-555-0100"),
                ("first_name", "Ada"),
            ],
        )
        .await;
        assert_refused(r, &first, typed).await;
        assert_eq!(all_bookings(&app).await.len(), 1);
        assert_eq!(knock_posts(&app), posts);
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
        assert_eq!(state_of(&app, &first_id).await, BookingState::Confirmed);
        assert_eq!(manage_links(&app, &first_id).await.len(), 1);
    }
);

on_both_backends!(
    a_booking_still_being_requested_turns_a_second_one_away_too,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let fault: Fault = serde_json::from_value(serde_json::json!({
            "route": "appointment_request", "count": 2, "status": 503
        }))
        .unwrap();
        app.sandbox.inject_fault(fault);
        let first_id = booked(&app, MAPLE, 0, &[]).await;
        assert_eq!(state_of(&app, &first_id).await, BookingState::Requesting);
        let first = booking(&app, &first_id).await;
        let posts = knock_posts(&app);

        let r = post_booking(&app, MAPLE, 1, &[("phone", "(206) 555-0199")]).await;
        assert_refused(r, &first, "grace@example.com").await;
        assert_eq!(knock_posts(&app), posts, "nothing sent to Knock");
        assert_eq!(all_bookings(&app).await.len(), 1);
        assert_eq!(manage_links(&app, &first_id).await.len(), 1);

        // The first one is then confirmed, and it is Knock's only appointment.
        assert_eq!(
            app.run_worker_at(Utc::now() + Duration::minutes(1)).await,
            1
        );
        assert_eq!(state_of(&app, &first_id).await, BookingState::Confirmed);
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
    }
);

on_both_backends!(
    the_link_is_mailed_at_most_three_times_an_hour,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let first_id = booked(&app, MAPLE, 0, &[]).await;
        let first = booking(&app, &first_id).await;
        for attempt in 1..=4 {
            let r = post_booking(&app, MAPLE, 1, &[]).await;
            assert_refused(r, &first, "grace@example.com").await;
            let expected = attempt.min(MANAGE_LINK_MAILS_PER_WINDOW);
            assert_eq!(
                manage_links(&app, &first_id).await.len(),
                expected,
                "attempt {attempt}"
            );
        }
        assert_eq!(MANAGE_LINK_MAILS_PER_WINDOW, 3);
        let id = BookingId::parse(&first_id).unwrap();
        // Within the hour, still nothing more; once the first of them is an hour old, one more.
        let oldest = manage_links(&app, &first_id).await[0].created_at;
        assert_eq!(
            queue_manage_link(&app.app_store, &id, oldest + Duration::minutes(59))
                .await
                .unwrap(),
            ManageLinkQueued::RateLimited
        );
        assert_eq!(
            queue_manage_link(&app.app_store, &id, oldest + Duration::minutes(61))
                .await
                .unwrap(),
            ManageLinkQueued::Queued
        );
        assert_eq!(manage_links(&app, &first_id).await.len(), 4);
        // A booking that no longer holds its slot gets no link.
        app.bookings
            .cancel(&id, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            queue_manage_link(&app.app_store, &id, Utc::now() + Duration::hours(3))
                .await
                .unwrap(),
            ManageLinkQueued::NotLive
        );
    }
);

on_both_backends!(
    another_community_or_a_cancelled_tour_leaves_the_renter_free_to_book,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let first_id = booked(&app, MAPLE, 0, &[]).await;
        // The same renter at another community: Knock's prospects are per community.
        let lotus = booked(&app, LOTUS, 0, &[]).await;
        assert_eq!(state_of(&app, &lotus).await, BookingState::Confirmed);
        assert!(manage_links(&app, &first_id).await.is_empty());

        // Once the first tour is cancelled, the same e-mail and phone book again.
        let id = BookingId::parse(&first_id).unwrap();
        app.bookings
            .cancel(&id, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        let second = booked(&app, MAPLE, 1, &[("email", "Grace@example.com")]).await;
        assert_eq!(state_of(&app, &second).await, BookingState::Confirmed);
        // A failed request does not stand in the way either.
        set_state(&app.app_store, &second, "failed").await;
        let third = booked(&app, MAPLE, 2, &[]).await;
        assert_eq!(state_of(&app, &third).await, BookingState::Confirmed);
        assert!(manage_links(&app, &first_id).await.is_empty());
        assert!(manage_links(&app, &second).await.is_empty());
    }
);

on_both_backends!(
    two_racing_posts_with_one_email_make_one_booking_and_one_appointment,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let (c1, c2) = (client(), client());
        let f1 = app.landing(&c1, MAPLE).await;
        let f2 = app.landing(&c2, MAPLE).await;
        let a = TestApp::fill(&f1, &f1.starts[0], &[]);
        let b2 = TestApp::fill(
            &f2,
            &f2.starts[1],
            &[("email", "Grace@Example.com"), ("phone", "(206) 555-0199")],
        );
        let (r1, r2) = tokio::join!(
            app.post_form(&c1, MAPLE, &a),
            app.post_form(&c2, MAPLE, &b2)
        );
        let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [303, 409]);
        let loser = if r1.status().as_u16() == 409 { r1 } else { r2 };
        assert!(loser.text().await.unwrap().contains("already booked"));
        let all = all_bookings(&app).await;
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
        assert_eq!(manage_links(&app, all[0].id.as_str()).await.len(), 1);
    }
);

fn new_booking(start: chrono::DateTime<Utc>, email: &str, phone: &str) -> NewBooking {
    NewBooking {
        id: BookingId::generate(),
        token: BookingToken::generate(),
        idempotency_key: crate::helpers::random_name(),
        community_slug: "maple-court".into(),
        renter: Renter {
            first_name: PersonName::parse("Ada").unwrap(),
            last_name: PersonName::parse("Lovelace").unwrap(),
            email: Email::parse(email).unwrap(),
            phone: Phone::parse(phone).unwrap(),
            sms_consent: false,
            move_date: None,
            bedrooms: None,
            message: None,
        },
        source_title: SourceTitle::parse("Self-Guided Tour Vendor").unwrap(),
        slot: Slot::parse(&start.to_rfc3339()).unwrap(),
        slot_end: start + Duration::minutes(30),
        created_at: Utc::now(),
    }
}

on_both_backends!(
    the_database_refuses_a_second_live_booking_for_one_renter_and_says_whose,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let store = &app.app_store;
        let now = Utc::now();
        let at = |h: i64| now + Duration::days(3) + Duration::hours(h);
        let first = new_booking(at(0), "ada@example.com", "(206) 555-0100");
        assert!(matches!(
            store.insert_booking(&first, now).await.unwrap(),
            InsertOutcome::Inserted(_)
        ));
        // By e-mail in another case, and by phone, at other times: refused, naming the first.
        for (email, phone) in [
            ("ADA@example.COM", "(206) 555-0111"),
            ("other@example.com", "+1 206 555 0100"),
        ] {
            let second = new_booking(at(2), email, phone);
            match store.insert_booking(&second, now).await.unwrap() {
                InsertOutcome::RenterHasLiveBooking(b) => assert_eq!(b.id, first.id),
                other => panic!("{other:?}"),
            }
        }
        // Another renter at the first's slot is still a taken slot.
        let clash = new_booking(at(0), "eve@example.com", "(206) 555-0122");
        assert!(matches!(
            store.insert_booking(&clash, now).await.unwrap(),
            InsertOutcome::SlotTaken
        ));
        // Not held any more (here: failed), the renter may book again.
        set_state(store, first.id.as_str(), "failed").await;
        let again = new_booking(at(4), "Ada@Example.com", "(206) 555-0100");
        assert!(matches!(
            store.insert_booking(&again, now).await.unwrap(),
            InsertOutcome::Inserted(_)
        ));
    }
);

on_both_backends!(
    a_late_report_rescues_a_no_show_while_the_renter_has_booked_again,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let first_id = booked(&app, MAPLE, 0, &[]).await;
        let first = booking(&app, &first_id).await;
        set_state(&app.app_store, &first_id, "no_show").await;
        let second = booked(&app, MAPLE, 1, &[]).await;
        // The lock reports, late, that the door opened for the first tour: completed, and the
        // renter's new tour is untouched.
        let (s, body) = callback(&app, "msg_late", granted(&first_id, first.slot_start())).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(state_of(&app, &first_id).await, BookingState::Completed);
        assert!(booking(&app, &first_id).await.first_access_at.is_some());
        assert_eq!(state_of(&app, &second).await, BookingState::Confirmed);
    }
);
