//! A renter at a desktop (1280x900): by pointer, then with the keyboard alone.
use chrono::{DateTime, Utc};

use crate::browser::Browser;
use crate::helpers::{spawn_app, Backend};
use crate::pages::{self, DOORWAY_SOURCE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_desktop_a_renter_books_by_pointer_and_again_with_the_keyboard_alone() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(1280, 900).await;

    let (by_pointer, first_id) = pages::book_by_pointer(&b, &app, "desktop").await;
    let (by_keyboard, second_id) = pages::book_by_keyboard(&b, &app).await;
    assert_ne!(first_id, second_id, "two bookings, two ids");

    let snap = app.sandbox.snapshot();
    let mut booked: Vec<DateTime<Utc>> = snap
        .appointments
        .iter()
        .map(|a| {
            assert_eq!(a.source_title.as_deref(), Some(DOORWAY_SOURCE));
            a.start
        })
        .collect();
    booked.sort();
    let mut chosen: Vec<DateTime<Utc>> = [by_pointer, by_keyboard]
        .iter()
        .map(|s| {
            DateTime::parse_from_rfc3339(&s.value)
                .unwrap_or_else(|e| panic!("slot value {:?}: {e}", s.value))
                .with_timezone(&Utc)
        })
        .collect();
    chosen.sort();
    assert_eq!(booked, chosen, "Knock holds exactly the two chosen times");
    b.close().await;
}
