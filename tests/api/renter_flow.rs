//! The renter's booking page says what just happened (booked, moved, cancelled, cancelled by
//! the office) once, and whether we sent mail; a failed form keeps the chosen day and time;
//! the short reference is on the page, in the mail, and finds the booking for staff; the one
//! confirmation a renter gets is Knock's unless the community says ours.
use chrono::Utc;
use mailparse::MailHeaderMap;
use scraper::{Html, Selector};
use tourgate::booking::BookingId;
use tourgate::domain::BookingReference;

use crate::callbacks::{booking_id, MAPLE};
use crate::cancel::{add_staff, staff_client};
use crate::helpers::{
    client, offered_form, spawn_app, spawn_app_with_communities, Backend, TestApp, COMMUNITIES,
};
use crate::on_both_backends;
use crate::reschedule::booked;

/// The page's status notice: its kind and text; None when it shows none.
fn notice(html: &str) -> Option<(String, String)> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("[data-notice-kind]").unwrap();
    doc.select(&sel).next().map(|n| {
        (
            n.attr("data-notice-kind").unwrap_or_default().to_string(),
            n.text().collect::<String>(),
        )
    })
}

fn checked(html: &str, name: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let sel = Selector::parse(&format!("input[name={name}][checked]")).unwrap();
    doc.select(&sel)
        .map(|i| i.attr("value").unwrap_or_default().to_string())
        .collect()
}

fn reference_on(html: &str) -> String {
    let doc = Html::parse_document(html);
    let sel = Selector::parse("[data-reference]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.attr("data-reference"))
        .expect("the page shows the reference")
        .to_string()
}

fn maple_with(extra: &str) -> String {
    COMMUNITIES.replacen(
        "units = [\"101\", \"102\", \"2B\"]\n",
        &format!("units = [\"101\", \"102\", \"2B\"]\n{extra}\n"),
        1,
    )
}

/// Subjects of the mails written so far.
fn subjects(app: &TestApp) -> Vec<String> {
    app.mail_files()
        .iter()
        .filter_map(|raw| mailparse::parse_mail(raw).ok())
        .filter_map(|m| m.headers.get_first_value("Subject"))
        .collect()
}

on_both_backends!(
    after_booking_the_page_says_once_that_we_mailed_the_link_and_that_knock_confirms,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let (_, html) = app.get(&c, &page).await;
        let (kind, text) = notice(&html).expect("a notice after booking");
        assert_eq!(kind, "booked");
        assert!(text.contains("Your tour is booked."), "{text}");
        // Workers are off: the mail is on its way, not yet sent.
        assert!(
            text.contains("We are e-mailing the link to this page to g***@example.com now."),
            "{text}"
        );
        assert!(
            text.contains("Maple Court Apartments sends your confirmation in its own e-mail."),
            "{text}"
        );
        assert!(!text.contains("your confirmation to"), "{text}");
        let (_, again) = app.get(&c, &page).await;
        assert_eq!(notice(&again), None, "the notice shows once");

        // Once sent, the next renter's notice says so; and our mail is the link, not a
        // second confirmation.
        let c2 = client();
        let page2 = app
            .book_as(
                &c2,
                MAPLE,
                None,
                &[("email", "ada@example.com"), ("phone", "2065550123")],
            )
            .await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let (_, html) = app.get(&c2, &page2).await;
        let (_, text) = notice(&html).expect("a notice after booking");
        assert!(
            text.contains("We e-mailed the link to this page to a***@example.com."),
            "{text}"
        );
        let subjects = subjects(&app);
        assert!(
            subjects.iter().all(|s| !s.ends_with("is booked")),
            "no mail of ours calls itself the confirmation: {subjects:?}"
        );
        assert!(subjects
            .iter()
            .any(|s| s == "Your booking link: self-guided tour of Maple Court Apartments"));
        // Another booking's page does not show this one's notice.
        let (_, first) = app.get(&c, &page).await;
        assert_eq!(notice(&first), None);
    }
);

on_both_backends!(
    where_the_community_says_tourgate_confirms_our_mail_and_notice_are_the_confirmation,
    |b: Backend| async move {
        let app =
            spawn_app_with_communities(b, &maple_with("confirmation = \"tourgate\""), &[], |_| {})
                .await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let (_, html) = app.get(&c, &page).await;
        let (kind, text) = notice(&html).expect("a notice after booking");
        assert_eq!(kind, "booked");
        assert!(
            text.contains("We e-mailed your confirmation to g***@example.com."),
            "{text}"
        );
        assert!(!text.contains("in its own e-mail"), "{text}");
        assert!(subjects(&app)
            .iter()
            .any(|s| s == "Your self-guided tour of Maple Court Apartments is booked"));
    }
);

on_both_backends!(
    with_renter_mail_off_the_notice_says_booked_and_nothing_about_mail,
    |b: Backend| async move {
        let app = spawn_app_with_communities(
            b,
            &maple_with("renter_mail = false\ndoor_code_needs_email_proof = false"),
            &[],
            |_| {},
        )
        .await;
        let c = client();
        let page = app.book(&c, MAPLE, None).await;
        let (_, html) = app.get(&c, &page).await;
        let (_, text) = notice(&html).expect("a notice after booking");
        assert_eq!(text.trim(), "Your tour is booked.");
    }
);

on_both_backends!(
    after_a_move_the_page_names_the_old_and_the_new_time,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let r = booked(&app).await;
        let (_, before) = app.get(&r.c, &r.page).await;
        let old_when = Html::parse_document(&before)
            .select(&Selector::parse(".booking h2").unwrap())
            .next()
            .unwrap()
            .text()
            .collect::<String>();
        let form = r.reschedule_form(&app).await;
        let new_start = form.starts.last().unwrap().clone();
        let (status, _) = r.reschedule(&app, &form, &new_start).await;
        assert_eq!(status, 303);
        let (_, html) = app.get(&r.c, &r.page).await;
        let (kind, text) = notice(&html).expect("a notice after moving");
        assert_eq!(kind, "moved");
        let new_when = Html::parse_document(&html)
            .select(&Selector::parse(".booking h2").unwrap())
            .next()
            .unwrap()
            .text()
            .collect::<String>();
        assert_ne!(old_when, new_when);
        assert!(
            text.contains(&format!(
                "Your tour has moved from {old_when} to {new_when}."
            )),
            "{text}"
        );
        assert!(text.contains("the new time to g***@example.com"), "{text}");
        let (_, again) = app.get(&r.c, &r.page).await;
        assert_eq!(notice(&again), None);
    }
);

on_both_backends!(
    a_renter_cancel_and_a_staff_cancel_each_say_who_cancelled,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        // The renter cancels.
        let r = booked(&app).await;
        let (_, html) = app.get(&r.c, &format!("{}/cancel", r.page)).await;
        let fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        let res = app
            .post_form(&r.c, &format!("{}/cancel", r.page), &fields)
            .await;
        assert_eq!(res.status().as_u16(), 303);
        let (_, html) = app.get(&r.c, &r.page).await;
        let (kind, text) = notice(&html).expect("a notice after cancelling");
        assert_eq!(kind, "cancelled");
        assert!(text.starts_with("You cancelled your tour of "), "{text}");
        assert!(!html.contains("leasing office at Maple Court Apartments cancelled"));

        // Staff cancel another renter's tour: the renter's page says the office did, every
        // time it is opened (no post of theirs made it).
        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        let c = client();
        let page = app
            .book_as(
                &c,
                MAPLE,
                None,
                &[("email", "ada@example.com"), ("phone", "2065550123")],
            )
            .await;
        let (_, html) = app.get(&c, &page).await;
        let id = booking_id(&html);
        let staff = staff_client(&app, "ann@example.com").await;
        let path = format!("/staff/bookings/{id}/cancel");
        let (_, html) = app.get(&staff, &path).await;
        let mut fields: Vec<(String, String)> = offered_form(&html).hidden.into_iter().collect();
        fields.push(("reason".into(), "The building is closed for repairs".into()));
        assert_eq!(
            app.post_form(&staff, &path, &fields)
                .await
                .status()
                .as_u16(),
            303
        );
        for _ in 0..2 {
            let (_, html) = app.get(&c, &page).await;
            let (kind, text) = notice(&html).expect("a notice that staff cancelled");
            assert_eq!(kind, "cancelled_by_staff");
            assert!(
                text.starts_with(
                    "The leasing office at Maple Court Apartments cancelled your tour of "
                ),
                "{text}"
            );
            assert!(
                !html.contains("closed for repairs"),
                "staff's reason stays internal"
            );
        }
    }
);

on_both_backends!(
    a_failed_submit_keeps_the_chosen_day_and_time_and_names_each_field_once,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let c = client();
        let (_, html) = app.get(&c, MAPLE).await;
        let days: Vec<String> = Html::parse_document(&html)
            .select(&Selector::parse("input[name=day]").unwrap())
            .map(|i| i.attr("value").unwrap().to_string())
            .collect();
        assert!(days.len() >= 3, "the sandbox offers several days: {days:?}");
        assert_eq!(
            checked(&html, "day"),
            [days[0].clone()],
            "the first day opens"
        );
        let form = offered_form(&html);
        // A time on the second day (a start's date is its local date: Knock's local offset).
        let start = form
            .starts
            .iter()
            .find(|s| s.starts_with(&days[1]))
            .expect("a time on the second day")
            .clone();
        let fields = TestApp::fill(&form, &start, &[("first_name", ""), ("day", &days[1])]);
        let r = app.post_form(&c, MAPLE, &fields).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert_eq!(
            checked(&html, "start"),
            std::slice::from_ref(&start),
            "the time stays chosen"
        );
        assert_eq!(
            checked(&html, "day"),
            [days[1].clone()],
            "its day stays open"
        );
        assert!(html.contains("Enter your first name."), "{html}");
        assert!(!html.contains("First name: "), "the label is not repeated");

        // No time chosen, the third day open: that day stays open.
        let form = offered_form(&html);
        let mut fields = TestApp::fill(&form, "", &[("day", &days[2])]);
        fields.retain(|(k, _)| k != "start");
        let r = app.post_form(&c, MAPLE, &fields).await;
        assert_eq!(r.status().as_u16(), 422);
        let html = r.text().await.unwrap();
        assert!(checked(&html, "start").is_empty());
        assert_eq!(checked(&html, "day"), [days[2].clone()]);
        assert!(html.contains("Choose a tour time."));

        // A day that is not offered falls back to the first.
        let form = offered_form(&html);
        let mut fields = TestApp::fill(&form, "", &[("day", "1999-01-01")]);
        fields.retain(|(k, _)| k != "start");
        let html = app
            .post_form(&c, MAPLE, &fields)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(checked(&html, "day"), [days[0].clone()]);
    }
);

on_both_backends!(
    the_reference_is_on_the_page_and_in_the_mail_and_finds_the_booking_for_its_staff_only,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let r = booked(&app).await;
        let (_, html) = app.get(&r.c, &r.page).await;
        let shown = reference_on(&html);
        let c = app.settings.communities.get("maple-court").unwrap();
        let id = BookingId::parse(&r.id).unwrap();
        assert_eq!(
            shown,
            BookingReference::of(&c.reference_prefix, &id).to_string()
        );
        assert!(shown.starts_with("MPL-") && shown.len() == "MPL-XXXX-XXXX".len());

        app.outbox.drain(Utc::now()).await.unwrap();
        let mails = app.mail_files();
        assert!(!mails.is_empty());
        let raw = String::from_utf8_lossy(&mails[0]).to_string();
        let parsed = mailparse::parse_mail(&mails[0]).unwrap();
        let text: String = parsed
            .subparts
            .iter()
            .flat_map(|p| std::iter::once(p).chain(p.subparts.iter()))
            .filter(|p| p.ctype.mimetype == "text/plain")
            .filter_map(|p| p.get_body().ok())
            .collect();
        assert!(text.contains(&shown), "{raw}");

        add_staff(&app, "ann@example.com", &["maple-court"]).await;
        add_staff(&app, "lee@example.com", &["lotus-residency"]).await;
        let ann = staff_client(&app, "ann@example.com").await;
        // As read out on the phone: lower case, spaces, O for zero.
        let spoken = shown.to_lowercase().replace('-', " ").replace('0', "o");
        let q = serde_urlencoded::to_string([("reference", spoken.as_str())]).unwrap();
        let res = ann
            .get(app.url(&format!("/staff/find?{q}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
        assert_eq!(
            res.headers()["location"],
            format!("/staff/bookings/{}", r.id).as_str()
        );
        let (_, staff_page) = app.get(&ann, &format!("/staff/bookings/{}", r.id)).await;
        assert_eq!(
            reference_on(&staff_page),
            shown,
            "the staff booking header shows it"
        );

        // Another community's staff: as if there were no such booking.
        let lee = staff_client(&app, "lee@example.com").await;
        let q = serde_urlencoded::to_string([("reference", shown.as_str())]).unwrap();
        let (status, html) = app.get(&lee, &format!("/staff/find?{q}")).await;
        assert_eq!(status, 404);
        assert!(html.contains("No booking in your communities"), "{html}");
        // Junk is a plain refusal, never a 500.
        for junk in ["tg_' or 1=1 --", "MPL-4K7Q", "%%%"] {
            let q = serde_urlencoded::to_string([("reference", junk)]).unwrap();
            let (status, html) = app.get(&ann, &format!("/staff/find?{q}")).await;
            assert_eq!(status, 400, "{junk}");
            assert!(html.contains("That is not a booking reference"), "{html}");
        }
        // Signed out: the sign-in page, as for every staff page.
        let res = client()
            .get(app.url("/staff/find?reference=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 303);
    }
);

on_both_backends!(
    a_confirmed_booking_page_links_to_google_outlook_and_the_ics_with_an_alarm,
    |b: Backend| async move {
        let app = spawn_app(b).await;
        let r = booked(&app).await;
        let (_, html) = app.get(&r.c, &r.page).await;
        let doc = Html::parse_document(&html);
        let links: Vec<String> = doc
            .select(&Selector::parse("[data-calendar-links] a").unwrap())
            .map(|a| a.attr("href").unwrap().to_string())
            .collect();
        assert_eq!(links.len(), 4, "{links:?}");
        assert!(links[0].starts_with("https://calendar.google.com/calendar/render?action=TEMPLATE"));
        assert!(links[1].starts_with("https://outlook.live.com/calendar/0/deeplink/compose?"));
        assert!(links[2].starts_with("https://outlook.office.com/calendar/0/deeplink/compose?"));
        assert_eq!(links[3], format!("{}/calendar.ics", r.page));
        let page_url = app.url(&r.page);
        for l in &links[..3] {
            let u = url::Url::parse(l).unwrap();
            let all: String = u.query_pairs().map(|(_, v)| v.into_owned()).collect();
            assert!(
                all.contains(&page_url),
                "the booking's link rides along: {l}"
            );
        }
        let (status, ics) = app.get(&r.c, &links[3]).await;
        assert_eq!(status, 200);
        assert!(ics.contains("BEGIN:VALARM\r\nACTION:DISPLAY\r\n"), "{ics}");
        assert!(ics.contains("TRIGGER:-PT1H"));
        let unfolded = ics.replace("\r\n ", "");
        let description = unfolded
            .lines()
            .find(|l| l.starts_with("DESCRIPTION:Your self-guided tour"))
            .expect("the event's description");
        assert!(description.contains(&page_url), "{description}");
        // The stale sentence is gone once the code is shown; the address shows once.
        assert_eq!(html.matches("100 Maple St, Brooklyn").count(), 1, "{html}");
        assert!(!html.contains("Do not share it"));
    }
);
