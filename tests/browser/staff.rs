//! A staff member signs in at a desktop and finds the renter's booking; axe on each staff page.
//! The Today board at a phone (360 px) and a desktop: one-tap rows, tel: links, the strip.
use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{client, set_state, spawn_app, Backend, TestApp};
use crate::pages;

const EMAIL: &str = "lee@maple.example";
const PASSWORD: &str = "correct horse battery staple";

/// A renter's booking made over HTTP, as the renter's phone would; returns the booking page's
/// path and the booking id.
pub async fn renter_booked(app: &TestApp) -> (String, String) {
    let booking_page = app.book(&client(), "/tours/maple-court", None).await;
    let (_, html) = app.get(&client(), &booking_page).await;
    let booking_id = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("[data-booking-id]").expect("a selector"))
        .next()
        .and_then(|e| e.attr("data-booking-id").map(str::to_string))
        .expect("the renter's booking page carries its id");
    (booking_page, booking_id)
}

/// As [`renter_booked`], for a renter of their own (one live tour per e-mail or phone).
pub async fn renter_booked_as(app: &TestApp, email: &str) -> (String, String) {
    let booking_page = app
        .book_as(
            &client(),
            "/tours/maple-court",
            None,
            &[("email", email), ("phone", "(206) 555-0144")],
        )
        .await;
    let (_, html) = app.get(&client(), &booking_page).await;
    let booking_id = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("[data-booking-id]").expect("a selector"))
        .next()
        .and_then(|e| e.attr("data-booking-id").map(str::to_string))
        .expect("the renter's booking page carries its id");
    (booking_page, booking_id)
}

/// A leasing agent at Maple Court, added as the CLI's `staff add` does it.
pub async fn add_agent(app: &TestApp) {
    tourgate::staff::add_staff(
        &app.app_store,
        &app.settings.communities,
        EMAIL,
        PASSWORD,
        &["maple-court".to_string()],
        false,
    )
    .await
    .expect("the staff member is added");
}

/// Signs in at /staff/login and waits for the tour list.
pub async fn signed_in(b: &Browser, app: &TestApp) {
    b.goto(&app.url("/staff/login")).await;
    sign_in(b, PASSWORD).await;
    b.wait_for("form.filters").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_member_signs_in_and_finds_the_renters_booking() {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, booking_id) = renter_booked(&app).await;
    add_agent(&app).await;

    let b = Browser::start(1280, 900).await;
    let mut axe = AxeReport::default();

    b.goto(&app.url("/staff/login")).await;
    axe.check(&b, "the sign-in page").await;

    sign_in(&b, "not the password").await;
    let alert = b.wait_for("#sign-in-error").await;
    assert_eq!(
        alert.attr("role").await.ok().flatten().as_deref(),
        Some("alert"),
        "a refused sign-in is announced"
    );
    b.screenshot("staff-sign-in-refused").await;
    axe.check(&b, "the sign-in page, refused").await;

    sign_in(&b, PASSWORD).await;
    let row = b
        .wait_for(&format!("li[data-booking-id='{booking_id}']"))
        .await;
    assert_eq!(
        b.client.current_url().await.expect("a URL").path(),
        "/staff"
    );
    b.screenshot("staff-today").await;
    axe.check(&b, "the staff Today board").await;

    row.find(fantoccini::Locator::Css("a.tour-open"))
        .await
        .expect("the row links to the booking")
        .click()
        .await
        .expect("open the booking");
    let card = b.wait_for(".booking[data-booking-id]").await;
    assert_eq!(
        card.attr("data-booking-id").await.ok().flatten(),
        Some(booking_id.clone())
    );
    assert!(b.text(".booking").await.contains("Grace Hopper"));
    b.screenshot("staff-booking").await;
    axe.check(&b, "the staff booking page").await;

    b.find("form[action='/staff/logout'] button")
        .await
        .click()
        .await
        .expect("sign out");
    b.wait_for("form[action='/staff/login']").await;
    b.close().await;

    axe.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_at_360_px_the_today_board_fits_and_a_row_opens_with_one_tap() {
    today_board(360, 740, "phone-360").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_the_today_board_lists_the_tours_and_what_needs_attention() {
    today_board(1280, 900, "desktop").await;
}

async fn today_board(width: u32, height: u32, shot: &str) {
    let app = spawn_app(Backend::Sqlite).await;
    let (_, booking_id) = renter_booked(&app).await;
    // A second renter's tour that nobody showed up for: the strip lists it.
    let page = app
        .book_as(
            &client(),
            "/tours/maple-court",
            None,
            &[("email", "alan@example.com"), ("phone", "(206) 555-0188")],
        )
        .await;
    let (_, html) = app.get(&client(), &page).await;
    let missed = scraper::Html::parse_document(&html)
        .select(&scraper::Selector::parse("[data-booking-id]").expect("a selector"))
        .next()
        .and_then(|e| e.attr("data-booking-id").map(str::to_string))
        .expect("the second booking's id");
    set_state(&app.app_store, &missed, "no_show").await;
    add_agent(&app).await;

    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();
    signed_in(&b, &app).await;
    let row = format!("li[data-booking-id='{booking_id}']");
    b.wait_for(&row).await;
    pages::assert_no_horizontal_scroll(&b, "the Today board").await;
    pages::assert_no_script(&b, "the Today board").await;
    b.screenshot(&format!("{shot}-staff-today")).await;
    axe.check(&b, "the staff Today board").await;

    let count = b.text(".attention .count").await;
    assert_eq!(count.trim(), "1", "one item needs attention");
    let item = b
        .find(".attention li[data-attention='no_show'] a")
        .await
        .attr("href")
        .await
        .expect("an href");
    assert_eq!(
        item.as_deref(),
        Some(format!("/staff/bookings/{missed}").as_str())
    );
    let tel = b
        .find(&format!("{row} a.tour-call"))
        .await
        .attr("href")
        .await
        .expect("an href")
        .unwrap_or_default();
    assert!(
        tel.starts_with("tel:+1"),
        "the phone is a link to call: {tel}"
    );
    // The row's link is most of the row and a comfortable target, not a small reference.
    let sizes = b
        .js_with(
            "const li = document.querySelector(arguments[0]);
             const a = li.querySelector('a.tour-open').getBoundingClientRect();
             return [a.width / li.getBoundingClientRect().width, a.height];",
            vec![serde_json::Value::String(row.clone())],
        )
        .await;
    let (share, height_px) = (
        sizes[0].as_f64().unwrap_or(0.0),
        sizes[1].as_f64().unwrap_or(0.0),
    );
    assert!(share >= 0.6, "the row's link spans {share:.2} of the row");
    assert!(height_px >= 44.0, "the row's link is {height_px} px tall");

    // One tap on the name and time area opens the booking.
    b.tap(&format!("{row} .tour-time")).await;
    let card = b.wait_for(".booking[data-booking-id]").await;
    assert_eq!(
        card.attr("data-booking-id").await.ok().flatten(),
        Some(booking_id.clone())
    );
    pages::assert_no_horizontal_scroll(&b, "the staff booking page").await;
    let tel = b
        .find(".booking a[href^='tel:']")
        .await
        .attr("href")
        .await
        .expect("an href");
    assert!(tel.is_some_and(|t| t.starts_with("tel:+1")));
    b.find(".booking a[href^='mailto:']").await;
    b.screenshot(&format!("{shot}-staff-booking")).await;
    axe.check(&b, "the staff booking page").await;

    // The full list and its search stay one link away.
    b.tap("a[href='/staff?view=list']").await;
    b.wait_for(&format!("tr[data-booking-id='{booking_id}']"))
        .await;
    pages::assert_no_horizontal_scroll(&b, "the staff tour list").await;
    b.screenshot(&format!("{shot}-staff-list")).await;
    axe.check(&b, "the staff tour list").await;
    b.close().await;
    axe.assert_clean();
}

async fn sign_in(b: &Browser, password: &str) {
    let email = b.find("#email").await;
    email.clear().await.expect("clear the e-mail");
    email.send_keys(EMAIL).await.expect("type the e-mail");
    b.find("#password")
        .await
        .send_keys(password)
        .await
        .expect("type the password");
    b.find("form[action='/staff/login'] button[type=submit]")
        .await
        .click()
        .await
        .expect("tap Sign in");
}
