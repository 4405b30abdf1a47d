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

    let subject = "Your booking link: self-guided tour of Maple Court Apartments";
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

    // The mail opened from the mailbox: its headers, its HTML in a frame.
    b.tap(&format!("[data-mail='{name}'] h2 a")).await;
    b.wait_for("[data-mail-html]").await;
    assert_eq!(b.text("[data-mail-subject]").await, subject);

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
    // The booking's link, with the proof that whoever opens it reads the renter's mail.
    assert!(
        link.starts_with(&format!("{booking_page}?proof=")),
        "the link manages this booking: {link}"
    );
    b.goto(&link).await;
    pages::assert_booking_state(&b, "confirmed").await;
    let url = b.client.current_url().await.expect("the current URL");
    assert_eq!(
        url.as_str(),
        booking_page,
        "the proof is not left in the address bar"
    );

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_every_email_a_renter_gets_is_accessible_and_fits() {
    // Codes shown a day ahead: the door-code e-mail goes out at once.
    let (app, _file) = crate::lock::app_at_tour_time().await;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();
    pages::book_slot_by_pointer(&b, &app, 0, 0, "phone-mails").await;
    b.tap("a[href$='/reschedule']").await;
    pages::show_day(&b, 1).await;
    let later = pages::offered_slot(&b, 1, 0).await;
    b.tap(&format!(
        ".slot-grid label:has(input[value='{}'])",
        later.value
    ))
    .await;
    b.tap("form[action$='/reschedule'] button[type=submit]")
        .await;
    pages::booking_page_shows(&b, &later).await;
    b.tap("a[href$='/cancel']").await;
    b.tap("form[action$='/cancel'] button[type=submit]").await;
    pages::assert_booking_state(&b, "cancelled").await;

    let subjects = [
        "Your booking link: self-guided tour of Maple Court Apartments",
        "How to get in: your tour of Maple Court Apartments",
        "New time for your tour of Maple Court Apartments",
        "Cancelled: your tour of Maple Court Apartments",
    ];
    let wanted = serde_json::to_string(&subjects).expect("JSON");
    b.reload_until(
        &app.url("/sandbox/mail"),
        &format!(
            "const shown = [...document.querySelectorAll('[data-mail] a')]
                 .map(a => a.textContent.trim());
             return {wanted}.every(s => shown.includes(s))"
        ),
        "the confirmation, door code, new time and cancellation e-mails",
    )
    .await;

    let folder = app.settings.data_dir.join("mail");
    let mut read = 0;
    for entry in std::fs::read_dir(&folder).expect("the mail folder") {
        let path = entry.expect("a mail file").path();
        let eml = std::fs::read(&path).expect("the message file");
        let mail = parse_mail(&eml).expect("a MIME message");
        let subject = mail.headers.get_first_value("Subject").unwrap_or_default();
        let html = html_part(&mail).unwrap_or_else(|| panic!("{subject}: an HTML alternative"));
        let file = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/browser-artifacts")
            .join(format!("mail-{read}.html"));
        std::fs::write(&file, html).expect("write the e-mail's HTML");
        b.goto(&format!("file://{}", file.display())).await;
        pages::assert_no_horizontal_scroll(&b, &subject).await;
        axe.check(&b, &format!("the e-mail {subject:?}")).await;
        read += 1;
    }
    assert!(read >= subjects.len(), "{read} e-mails read");
    b.close().await;
    axe.assert_clean();
}
