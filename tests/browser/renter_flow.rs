//! The compact picker and the booking page's states, at the phone (360x740) and the desktop
//! (1280x900) viewport: the first time shows on the first screen, "Book my tour" is reached
//! past one day's times only, a failed submit keeps the day and time, the keyboard still
//! books, and the booking page says what happened and links calendars; axe on each state.
use chrono::Utc;
use serde_json::json;
use tourgate::booking::Canceller;
use tourgate::domain::BookingId;

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_app, Backend};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_first_time_is_on_the_first_screen_and_book_my_tour_within_reach() {
    picker_fits(360, 740, 1450.0, "phone-picker").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_the_first_time_is_on_the_first_screen_and_book_my_tour_within_reach() {
    picker_fits(1280, 900, 1300.0, "desktop-picker").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_booking_page_says_what_happened_and_links_calendars() {
    booking_states(360, 740, "phone-states").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_the_booking_page_says_what_happened_and_links_calendars() {
    booking_states(1280, 900, "desktop-states").await;
}

/// Where, in page pixels, an element's top and bottom are.
async fn span(b: &Browser, css: &str) -> (f64, f64) {
    let v = b
        .js_with(
            "const e = document.querySelector(arguments[0]);
             if (!e) return null;
             const r = e.getBoundingClientRect();
             return [r.top + window.scrollY, r.bottom + window.scrollY];",
            vec![json!(css)],
        )
        .await;
    assert!(!v.is_null(), "the page has {css}");
    (
        v[0].as_f64().unwrap_or_default(),
        v[1].as_f64().unwrap_or_default(),
    )
}

async fn visible_times(b: &Browser) -> (usize, usize) {
    let v = b
        .js(
            "const all = [...document.querySelectorAll('input[name=start]')];
             return [all.filter(i => i.checkVisibility()).length, all.length]",
        )
        .await;
    (
        v[0].as_u64().unwrap_or_default() as usize,
        v[1].as_u64().unwrap_or_default() as usize,
    )
}

async fn picker_fits(width: u32, height: u32, book_within: f64, shot: &str) {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();
    b.goto(&pages::doorway_link(&app)).await;
    b.screenshot(shot).await;
    axe.check(&b, "the landing page").await;
    pages::assert_no_horizontal_scroll(&b, "the landing page").await;

    // No radio circles: the day tabs and time chips are their labels.
    let circles = b
        .js(
            "return [...document.querySelectorAll('.picker input[type=radio]')]
                 .filter(i => getComputedStyle(i).opacity !== '0').length",
        )
        .await;
    assert_eq!(circles.as_u64(), Some(0), "no radio circle shows");

    let (_, first_bottom) = span(&b, ".day:not([hidden]) .slot-grid label").await;
    eprintln!("{shot}: the first time ends at {first_bottom} px, the screen at {height} px");
    assert!(
        first_bottom <= f64::from(height),
        "the first time ({first_bottom} px) is on the first screen ({height} px)"
    );
    let (shown, all) = visible_times(&b).await;
    assert!(
        shown > 0 && shown < all,
        "one day's times show ({shown} of {all})"
    );
    let (book_top, _) = span(&b, "form.booking-form button[type=submit]").await;
    eprintln!("{shot}: Book my tour at {book_top} px ({shown} of {all} times shown)");
    assert!(
        book_top <= book_within,
        "Book my tour is at {book_top} px, past {book_within} px"
    );

    // A failed submit keeps the third day open and its time chosen.
    pages::show_day(&b, 2).await;
    let slot = pages::offered_slot(&b, 2, 1).await;
    b.tap(&format!(
        ".slot-grid label:has(input[value='{}'])",
        slot.value
    ))
    .await;
    pages::fill_details(&b, "grace@example.com").await;
    b.find("#first_name")
        .await
        .clear()
        .await
        .expect("empty the first name");
    b.tap("form.booking-form button[type=submit]").await;
    b.wait_for("#error-summary").await;
    assert!(b
        .text("#error-summary")
        .await
        .contains("Enter your first name."));
    assert_eq!(pages::checked_slot(&b).await, Some(slot.value.clone()));
    let open = b
        .js("const d = document.querySelector('input[name=day]:checked'); return d && d.value")
        .await;
    assert!(
        slot.value.starts_with(open.as_str().unwrap_or("none")),
        "the chosen time's day stays open: {open}"
    );
    let chosen_visible = b
        .js_with(
            "return document.querySelector(`input[name=start][value='${arguments[0]}']`).checkVisibility()",
            vec![json!(slot.value)],
        )
        .await;
    assert_eq!(chosen_visible.as_bool(), Some(true), "and its times show");
    b.screenshot(&format!("{shot}-error-kept")).await;
    axe.check(&b, "the landing page, an error with the time kept")
        .await;

    // The keyboard alone still books.
    pages::book_by_keyboard(&b, &app).await;
    b.close().await;
    axe.assert_clean();
}

async fn booking_states(width: u32, height: u32, shot: &str) {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();
    let (_, id) = pages::book_by_pointer(&b, &app, shot).await;
    let notice = b.wait_for("[data-notice-kind=booked]").await;
    let text = notice.text().await.unwrap_or_default();
    assert!(text.contains("Your tour is booked."), "{text}");
    let links = b.find_all("[data-calendar-links] a").await;
    assert_eq!(
        links.len(),
        4,
        "Google, Outlook.com, Outlook (work) and .ics"
    );
    let mut hrefs = Vec::new();
    for l in &links {
        hrefs.push(l.attr("href").await.ok().flatten().unwrap_or_default());
    }
    assert!(
        hrefs[0].starts_with("https://calendar.google.com/"),
        "{hrefs:?}"
    );
    assert!(
        hrefs[1].starts_with("https://outlook.live.com/"),
        "{hrefs:?}"
    );
    assert!(
        hrefs[2].starts_with("https://outlook.office.com/"),
        "{hrefs:?}"
    );
    assert!(hrefs[3].ends_with("/calendar.ics"), "{hrefs:?}");
    let reference = b.text("[data-reference]").await;
    assert!(reference.starts_with("MPL-"), "{reference}");
    pages::assert_no_horizontal_scroll(&b, "the booking page, just booked").await;
    b.screenshot(&format!("{shot}-booked")).await;
    axe.check(&b, "the booking page, just booked").await;

    // Reload: the notice was for the moment after booking.
    b.goto(b.client.current_url().await.expect("a URL").as_ref())
        .await;
    assert!(b.find_all("[data-notice-kind]").await.is_empty());

    // Moved.
    b.tap("a[href$='/reschedule']").await;
    b.wait_for("form[action$='/reschedule']").await;
    pages::show_day(&b, 2).await;
    let new = pages::offered_slot(&b, 2, 0).await;
    b.tap(&format!(
        ".slot-grid label:has(input[value='{}'])",
        new.value
    ))
    .await;
    b.tap("form[action$='/reschedule'] button[type=submit]")
        .await;
    pages::booking_page_shows(&b, &new).await;
    let text = b.text("[data-notice-kind=moved]").await;
    assert!(
        text.contains("Your tour has moved from") && text.contains(&new.label),
        "{text}"
    );
    b.screenshot(&format!("{shot}-moved")).await;
    axe.check(&b, "the booking page, just moved").await;

    // Cancelled by the renter.
    b.tap("a[href$='/cancel']").await;
    b.tap("form[action$='/cancel'] button[type=submit]").await;
    pages::assert_booking_state(&b, "cancelled").await;
    let text = b.text("[data-notice-kind=cancelled]").await;
    assert!(text.starts_with("You cancelled your tour"), "{text}");
    b.screenshot(&format!("{shot}-cancelled")).await;
    axe.check(&b, "the booking page, just cancelled").await;

    // Another renter's tour, cancelled by the office.
    let (page, other) = crate::staff::renter_booked_as(&app, "ada@example.com").await;
    let other = BookingId::parse(&other).expect("a booking id");
    app.bookings
        .cancel(
            &other,
            Canceller::Staff {
                email: "ann@example.com",
                reason: "closed for repairs",
            },
            Utc::now(),
        )
        .await
        .expect("staff cancel");
    b.goto(&app.url(&page)).await;
    pages::assert_booking_state(&b, "cancelled").await;
    let text = b.text("[data-notice-kind=cancelled_by_staff]").await;
    assert!(
        text.contains("The leasing office at Maple Court Apartments cancelled"),
        "{text}"
    );
    b.screenshot(&format!("{shot}-cancelled-by-staff")).await;
    axe.check(&b, "the booking page, cancelled by the office")
        .await;
    assert_ne!(id, other.to_string());
    b.close().await;
    axe.assert_clean();
}
