//! axe-core on every renter page and state the walks do not reach: no serious or critical
//! violation. (The walks check the pages they pass through.)
use knock_sandbox::Fault;

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{set_state, spawn_app, Backend, TestApp};
use crate::pages;

fn fault(route: &str, count: u32, status: u16) -> Fault {
    serde_json::from_value(serde_json::json!({
        "route": route, "count": count, "status": status
    }))
    .expect("a valid fault")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renter_pages_have_no_serious_or_critical_accessibility_violations() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();

    b.goto(&pages::doorway_link(&app)).await;
    axe.check(&b, "the landing page").await;

    pages::errors_are_announced(&b, &app).await;
    axe.check(&b, "the landing page with errors").await;

    pages::book_by_pointer(&b, &app, "axe").await;
    axe.check(&b, "the booking page").await;

    b.goto(&app.url("/bookings/no-such-booking")).await;
    b.screenshot("phone-404").await;
    axe.check(&b, "the 404 page").await;

    // Knock unreachable when the renter arrives: a plain message, not a blank page.
    app.sandbox.inject_fault(fault("available_times", 1, 503));
    b.goto(&pages::doorway_link(&app)).await;
    assert!(b
        .text("main")
        .await
        .contains("Tour times are not available right now"));
    b.screenshot("phone-knock-down").await;
    axe.check(&b, "the landing page, Knock unreachable").await;

    // Knock refuses the time: the form comes back with an announced notice and fresh times.
    pick_and_fill(&b, &app).await;
    app.sandbox
        .inject_fault(fault("appointment_request", 1, 400));
    b.tap("form.booking-form button[type=submit]").await;
    let notice = b.wait_for("main .notice[role=alert]").await;
    assert!(!notice.text().await.unwrap_or_default().is_empty());
    b.screenshot("phone-knock-refused").await;
    axe.check(&b, "the landing page, time refused").await;

    // Knock not answering during the booking: the "we are confirming" page.
    pick_and_fill(&b, &app).await;
    app.sandbox
        .inject_fault(fault("appointment_request", 2, 503));
    b.tap("form.booking-form button[type=submit]").await;
    pages::assert_booking_state(&b, "requesting").await;
    b.screenshot("phone-confirming").await;
    axe.check(&b, "the booking page, being confirmed").await;

    b.close().await;
    axe.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_booking_page_in_every_state_is_accessible_and_plain() {
    let app = spawn_app(Backend::Sqlite).await;
    let (page, id) = crate::staff::renter_booked(&app).await;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();
    // What the renter reads in each state, in words (the badge and the next step).
    for (state, says) in [
        ("requesting", "We are confirming your tour"),
        ("confirmed", "What happens next"),
        ("in_progress", "Your tour is under way"),
        ("completed", "Thank you for touring"),
        ("no_show", "This tour was missed"),
        ("failed", "This tour could not be booked"),
        ("cancelled", "This tour is cancelled"),
    ] {
        set_state(&app.app_store, &id, state).await;
        b.goto(&app.url(&page)).await;
        pages::assert_booking_state(&b, state).await;
        let text = b.text(".booking").await;
        assert!(text.contains(says), "{state}: {text:?}");
        pages::assert_no_horizontal_scroll(&b, &format!("the booking page, {state}")).await;
        b.screenshot(&format!("phone-booking-{state}")).await;
        axe.check(&b, &format!("the booking page, {state}")).await;
    }
    b.close().await;
    axe.assert_clean();
}

/// Opens the landing page, picks its first time and fills the details.
async fn pick_and_fill(b: &Browser, app: &TestApp) {
    b.goto(&pages::doorway_link(app)).await;
    let slot = pages::offered_slot(b, 0, 0).await;
    b.tap(&format!(
        ".slot-grid label:has(input[value='{}'])",
        slot.value
    ))
    .await;
    // Another renter than the one booked above: one live tour per e-mail or phone.
    pages::fill_details(b, "ada@example.com").await;
    let phone = b.find("#phone").await;
    phone.clear().await.expect("clear the phone");
    phone
        .send_keys("(206) 555-0177")
        .await
        .expect("type the phone");
}
