//! The renter's e-mail as a renter's phone shows it: the confirmation appears in the demo
//! mailbox, and its HTML alternative, opened in the browser, is accessible, fits a phone and
//! links back to the booking page.
use mailparse::{parse_mail, MailHeaderMap, ParsedMail};

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_app_with, Backend};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_confirmation_email_is_in_the_demo_mailbox_and_reads_well() {
    let app = spawn_app_with(Backend::Sqlite, &[("TOURGATE_WORKERS", "on")]).await;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();
    pages::book_by_pointer(&b, &app, "phone-mail").await;
    let booking_page = b.client.current_url().await.expect("a URL").to_string();

    let subject = "Your self-guided tour of Maple Court Apartments is booked";
    b.reload_until(
        &app.url("/sandbox/mail"),
        &format!(
            "return [...document.querySelectorAll('[data-mail] a')]
                 .some(a => a.textContent.trim() === {subject:?})"
        ),
        "the confirmation in the demo mailbox",
    )
    .await;
    pages::assert_no_horizontal_scroll(&b, "the demo mailbox").await;
    axe.check(&b, "the demo mailbox").await;
    b.screenshot("phone-mailbox").await;
    let name = b
        .find("[data-mail]")
        .await
        .attr("data-mail")
        .await
        .ok()
        .flatten()
        .expect("the row names its file");

    // The file as sent, opened from the mailbox.
    b.tap(&format!("[data-mail='{name}'] a")).await;
    let raw = b.text("body").await;
    assert!(raw.contains(&format!("Subject: {subject}")), "{raw}");

    let eml =
        std::fs::read(app.settings.data_dir.join("mail").join(&name)).expect("the message file");
    let mail = parse_mail(&eml).expect("a MIME message");
    let html = html_part(&mail).expect("an HTML alternative");
    let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/browser-artifacts/mail-confirmation.html");
    std::fs::create_dir_all(file.parent().expect("a folder")).expect("the artifacts folder");
    std::fs::write(&file, html).expect("write the e-mail's HTML");
    b.goto(&format!("file://{}", file.display())).await;
    pages::assert_no_horizontal_scroll(&b, "the confirmation e-mail").await;
    axe.check(&b, "the confirmation e-mail").await;
    b.screenshot("phone-mail-confirmation").await;
    let link = b
        .find("a[href*='/bookings/']")
        .await
        .attr("href")
        .await
        .ok()
        .flatten()
        .expect("the e-mail links to the booking");
    assert_eq!(link, booking_page, "the link manages this booking");
    b.goto(&link).await;
    pages::assert_booking_state(&b, "confirmed").await;

    b.close().await;
    axe.assert_clean();
}

fn html_part(m: &ParsedMail<'_>) -> Option<String> {
    if m.subparts.is_empty() {
        let kind = m
            .headers
            .get_first_value("Content-Type")
            .unwrap_or_default();
        return kind
            .starts_with("text/html")
            .then(|| m.get_body().expect("a readable body"));
    }
    m.subparts.iter().find_map(html_part)
}
