//! A branded community at both viewports: its logo and contacts beside the picker on a wide
//! screen (one column on a phone), the day-of-tour kit and the office's number in view while
//! the tour is on, and the finished tour's next step with its one question. axe on each.
use serde_json::{json, Value};

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{client, set_state, spawn_app_with, Backend, TestApp, COMMUNITIES};
use crate::lock::tempfile_path::TempPath;
use crate::pages;

/// Maple Court branded with Tourgate's shipped demo images, with codes working a day ahead;
/// `around_the_clock`: open all day in the sandbox, so that the earliest time offered is
/// already in its window (else the sandbox's usual hours, for a page of the usual weight).
async fn branded_app(around_the_clock: bool) -> (TestApp, TempPath) {
    let file = TempPath::new("tourgate-communities", "toml");
    let text = COMMUNITIES.replacen(
        "units = [\"101\", \"102\", \"2B\"]",
        r##"units = ["101", "102", "2B"]
code_shown_before_minutes = 1440
code_valid_before_minutes = 1440
brand_color = "#8a2c0d"
office_phone = "(206) 555-0100"
office_email = "leasing@maple.example"
apply_url = "https://maple.example/apply"
logo = { file = "static/brand/maple-logo.svg", width = 200, height = 56, alt = "Maple Court Apartments" }
hero = { file = "static/brand/maple-hero.svg", width = 960, height = 540, alt = "The brick front of Maple Court" }
[community.kit]
entrance = "The glass door on Maple St; the keypad is to its right."
parking = "Visitor spaces V1 to V4."
bring = "A photo ID."
accessibility = "Step-free entrance with an automatic door.""##,
        1,
    );
    let text = match around_the_clock {
        true => text.replacen(
            "automatic door.\"",
            "automatic door.\"\n[community.sandbox]\nopens = \"00:00:00\"\ncloses = \"23:59:00\"\nmin_notice_minutes = 15",
            1,
        ),
        false => text,
    };
    std::fs::write(&file.0, text).expect("write the communities file");
    let path = file.0.display().to_string();
    let app = spawn_app_with(Backend::Sqlite, &[("TOURGATE_COMMUNITIES", &path)]).await;
    (app, file)
}

/// `css`'s box in the viewport: left, top, right, bottom.
async fn rect(b: &Browser, css: &str) -> [f64; 4] {
    let v = b
        .js_with(
            "const e = document.querySelector(arguments[0]);
             if (!e) return null;
             const r = e.getBoundingClientRect();
             return [r.left, r.top, r.right, r.bottom];",
            vec![json!(css)],
        )
        .await;
    let Value::Array(v) = v else {
        panic!("no element matches {css:?}")
    };
    let n: Vec<f64> = v.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect();
    [n[0], n[1], n[2], n[3]]
}

/// On a wide screen `aside` sits left of `main_pane`, the two side by side; on a phone one is
/// above the other in one column.
async fn assert_layout(b: &Browser, aside: &str, main_pane: &str, wide: bool, what: &str) {
    let (a, m) = (rect(b, aside).await, rect(b, main_pane).await);
    if wide {
        assert!(
            a[2] <= m[0],
            "{what}: {aside} {a:?} is left of {main_pane} {m:?}"
        );
        assert!(
            a[1] < m[3] && m[1] < a[3],
            "{what}: {aside} {a:?} and {main_pane} {m:?} are side by side"
        );
    } else {
        assert!(
            a[3] <= m[1],
            "{what}: {aside} {a:?} is above {main_pane} {m:?} in one column"
        );
        assert!(
            m[0] < a[2] && a[0] < m[2],
            "{what}: one column, not side by side ({a:?}, {m:?})"
        );
    }
}

/// The office's number is on screen, as a `tel:` link, wherever the page is scrolled.
async fn assert_help_in_view(b: &Browser, what: &str) {
    let link = "[data-help-call] a[href='tel:+12065550100']";
    b.find(link).await;
    let (_, height) = b.viewport().await;
    for scroll in [
        "window.scrollTo(0, 0)",
        "window.scrollTo(0, document.documentElement.scrollHeight)",
    ] {
        b.js(scroll).await;
        let r = rect(b, link).await;
        assert!(
            r[1] >= 0.0 && r[3] <= f64::from(height),
            "{what}: the help number {r:?} is within the {height} px screen after {scroll}"
        );
    }
    b.js("window.scrollTo(0, 0)").await;
}

async fn branded_walk(width: u32, height: u32, shot: &str) {
    let (app, _file) = branded_app(true).await;
    let b = Browser::start(width, height).await;
    let wide = width >= 900;
    let mut axe = AxeReport::default();

    b.goto(&pages::doorway_link(&app)).await;
    b.find("img.brand-logo[alt='Maple Court Apartments']").await;
    assert_eq!(
        b.js("return document.querySelector('img.brand-logo').naturalWidth > 0")
            .await,
        Value::Bool(true),
        "the logo loads"
    );
    let accent = b
        .js("return getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")
        .await;
    assert_eq!(accent.as_str(), Some("#8a2c0d"), "the brand colour is set");
    // The contacts sit beside the form: late in the community's day the open day (today) has
    // few times left, and the picker alone is shorter than the name above the contacts.
    assert_layout(
        &b,
        "[data-community-facts]",
        "form.booking-form",
        wide,
        "the landing page",
    )
    .await;
    assert_layout(
        &b,
        "header.community",
        "fieldset.slots",
        wide,
        "the landing page",
    )
    .await;
    pages::assert_no_horizontal_scroll(&b, "the branded landing page").await;
    assert!(b
        .text("footer")
        .await
        .contains("Your tour is with Maple Court Apartments"));
    axe.check(&b, "the branded landing page").await;
    b.screenshot(&format!("{shot}-brand-landing")).await;

    // The earliest time: already in its window (codes work a day ahead here).
    let (_, id) = pages::book_slot_by_pointer(&b, &app, 0, 0, &format!("{shot}-brand")).await;
    let kit = b.text("[data-tour-kit]").await;
    assert!(
        kit.contains("The glass door on Maple St; the keypad is to its right."),
        "{kit}"
    );
    assert!(kit.contains("Visitor spaces V1 to V4."), "{kit}");
    assert!(b
        .find("[data-tour-kit] a[data-directions]")
        .await
        .attr("href")
        .await
        .ok()
        .flatten()
        .is_some_and(|h| h.starts_with("https://www.google.com/maps/dir/?api=1&destination=")));
    assert_help_in_view(&b, "the booking page in the tour's window").await;
    assert_layout(
        &b,
        "[data-community-facts]",
        ".booking",
        wide,
        "the booking page",
    )
    .await;
    pages::assert_no_horizontal_scroll(&b, "the branded booking page").await;
    axe.check(&b, "the booking page in the tour's window").await;
    b.screenshot(&format!("{shot}-brand-in-window")).await;

    // The door opened: under way, the number still in view.
    set_state(&app.app_store, &id, "in_progress").await;
    let page = b.client.current_url().await.expect("a URL").to_string();
    b.goto(&page).await;
    pages::assert_booking_state(&b, "in_progress").await;
    assert_help_in_view(&b, "the booking page, tour under way").await;
    b.find("[data-tour-kit]").await;
    axe.check(&b, "the branded booking page, tour under way")
        .await;
    b.screenshot(&format!("{shot}-brand-under-way")).await;
    // As a renter does: scrolls the button up from under the help bar, then taps it.
    let done = "form[action$='/done'] button[type=submit]";
    b.js_with(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})",
        vec![json!(done)],
    )
    .await;
    b.tap(done).await;

    // Finished: the next step and one question.
    pages::assert_booking_state(&b, "completed").await;
    assert!(
        b.find_all("[data-help-call]").await.is_empty(),
        "over: no help bar"
    );
    assert!(
        b.find_all("[data-tour-kit]").await.is_empty(),
        "over: no kit"
    );
    assert_eq!(
        b.find("[data-next-step] a[data-apply]")
            .await
            .attr("href")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("https://maple.example/apply")
    );
    b.find("[data-next-step] a[href='tel:+12065550100']").await;
    b.find("[data-next-step] a[href='mailto:leasing@maple.example']")
        .await;
    pages::assert_no_horizontal_scroll(&b, "the finished-tour page").await;
    axe.check(&b, "the finished-tour page, asking how it was")
        .await;
    b.screenshot(&format!("{shot}-brand-finished")).await;
    b.tap("[data-feedback-form] label:has(input[value=great])")
        .await;
    let comment = b.find("#feedback-comment").await;
    comment
        .send_keys("Bright rooms")
        .await
        .expect("type a comment");
    b.tap("[data-feedback-form] button[type=submit]").await;
    b.wait_for("[data-feedback=great]").await;
    assert!(
        b.find_all("[data-feedback-form]").await.is_empty(),
        "asked once"
    );
    let stored = app
        .bookings
        .feedback(&tourgate::booking::BookingId::parse(&id).unwrap())
        .await
        .unwrap()
        .expect("the answer is stored");
    assert_eq!(stored.comment.as_deref(), Some("Bright rooms"));
    axe.check(&b, "the finished-tour page, answered").await;
    b.screenshot(&format!("{shot}-brand-answered")).await;
    b.close().await;
    axe.assert_clean();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_1280_px_the_community_sits_beside_the_picker_and_the_kit_help_and_next_step_show() {
    branded_walk(1280, 900, "desktop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_360_px_a_branded_community_is_one_column_with_the_kit_help_and_next_step() {
    branded_walk(360, 740, "phone-360").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn branded_pages_with_their_stylesheets_weigh_under_50_kb_without_images() {
    let (app, _file) = branded_app(false).await;
    let c = client();
    let get = |path: String| {
        let c = c.clone();
        let url = app.url(&path);
        async move {
            let r = c.get(&url).send().await.expect("the page answers");
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.text().await.expect("a body")
        }
    };
    let css = get("/static/style.css".into()).await.len()
        + get("/brand/maple-court/style.css".into()).await.len();
    let booking = app.book(&c, "/tours/maple-court", None).await;
    for (name, path) in [
        ("the landing page", "/tours/maple-court".to_string()),
        ("the booking page", booking),
    ] {
        let html = get(path).await;
        assert!(html.contains("data-community-facts"), "{name} is branded");
        let total = html.len() + css;
        assert!(total < 50 * 1024, "{name}: {total} B with its stylesheets");
    }
}
