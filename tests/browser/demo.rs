//! The demo as `tourgate serve` starts it, at a phone (360 px) and a desktop viewport: `/`
//! explains what to try and shows the demo staff account; the mailbox lists the renter's mail
//! and shows the door-code mail as its HTML, decoded (never quoted-printable source); nothing
//! scrolls sideways and axe finds nothing serious.
use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_served, Backend};
use crate::pages;

const DOOR_CODE_MAIL: &str = "How to get in";

async fn the_demo_explains_itself(width: u32, height: u32, shot: &str) {
    // Workers on: the mail goes out as it would in `tourgate serve`.
    let app = spawn_served(Backend::Sqlite, &[("TOURGATE_WORKERS", "on")], None).await;
    let b = Browser::start(width, height).await;
    let mut axe = AxeReport::default();

    b.goto(&app.url("/")).await;
    b.wait_for("[data-demo-index]").await;
    let account = b.text("[data-demo-account]").await;
    assert!(account.contains(tourgate::demo::STAFF_EMAIL), "{account}");
    assert!(
        account.contains(tourgate::demo::staff_password(&app.settings.secret_key).expose()),
        "{account}"
    );
    pages::assert_no_horizontal_scroll(&b, "the demo index").await;
    pages::assert_no_script(&b, "the demo index").await;
    axe.check(&b, "the demo index").await;
    b.screenshot(&format!("{shot}-demo-index")).await;

    pages::book_by_pointer(&b, &app, &format!("{shot}-demo")).await;
    b.reload_until(
        &app.url("/sandbox/mail"),
        &format!(
            "return [...document.querySelectorAll('[data-mail] h2 a')]
                 .some(a => a.textContent.trim().startsWith({DOOR_CODE_MAIL:?}))"
        ),
        "the door-code mail in the demo mailbox",
    )
    .await;
    pages::assert_no_horizontal_scroll(&b, "the demo mailbox").await;
    axe.check(&b, "the demo mailbox").await;
    b.screenshot(&format!("{shot}-demo-mailbox")).await;

    b.js(&format!(
        "[...document.querySelectorAll('[data-mail] h2 a')]
             .find(a => a.textContent.trim().startsWith({DOOR_CODE_MAIL:?})).click(); return null"
    ))
    .await;
    b.wait_for("[data-mail-html]").await;
    pages::assert_no_horizontal_scroll(&b, "a mail in the demo mailbox").await;
    pages::assert_no_script(&b, "a mail in the demo mailbox").await;
    axe.check(&b, "a mail in the demo mailbox").await;

    // Inside the frame: the mail's HTML as the renter sees it, decoded, fitting the width.
    b.client
        .clone()
        .enter_frame(0)
        .await
        .expect("enter the mail's frame");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let shown = loop {
        let text = b.text("body").await;
        if !text.trim().is_empty() || std::time::Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        shown.contains("door code") || shown.contains("Door code"),
        "{shown}"
    );
    for source in ["=3D", "quoted-printable", "Content-Type:"] {
        assert!(
            !shown.contains(source),
            "{source} in the shown mail: {shown}"
        );
    }
    assert!(
        !b.find_all("a[href*='/bookings/']").await.is_empty(),
        "the mail's links are links"
    );
    pages::assert_no_horizontal_scroll(&b, "the door-code mail's HTML").await;
    b.client
        .clone()
        .enter_parent_frame()
        .await
        .expect("leave the frame");
    b.screenshot(&format!("{shot}-demo-mail")).await;

    b.close().await;
    axe.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_360_px_the_demo_index_and_a_mail_in_the_mailbox_read_well() {
    the_demo_explains_itself(360, 740, "phone-360").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_desktop_the_demo_index_and_a_mail_in_the_mailbox_read_well() {
    the_demo_explains_itself(1280, 800, "desktop").await;
}
