//! A renter on a phone (390x844): taps through the booking, reads errors, never scrolls sideways.
use crate::browser::Browser;
use crate::helpers::{spawn_app, Backend};
use crate::pages::{self, DOORWAY_SOURCE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_renter_books_from_the_doorway_link_by_tapping_a_slot() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(390, 844).await;

    pages::errors_are_announced(&b, &app).await;
    b.screenshot("phone-landing-errors").await;
    let (_, id) = pages::book_by_pointer(&b, &app, "phone").await;

    let snap = app.sandbox.snapshot();
    assert_eq!(snap.appointments.len(), 1, "one appointment reached Knock");
    assert_eq!(
        snap.appointments[0].source_title.as_deref(),
        Some(DOORWAY_SOURCE),
        "Doorway's utm_knock_source_title reached Knock as sent (booking {id})"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_360_px_no_renter_page_scrolls_sideways() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(360, 740).await;

    b.goto(&pages::doorway_link(&app)).await;
    pages::assert_no_horizontal_scroll(&b, "the landing page").await;
    pages::assert_no_script(&b, "the landing page").await;

    pages::errors_are_announced(&b, &app).await;
    pages::assert_no_horizontal_scroll(&b, "the landing page with errors").await;
    pages::assert_no_script(&b, "the landing page with errors").await;

    pages::book_by_pointer(&b, &app, "phone-360").await;
    pages::assert_no_horizontal_scroll(&b, "the booking page").await;
    pages::assert_no_script(&b, "the booking page").await;
    let booking = b.client.current_url().await.expect("a URL").to_string();

    for (what, url) in [
        ("the cancel page", format!("{booking}/cancel")),
        ("the reschedule page", format!("{booking}/reschedule")),
        ("the demo lock", app.url("/sandbox/lock/maple-court")),
        ("the demo mailbox", app.url("/sandbox/mail")),
        ("the staff sign-in page", app.url("/staff/login")),
    ] {
        b.goto(&url).await;
        pages::assert_no_horizontal_scroll(&b, what).await;
        pages::assert_no_script(&b, what).await;
    }

    b.goto(&app.url("/tours/no-such-place")).await;
    pages::assert_no_horizontal_scroll(&b, "the 404 page").await;
    pages::assert_no_script(&b, "the 404 page").await;
    b.close().await;
}
