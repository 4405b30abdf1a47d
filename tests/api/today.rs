//! The staff Today board: today's tours in each community's time, scoped to the member's
//! communities; the "needs attention" strip; one plain Knock status per booking; mail that no
//! longer fits skipped when a tour ends; the booking page's history in community time.
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use knock_sandbox::{Fault, FaultRoute};
use reqwest::cookie::Jar;
use scraper::{ElementRef, Html, Selector};
use std::sync::Arc;
use tourgate::booking::{AccessCallback, BookingId, BookingState, Canceller, NewBooking, Renter};
use tourgate::domain::attention::{ACCESS_NOT_SET, ACCESS_SET};
use tourgate::domain::rules::CallbackKind;
use tourgate::domain::{BookingToken, Email, PersonName, Phone, Slot, SourceTitle};
use tourgate::outbox::{Job, JobKind, JobState, OutboxJob};
use tourgate::store::InsertOutcome;

use crate::helpers::{client, set_state, spawn_app, Backend, TestApp};
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery staple";
const MAPLE: &str = "maple-court";
const LOTUS: &str = "lotus-residency";

pub(crate) async fn staff_client(
    app: &TestApp,
    email: &str,
    communities: &[&str],
) -> reqwest::Client {
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
    let c = reqwest::Client::builder()
        .cookie_provider(Arc::new(Jar::default()))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = app.landing(&c, "/staff/login").await;
    let mut fields: Vec<(String, String)> = form.hidden.into_iter().collect();
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), PASSWORD.into()));
    let r = app.post_form(&c, "/staff/login", &fields).await;
    assert_eq!(r.status().as_u16(), 303, "{}", r.text().await.unwrap());
    c
}

/// A booking written as the form writes it, starting at `start` (still requesting).
async fn insert_at(app: &TestApp, slug: &str, start: DateTime<Utc>, n: u32) -> String {
    let id = BookingId::generate();
    let now = Utc::now();
    let new = NewBooking {
        id: id.clone(),
        token: BookingToken::generate(),
        idempotency_key: format!("today-test-{}", crate::helpers::random_name()),
        community_slug: slug.into(),
        renter: Renter {
            first_name: PersonName::parse("Ada").unwrap(),
            last_name: PersonName::parse(&format!("Lovelace{}", "x".repeat(n as usize))).unwrap(),
            email: Email::parse(&format!("ada{n}@example.com")).unwrap(),
            phone: Phone::parse(&format!("(206) 555-01{n:02}")).unwrap(),
            sms_consent: false,
            move_date: None,
            bedrooms: None,
            message: None,
        },
        source_title: SourceTitle::parse("Self-Guided Tour Vendor").unwrap(),
        slot: Slot::parse(&start.to_rfc3339()).unwrap(),
        slot_end: start + Duration::minutes(30),
        created_at: now,
    };
    assert!(matches!(
        app.app_store.insert_booking(&new, now).await.unwrap(),
        InsertOutcome::Inserted(_)
    ));
    id.to_string()
}

fn local(tz: Tz, date: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    tz.from_local_datetime(&date.and_hms_opt(h, m, 0).unwrap())
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn sel(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// The ids of the board's rows under `css` (a day's list).
fn rows_in(html: &str, css: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    doc.select(&sel(&format!("{css} li[data-booking-id]")))
        .map(|e| e.attr("data-booking-id").unwrap().to_string())
        .collect()
}

fn row<'a>(doc: &'a Html, id: &str) -> ElementRef<'a> {
    doc.select(&sel(&format!("[data-booking-id=\"{id}\"]")))
        .next()
        .unwrap_or_else(|| panic!("a row for {id}: {}", doc.html()))
}

on_both_backends!(
    the_board_lists_todays_tours_in_community_time_and_only_the_members_communities,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let ny: Tz = "America/New_York".parse().unwrap();
        let now = Utc::now();
        let today = now.with_timezone(&ny).date_naive();
        let early = insert_at(&app, MAPLE, local(ny, today, 0, 30), 1).await;
        let late = insert_at(&app, MAPLE, local(ny, today, 23, 15), 2).await;
        let tomorrow = insert_at(&app, MAPLE, local(ny, today + Duration::days(1), 9, 0), 3).await;
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let lotus_today = now.with_timezone(&kolkata).date_naive();
        let lotus = insert_at(&app, LOTUS, local(kolkata, lotus_today, 12, 0), 4).await;

        let ann = staff_client(&app, "ann@example.com", &[MAPLE]).await;
        let (status, html) = app.get(&ann, "/staff").await;
        assert_eq!(status, 200);
        assert_eq!(
            rows_in(&html, &format!("[data-community={MAPLE}] ul[data-today]")),
            vec![early.clone(), late.clone()],
            "{html}"
        );
        assert_eq!(
            rows_in(
                &html,
                &format!("ul[data-day=\"{}\"]", today + Duration::days(1))
            ),
            vec![tomorrow.clone()]
        );
        // Times as the community reads them, and the phone as a link to call.
        let doc = Html::parse_document(&html);
        let first = row(&doc, &early);
        let time = first.select(&sel(".tour-open time")).next().unwrap();
        assert_eq!(time.text().collect::<String>(), "12:30 AM");
        let open = first.select(&sel("a.tour-open")).next().unwrap();
        assert_eq!(
            open.attr("href"),
            Some(format!("/staff/bookings/{early}").as_str())
        );
        let call = first.select(&sel("a[href^='tel:']")).next().unwrap();
        assert_eq!(call.attr("href"), Some("tel:+12065550101"));
        // Another community's tour is not there at all.
        assert!(
            !html.contains(&lotus) && !html.contains("Lotus Residency"),
            "{html}"
        );

        let raj = staff_client(&app, "raj@example.com", &[LOTUS]).await;
        let (_, html) = app.get(&raj, "/staff").await;
        assert_eq!(rows_in(&html, "ul[data-today]"), vec![lotus.clone()]);
        assert!(!html.contains(&early));
    }
);

on_both_backends!(
    a_tour_just_after_midnight_in_a_far_zone_is_on_that_zones_day,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        let today = Utc::now().with_timezone(&kolkata).date_naive();
        let tomorrow = today + Duration::days(1);
        // 00:10 in Bengaluru is 18:40 UTC the evening before: by UTC's date it is "today".
        let start = local(kolkata, tomorrow, 0, 10);
        assert_eq!(start.date_naive(), today);
        let id = insert_at(&app, LOTUS, start, 1).await;
        let raj = staff_client(&app, "raj@example.com", &[LOTUS]).await;
        let (_, html) = app.get(&raj, "/staff").await;
        assert!(rows_in(&html, "ul[data-today]").is_empty(), "{html}");
        assert_eq!(
            rows_in(&html, &format!("ul[data-day=\"{tomorrow}\"]")),
            vec![id.clone()],
            "{html}"
        );
        let doc = Html::parse_document(&html);
        let time: String = row(&doc, &id)
            .select(&sel(".tour-time"))
            .next()
            .unwrap()
            .text()
            .collect();
        assert_eq!(time, "12:10 AM");
    }
);

/// A confirmed booking through the form for its own renter, as far ahead as Knock offers (so
/// that both reminders are queued), and its id.
async fn booked_ahead(app: &TestApp, n: u32) -> BookingId {
    let c = client();
    let form = app.landing(&c, &format!("/tours/{MAPLE}")).await;
    let start = form.starts[form.starts.len() - 1 - n as usize].clone();
    let email = format!("renter{n}@example.com");
    let phone = format!("(206) 555-02{n:02}");
    let page = app
        .book_as(
            &c,
            &format!("/tours/{MAPLE}"),
            Some(&start),
            &[("email", &email), ("phone", &phone)],
        )
        .await;
    let (_, html) = app.get(&c, &page).await;
    let id = Html::parse_document(&html)
        .select(&sel("[data-booking-id]"))
        .next()
        .and_then(|e| e.attr("data-booking-id").map(str::to_string))
        .unwrap();
    BookingId::parse(&id).unwrap()
}

async fn jobs(app: &TestApp, id: &BookingId) -> Vec<OutboxJob> {
    app.app_store.outbox_jobs_for_booking(id).await.unwrap()
}

fn mail_of(j: &OutboxJob) -> Option<String> {
    match j.job() {
        Ok(Job::Email(e)) => Some(e.mail),
        _ => None,
    }
}

/// No renter mail but `keep` is left pending, and the reminders are skipped with `why`.
async fn assert_mail_skipped(app: &TestApp, id: &BookingId, keep: &[&str], why: &str) {
    let all = jobs(app, id).await;
    let reminders: Vec<&OutboxJob> = all
        .iter()
        .filter(|j| mail_of(j).is_some_and(|m| m.starts_with("reminder")))
        .collect();
    assert_eq!(reminders.len(), 2, "both reminders were queued: {all:?}");
    for j in &reminders {
        assert_eq!(j.state, JobState::Skipped, "{j:?}");
        assert_eq!(j.knock_result.as_deref(), Some(why));
    }
    for j in all.iter().filter(|j| j.state == JobState::Pending) {
        let mail = mail_of(j);
        assert!(
            j.kind != JobKind::Email || mail.as_deref().is_some_and(|m| keep.contains(&m)),
            "still pending: {j:?}"
        );
    }
}

on_both_backends!(
    ending_a_tour_skips_its_pending_reminders_in_the_same_transaction,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let cancelled = booked_ahead(&app, 0).await;
        let completed = booked_ahead(&app, 1).await;
        let missed = booked_ahead(&app, 2).await;
        // Each is read right after its own transaction: no worker has run in between.
        let now = Utc::now();
        tourgate::booking::cancel(
            &app.app_store,
            app.bookings.access(),
            &cancelled,
            Canceller::Renter,
            now,
        )
        .await
        .unwrap();
        assert_mail_skipped(
            &app,
            &cancelled,
            &["cancellation", "confirmation"],
            "not sent: the tour was cancelled",
        )
        .await;

        let cb = AccessCallback {
            webhook_id: "msg_today_done".into(),
            kind: CallbackKind::TourCompleted,
            booking: completed.clone(),
            occurred_at: now,
            unit_names: vec![],
        };
        tourgate::booking::apply_callback(&app.app_store, &cb, now)
            .await
            .unwrap();
        let b = app
            .app_store
            .booking_by_id(&completed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(b.state, BookingState::Completed);
        assert_mail_skipped(
            &app,
            &completed,
            &["confirmation"],
            "not sent: the tour is over",
        )
        .await;

        let m = app.app_store.booking_by_id(&missed).await.unwrap().unwrap();
        let after = m.slot_end + Duration::minutes(16);
        tourgate::booking::sweep_ended_windows(&app.app_store, app.bookings.access(), after)
            .await
            .unwrap();
        let m = app.app_store.booking_by_id(&missed).await.unwrap().unwrap();
        assert_eq!(m.state, BookingState::NoShow);
        assert_mail_skipped(
            &app,
            &missed,
            // The offer to book another time is the no-show's own mail.
            &["confirmation", "no_show_offer"],
            "not sent: the tour is over",
        )
        .await;

        // Staff read it so, and no "pending" reminder for a tour that is over.
        let staff = staff_client(&app, "ann@example.com", &[MAPLE]).await;
        let (_, html) = app.get(&staff, &format!("/staff/bookings/{missed}")).await;
        let doc = Html::parse_document(&html);
        let deliveries: Vec<String> = doc
            .select(&sel("[data-job-id]"))
            .map(|e| e.text().collect::<String>())
            .collect();
        let reminder = deliveries
            .iter()
            .find(|t| t.contains("reminder an hour before"))
            .expect("the reminder is listed");
        assert!(
            reminder.contains("Not sent: the tour is over"),
            "{reminder}"
        );
    }
);

/// A booking at Maple Court with each problem the strip lists: a dead Knock cancel, a booking
/// given up (failed), a no-show, a door code that could not be set; and one that is fine.
struct Troubles {
    dead: BookingId,
    failed: BookingId,
    missed: BookingId,
    no_code: BookingId,
    fine: BookingId,
}

async fn troubles(app: &TestApp) -> Troubles {
    let dead = booked_ahead(app, 0).await;
    let failed = booked_ahead(app, 1).await;
    let missed = booked_ahead(app, 2).await;
    let no_code = booked_ahead(app, 3).await;
    let fine = booked_ahead(app, 4).await;
    let now = Utc::now();
    app.sandbox
        .inject_fault(Fault::status(FaultRoute::AppointmentCancel, 400));
    tourgate::booking::cancel(
        &app.app_store,
        app.bookings.access(),
        &dead,
        Canceller::Renter,
        now,
    )
    .await
    .unwrap();
    app.outbox.drain(now).await.unwrap();
    assert!(jobs(app, &dead)
        .await
        .iter()
        .any(|j| j.kind == JobKind::AppointmentCancel && j.state == JobState::Dead));
    app.sandbox.clear_faults();
    set_state(&app.app_store, failed.as_str(), "failed").await;
    set_state(&app.app_store, missed.as_str(), "no_show").await;
    let mut tx = app.app_store.begin().await.unwrap();
    tx.history(&no_code, now, "seam", ACCESS_NOT_SET, "the lock is offline")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Troubles {
        dead,
        failed,
        missed,
        no_code,
        fine,
    }
}

/// The strip's items as (kind, booking its link opens).
pub(crate) fn attention(html: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    doc.select(&sel(".attention li[data-attention]"))
        .map(|li| {
            let href = li.select(&sel("a")).next().unwrap().attr("href").unwrap();
            (
                li.attr("data-attention").unwrap().to_string(),
                href.trim_start_matches("/staff/bookings/").to_string(),
            )
        })
        .collect()
}

fn attention_count(html: &str) -> String {
    let doc = Html::parse_document(html);
    let strip = doc.select(&sel(".attention")).next().expect("the strip");
    assert_eq!(
        strip
            .select(&sel(".count"))
            .next()
            .unwrap()
            .text()
            .collect::<String>(),
        strip.attr("data-attention-count").unwrap()
    );
    strip.attr("data-attention-count").unwrap().to_string()
}

on_both_backends!(
    the_attention_strip_counts_each_problem_and_links_to_its_booking,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let t = troubles(&app).await;
        let staff = staff_client(&app, "ann@example.com", &[MAPLE]).await;
        let (_, html) = app.get(&staff, "/staff").await;
        let mut items = attention(&html);
        items.sort();
        let mut want = vec![
            ("code_not_set".to_string(), t.no_code.to_string()),
            ("dead_delivery".to_string(), t.dead.to_string()),
            ("no_show".to_string(), t.missed.to_string()),
            ("not_booked".to_string(), t.failed.to_string()),
        ];
        want.sort();
        assert_eq!(items, want, "{html}");
        assert_eq!(attention_count(&html), "4");
        assert!(!items.iter().any(|(_, id)| *id == t.fine.to_string()));

        // The code set after all: that item goes.
        let mut tx = app.app_store.begin().await.unwrap();
        tx.history(&t.no_code, Utc::now(), "seam", ACCESS_SET, "set")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (_, html) = app.get(&staff, "/staff").await;
        assert_eq!(attention_count(&html), "3");

        // Another community's member sees none of it.
        let raj = staff_client(&app, "raj@example.com", &[LOTUS]).await;
        let (_, html) = app.get(&raj, "/staff").await;
        assert_eq!(attention_count(&html), "0");
        assert!(attention(&html).is_empty());
    }
);

on_both_backends!(
    each_booking_shows_one_plain_knock_status_and_its_deliveries_on_its_page,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let t = troubles(&app).await;
        let cancelled = booked_ahead(&app, 5).await;
        tourgate::booking::cancel(
            &app.app_store,
            app.bookings.access(),
            &cancelled,
            Canceller::Renter,
            Utc::now(),
        )
        .await
        .unwrap();
        // Knock is down for the next booking: it waits for a retry.
        app.sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503).times(5));
        let c = client();
        let page = app
            .book_as(
                &c,
                &format!("/tours/{MAPLE}"),
                None,
                &[("email", "wait@example.com"), ("phone", "(206) 555-0299")],
            )
            .await;
        let (_, html) = app.get(&c, &page).await;
        let waiting = Html::parse_document(&html)
            .select(&sel("[data-booking-id]"))
            .next()
            .and_then(|e| e.attr("data-booking-id").map(str::to_string))
            .unwrap();
        app.outbox.drain(Utc::now()).await.unwrap();

        let staff = staff_client(&app, "ann@example.com", &[MAPLE]).await;
        let (_, list) = app.get(&staff, "/staff?view=list").await;
        let doc = Html::parse_document(&list);
        let status = |id: &str| {
            let r = doc
                .select(&sel(&format!("tr[data-booking-id=\"{id}\"]")))
                .next()
                .unwrap_or_else(|| panic!("a row for {id}: {list}"));
            let cells: Vec<String> = r
                .select(&sel("td"))
                .map(|td| td.text().collect::<String>())
                .collect();
            (
                r.attr("data-delivery").unwrap().to_string(),
                cells[2].clone(),
            )
        };
        assert_eq!(
            status(t.fine.as_str()),
            ("in_knock".into(), "In Knock".into())
        );
        assert_eq!(
            status(cancelled.as_str()),
            ("in_knock".into(), "Cancelled in Knock".into())
        );
        assert_eq!(
            status(&waiting),
            ("sending".into(), "Sending to Knock…".into())
        );
        let (code, label) = status(t.dead.as_str());
        assert!(code == "refused" || code == "attention", "{code}");
        assert!(label.starts_with("Knock refused: ") || label == "Needs attention");
        // One status, never the run-on log of every delivery.
        assert!(!list.contains("e-mail log"), "{list}");

        // The detail, each delivery with its own state, is on the booking's page.
        let (_, html) = app
            .get(&staff, &format!("/staff/bookings/{}", t.dead))
            .await;
        let doc = Html::parse_document(&html);
        let lines: Vec<String> = doc
            .select(&sel("[data-job-id]"))
            .map(|e| e.text().collect::<String>())
            .collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Cancel sent to Knock") && l.contains("Failed: ")),
            "{lines:?}"
        );
        assert!(html.contains("/retry"), "a dead delivery offers a retry");
    }
);

on_both_backends!(
    the_booking_page_tells_history_in_community_time_with_call_and_mail_links,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let id = booked_ahead(&app, 0).await;
        let booking = app.app_store.booking_by_id(&id).await.unwrap().unwrap();
        let staff = staff_client(&app, "ann@example.com", &[MAPLE]).await;
        let (_, html) = app.get(&staff, &format!("/staff/bookings/{id}")).await;
        let doc = Html::parse_document(&html);
        let history = doc.select(&sel("ol.history")).next().expect("the history");
        let text: String = history.text().collect();
        // No raw instants, no UTC beside community time.
        assert!(!text.contains("+00:00") && !text.contains("UTC"), "{text}");
        assert!(
            !text
                .as_bytes()
                .windows(11)
                .any(|w| w[4] == b'-' && w[7] == b'-' && w[10] == b'T'),
            "{text}"
        );
        let ny: Tz = "America/New_York".parse().unwrap();
        let slot = booking
            .slot_start()
            .with_timezone(&ny)
            .format("%a, %b %-d, %-I:%M %p")
            .to_string();
        assert!(
            text.contains(&format!("Requested {slot}")),
            "{slot} in {text}"
        );
        assert!(text.contains("Booked on the form") && text.contains("Confirmed by Knock"));
        // Each line keeps its exact instant for machines.
        for t in history.select(&sel("time")) {
            let at = t.attr("datetime").unwrap();
            assert!(DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        }
        let card = doc.select(&sel(".booking")).next().unwrap();
        assert!(card
            .select(&sel(&format!(
                "a[href=\"tel:{}\"]",
                booking.phone.as_e164()
            )))
            .next()
            .is_some());
        assert!(card
            .select(&sel(&format!("a[href=\"mailto:{}\"]", booking.email)))
            .next()
            .is_some());
    }
);
