//! A staff member signs in at a desktop and finds the renter's booking; axe on each staff page.
use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{client, spawn_app, Backend, TestApp};

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
        .wait_for(&format!("tr[data-booking-id='{booking_id}']"))
        .await;
    assert_eq!(
        b.client.current_url().await.expect("a URL").path(),
        "/staff"
    );
    b.screenshot("staff-tours").await;
    axe.check(&b, "the staff tour list").await;

    row.find(fantoccini::Locator::Css("a"))
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
