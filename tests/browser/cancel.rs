//! Cancelling in the browser: the renter from the booking page, and a staff member from the
//! staff area with a reason. Either way the booking page says so and the appointment is
//! cancelled in Knock (seen in the sandbox's own view; the app runs its workers).
use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::pages;
use crate::staff::{add_agent, renter_booked, signed_in};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_renter_cancels_from_the_booking_page() {
    renter_cancels(390, 844, "phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_a_renter_cancels_from_the_booking_page() {
    renter_cancels(1280, 900, "desktop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_a_staff_member_signs_in_and_cancels_with_a_reason() {
    staff_cancels(1280, 900, "desktop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_staff_member_signs_in_and_cancels_with_a_reason() {
    staff_cancels(390, 844, "phone").await;
}

async fn app_with_workers() -> TestApp {
    spawn_app_with(Backend::Sqlite, &[("TOURGATE_WORKERS", "on")]).await
}

async fn renter_cancels(width: u32, height: u32, shot: &str) {
    let app = app_with_workers().await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();
    let (_, id) = pages::book_by_pointer(&b, &app, &format!("{shot}-cancel")).await;
    let booking_page = b.client.current_url().await.expect("a URL").to_string();

    // Changing one's mind on the confirmation page keeps the tour.
    b.tap("a[href$='/cancel']").await;
    b.wait_for(&format!("form[action$='/cancel'][data-booking-id='{id}']"))
        .await;
    b.screenshot(&format!("{shot}-cancel-confirm")).await;
    axe.check(&b, "the renter's cancel page").await;
    b.tap("form[action$='/cancel'] a").await;
    pages::assert_booking_state(&b, "confirmed").await;

    b.tap("a[href$='/cancel']").await;
    b.wait_for("form[action$='/cancel'] button[type=submit]")
        .await
        .click()
        .await
        .expect("tap Yes, cancel my tour");
    pages::assert_booking_state(&b, "cancelled").await;
    assert!(b.text(".booking").await.contains("This tour is cancelled"));
    assert!(
        b.find_all("a[href$='/cancel']").await.is_empty(),
        "a cancelled tour offers no cancel link"
    );
    b.screenshot(&format!("{shot}-cancelled")).await;
    axe.check(&b, "the booking page, cancelled by the renter")
        .await;

    // Reloading the cancel page of a cancelled tour lands on the booking page.
    b.goto(&format!("{booking_page}/cancel")).await;
    pages::assert_booking_state(&b, "cancelled").await;

    knock_shows_cancelled(&b, &app).await;
    b.close().await;
    axe.assert_clean();
}

async fn staff_cancels(width: u32, height: u32, shot: &str) {
    let app = app_with_workers().await;
    let (renter_page, id) = renter_booked(&app).await;
    add_agent(&app).await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();

    signed_in(&b, &app).await;
    axe.check(&b, "the staff tour list").await;
    b.tap(&format!("[data-booking-id='{id}'] a.tour-open"))
        .await;
    b.wait_for(&format!(".booking[data-booking-id='{id}']"))
        .await;
    b.tap(&format!("a[href='/staff/bookings/{id}/cancel']"))
        .await;
    let reason = b.wait_for("#reason").await;
    b.screenshot(&format!("{shot}-staff-cancel")).await;
    axe.check(&b, "the staff cancel page").await;
    // Spaces pass the browser's `required` but are no reason: the page says so, at the field.
    reason.send_keys("   ").await.expect("type spaces");
    b.tap("form[action$='/cancel'] button[type=submit]").await;
    let alert = b.wait_for("#cancel-error").await;
    assert_eq!(
        alert.attr("role").await.ok().flatten().as_deref(),
        Some("alert"),
        "the missing reason is announced"
    );
    let reason = b.find("#reason").await;
    assert_eq!(
        reason.attr("aria-invalid").await.ok().flatten().as_deref(),
        Some("true")
    );
    assert_eq!(
        reason
            .attr("aria-describedby")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("cancel-error"),
        "the message is tied to the reason field"
    );
    axe.check(&b, "the staff cancel page, no reason").await;

    let why = "Renter phoned: found another home";
    reason.clear().await.expect("clear the reason");
    reason.send_keys(why).await.expect("type the reason");
    b.tap("form[action$='/cancel'] button[type=submit]").await;

    pages::assert_booking_state(&b, "cancelled").await;
    assert_eq!(
        b.find(".booking")
            .await
            .attr("data-booking-id")
            .await
            .ok()
            .flatten(),
        Some(id.clone())
    );
    assert!(
        b.find_all(&format!("a[href='/staff/bookings/{id}/cancel']"))
            .await
            .is_empty(),
        "a cancelled tour offers no cancel button"
    );
    let history = b.text("#history + ol").await;
    assert!(
        history.contains(why),
        "the reason is in the booking's history: {history:?}"
    );
    b.screenshot(&format!("{shot}-staff-cancelled")).await;
    axe.check(&b, "the staff booking page, cancelled").await;

    // The renter's own page says so.
    b.goto(&app.url(&renter_page)).await;
    pages::assert_booking_state(&b, "cancelled").await;
    axe.check(&b, "the booking page, cancelled by staff").await;

    knock_shows_cancelled(&b, &app).await;
    b.close().await;
    axe.assert_clean();
}

/// The booking's only appointment is cancelled in the sandbox's own view.
async fn knock_shows_cancelled(b: &Browser, app: &TestApp) {
    let appointments = app.sandbox.snapshot().appointments;
    assert_eq!(appointments.len(), 1, "one booking, one appointment");
    let script = format!(
        "return [...document.querySelectorAll('#appointments tr')].some(r =>
             r.cells.length > 3 && r.cells[0].textContent.trim() === {:?}
             && r.cells[3].textContent.toLowerCase().includes('cancelled'))",
        appointments[0].id
    );
    b.reload_until(
        &format!("{}/_sandbox", app.sandbox_url),
        &script,
        "the appointment cancelled in Knock",
    )
    .await;
}
