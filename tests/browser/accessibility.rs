//! axe-core on every renter page: no serious or critical violation.
use crate::axe::serious_violations;
use crate::browser::Browser;
use crate::helpers::{spawn_app, Backend};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renter_pages_have_no_serious_or_critical_accessibility_violations() {
    let app = spawn_app(Backend::Sqlite).await;
    let b = Browser::start(390, 844).await;
    let mut report = Vec::new();

    b.goto(&pages::doorway_link(&app)).await;
    report.push(("the landing page", serious_violations(&b).await));

    pages::errors_are_announced(&b, &app).await;
    report.push(("the landing page with errors", serious_violations(&b).await));

    pages::book_by_pointer(&b, &app, "axe").await;
    report.push(("the booking page", serious_violations(&b).await));

    b.goto(&app.url("/bookings/no-such-booking")).await;
    b.screenshot("phone-404").await;
    report.push(("the 404 page", serious_violations(&b).await));

    b.close().await;
    let failures: Vec<String> = report
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(page, v)| format!("{page}:\n{}", v.join("\n")))
        .collect();
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        failures.join("\n")
    );
}
