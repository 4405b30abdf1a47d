//! On a phone, the renter moves the tour to another day from the booking page, with the same
//! day picker as booking; Knock holds the new time and no longer the old one.
use chrono::{DateTime, Utc};
use knock_sandbox::AppointmentStatus;

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_app, Backend};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_renter_moves_the_tour_to_another_day() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();
    let (first, id) = pages::book_by_pointer(&b, &app, "phone-move").await;

    b.tap("a[href$='/reschedule']").await;
    b.wait_for(&format!(
        "form[action$='/reschedule'][data-booking-id='{id}']"
    ))
    .await;
    axe.check(&b, "the reschedule page").await;
    pages::assert_no_horizontal_scroll(&b, "the reschedule page").await;
    pages::assert_no_script(&b, "the reschedule page").await;
    assert!(
        b.find_all(&format!("input[name=start][value='{}']", first.value))
            .await
            .is_empty(),
        "the time already booked is not offered again"
    );

    pages::show_day(&b, 2).await;
    let new = pages::offered_slot(&b, 2, 0).await;
    b.tap(&format!(
        ".slot-grid label:has(input[value='{}'])",
        new.value
    ))
    .await;
    b.screenshot("phone-move-picked").await;
    b.tap("form[action$='/reschedule'] button[type=submit]")
        .await;
    let moved = pages::booking_page_shows(&b, &new).await;
    assert_eq!(moved, id, "the same booking, moved");
    axe.check(&b, "the booking page, moved").await;
    b.screenshot("phone-moved").await;

    let at = |v: &str| {
        DateTime::parse_from_rfc3339(v)
            .unwrap_or_else(|e| panic!("slot value {v:?}: {e}"))
            .with_timezone(&Utc)
    };
    let snap = app.sandbox.snapshot();
    let live: Vec<DateTime<Utc>> = snap
        .appointments
        .iter()
        .filter(|a| a.status == AppointmentStatus::Confirmed)
        .map(|a| a.start)
        .collect();
    assert_eq!(live, [at(&new.value)], "Knock holds only the new time");
    assert!(
        snap.appointments
            .iter()
            .any(|a| a.start == at(&first.value) && a.status == AppointmentStatus::Cancelled),
        "the old time is cancelled in Knock"
    );
    b.close().await;
    axe.assert_clean();
}
