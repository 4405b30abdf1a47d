//! The renter's walk, step by step, shared by the viewport tests.
use fantoccini::key::Key;
use serde_json::json;

use crate::browser::{Browser, PAGE_DEADLINE};
use crate::helpers::TestApp;

/// What Doorway appends to the "Self-Guided Tour" link.
pub const DOORWAY_SOURCE: &str = "Doorway · Self Tour & Co";

pub fn doorway_link(app: &TestApp) -> String {
    doorway_link_of(app, "maple-court")
}

/// The Doorway link of community `slug`.
pub fn doorway_link_of(app: &TestApp, slug: &str) -> String {
    let q = serde_urlencoded::to_string([("utm_knock_source_title", DOORWAY_SOURCE)])
        .expect("a query string");
    app.url(&format!("/tours/{slug}?{q}"))
}

/// A slot as the page offers it.
#[derive(Debug, Clone)]
pub struct OfferedSlot {
    pub value: String,
    pub label: String,
    pub day: String,
}

/// The `n`th slot of the `day`th day on the landing page, with its day heading.
pub async fn offered_slot(b: &Browser, day: usize, n: usize) -> OfferedSlot {
    let v = b
        .js_with(
            "const day = document.querySelectorAll('.day')[arguments[0]];
             const i = day && day.querySelectorAll('input[name=start]')[arguments[1]];
             if (!i) return null;
             return { value: i.value, label: i.closest('label').textContent.trim(),
                      day: day.querySelector('.day-heading').textContent.trim() };",
            vec![json!(day), json!(n)],
        )
        .await;
    assert!(
        !v.is_null(),
        "the landing page offers a slot #{} on day #{}",
        n + 1,
        day + 1
    );
    OfferedSlot {
        value: v["value"].as_str().unwrap_or_default().to_string(),
        label: v["label"].as_str().unwrap_or_default().to_string(),
        day: v["day"].as_str().unwrap_or_default().to_string(),
    }
}

pub async fn checked_slot(b: &Browser) -> Option<String> {
    b.js("const i = document.querySelector('input[name=start]:checked'); return i ? i.value : null")
        .await
        .as_str()
        .map(str::to_string)
}

/// The renter's details, typed into the fields by pointer.
pub async fn fill_details(b: &Browser, email: &str) {
    for (id, value) in [
        ("first_name", "Grace"),
        ("last_name", "Hopper"),
        ("email", email),
        ("phone", "(206) 555-0155"),
    ] {
        let field = b.find(&format!("#{id}")).await;
        field.clear().await.expect("clear a field");
        field
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
    }
}

/// The times shown, by their values: only the chosen day's.
async fn visible_slots(b: &Browser) -> Vec<String> {
    let v = b
        .js("return [...document.querySelectorAll('input[name=start]')]
                 .filter(i => i.checkVisibility()).map(i => i.value)")
        .await;
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// Taps the `day`th day in the day picker and checks that only its times show.
pub async fn show_day(b: &Browser, day: usize) {
    let tabs = b.find_all(".day-tab").await;
    assert!(tabs.len() > day, "the day picker offers day #{}", day + 1);
    tabs[day].click().await.expect("tap a day");
    assert_only_day_shows(b, day).await;
}

async fn assert_only_day_shows(b: &Browser, day: usize) {
    let expected = b
        .js_with(
            "return [...document.querySelectorAll('.day')[arguments[0]]
                 .querySelectorAll('input[name=start]')].map(i => i.value)",
            vec![json!(day)],
        )
        .await;
    let expected: Vec<String> = expected
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    assert!(!expected.is_empty(), "day #{} offers times", day + 1);
    assert_eq!(
        visible_slots(b).await,
        expected,
        "day #{} is chosen: its times show and no others",
        day + 1
    );
}

/// Books by pointer: taps the second day, then a time's label, fills the form, taps the
/// button. Returns the slot chosen and the booking page's data-booking-id.
pub async fn book_by_pointer(b: &Browser, app: &TestApp, shot: &str) -> (OfferedSlot, String) {
    book_slot_by_pointer(b, app, 1, 1, shot).await
}

/// Books the `n`th time of the `day`th day by pointer, as [`book_by_pointer`] does.
pub async fn book_slot_by_pointer(
    b: &Browser,
    app: &TestApp,
    day: usize,
    n: usize,
    shot: &str,
) -> (OfferedSlot, String) {
    book_slot_at_by_pointer(b, app, "maple-court", day, n, shot).await
}

/// [`book_slot_by_pointer`] at community `slug`.
pub async fn book_slot_at_by_pointer(
    b: &Browser,
    app: &TestApp,
    slug: &str,
    day: usize,
    n: usize,
    shot: &str,
) -> (OfferedSlot, String) {
    b.goto(&doorway_link_of(app, slug)).await;
    b.screenshot(&format!("{shot}-landing")).await;
    show_day(b, day).await;
    let slot = offered_slot(b, day, n).await;
    b.find(&format!(
        ".slot-grid label:has(input[value='{}'])",
        slot.value
    ))
    .await
    .click()
    .await
    .expect("tap the slot's label");
    assert_eq!(
        checked_slot(b).await.as_deref(),
        Some(slot.value.as_str()),
        "tapping the label selects its slot"
    );
    fill_details(b, "grace@example.com").await;
    b.find("form.booking-form button[type=submit]")
        .await
        .click()
        .await
        .expect("tap Book my tour");
    let id = booking_page_shows(b, &slot).await;
    b.screenshot(&format!("{shot}-booking")).await;
    (slot, id)
}

/// The booking page is showing, confirmed, for `slot`; returns its data-booking-id.
pub async fn booking_page_shows(b: &Browser, slot: &OfferedSlot) -> String {
    // `.booking`: the reschedule form carries the id too, and may still be showing.
    let card = b.wait_for(".booking[data-booking-id]").await;
    let id = card
        .attr("data-booking-id")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(!id.is_empty(), "the booking page carries its booking id");
    let url = b.client.current_url().await.expect("the current URL");
    assert!(
        url.path().starts_with("/bookings/"),
        "landed on the booking page, not {url}"
    );
    assert_eq!(
        card.attr("data-state").await.ok().flatten().as_deref(),
        Some("confirmed")
    );
    let when = b.text(".booking h2").await;
    assert!(
        when.contains(&slot.day) && when.contains(&slot.label),
        "the booking page shows the chosen time ({} at {}), not {when:?}",
        slot.day,
        slot.label
    );
    id
}

/// Waits for the booking card (renter's or staff's page) to show `state`; on time-out says
/// which state it shows instead.
pub async fn assert_booking_state(b: &Browser, state: &str) {
    let css = format!(".booking[data-booking-id][data-state={state}]");
    let found = b
        .client
        .wait()
        .at_most(PAGE_DEADLINE)
        .for_element(fantoccini::Locator::Css(&css))
        .await;
    if found.is_err() {
        let shown = b
            .js(
                "const c = document.querySelector('.booking[data-booking-id]');
                 return c ? c.dataset.state : 'no booking card'",
            )
            .await;
        panic!("the booking page should show the tour {state}, but shows {shown}");
    }
}

/// Books with the keyboard alone: Tab to the slots, arrows and space to choose, Tab through the
/// fields typing, Enter to submit. Returns the slot chosen and the booking id.
pub async fn book_by_keyboard(b: &Browser, app: &TestApp) -> (OfferedSlot, String) {
    b.goto(&doorway_link(app)).await;

    // The skip link comes first, then the community's contact links, then the day picker.
    let contacts = b.find_all("[data-community-facts] a").await.len();
    let mut presses = 0;
    while !b.focused().await.ends_with("[name=day]") {
        presses += 1;
        assert!(
            presses <= 2 + contacts,
            "Tab should reach the day picker within {} presses; focus is on {}",
            2 + contacts,
            b.focused().await
        );
        b.press(&[Key::Tab.into()]).await;
    }
    assert_focus_is_visible(b).await;
    // An arrow key moves to the next day (tomorrow always has a full day of times).
    b.press(&[Key::Right.into()]).await;
    let day = 1;
    assert_only_day_shows(b, day).await;
    let first = offered_slot(b, day, 0).await;
    let second = offered_slot(b, day, 1).await;

    b.press(&[Key::Tab.into()]).await;
    assert_eq!(
        b.focused().await,
        "input[name=start]",
        "Tab goes from the day picker to the day's first time"
    );
    assert_focus_is_visible(b).await;
    b.press(&[Key::Space.into()]).await;
    assert_eq!(checked_slot(b).await, Some(first.value.clone()));
    b.press(&[Key::Right.into()]).await;
    assert_eq!(
        checked_slot(b).await,
        Some(second.value.clone()),
        "an arrow key moves the choice to the next time"
    );

    for (id, value) in [
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("email", "ada@example.com"),
        ("phone", "(206) 555-0199"),
    ] {
        b.press(&[Key::Tab.into()]).await;
        assert_eq!(b.focused().await, format!("input#{id}[name={id}]"));
        b.type_text(value).await;
    }
    b.press(&[Key::Enter.into()]).await;
    let id = booking_page_shows(b, &second).await;
    (second, id)
}

/// The focused element draws a visible outline, at 3:1 or more against what it is drawn on
/// (WCAG 2.2 non-text contrast; axe does not check focus rings). A radio drawn as its label (the
/// picker's day tabs and time chips hide their circles) shows the ring on that label.
pub async fn assert_focus_is_visible(b: &Browser) {
    let v = b
        .js("const f = document.activeElement;
             const hidden = f.type === 'radio' && getComputedStyle(f).opacity === '0';
             const e = hidden && f.closest('label') ? f.closest('label') : f, s = getComputedStyle(e);
             let p = e.parentElement, bg = 'rgb(255, 255, 255)';
             for (; p; p = p.parentElement) {
               const c = getComputedStyle(p).backgroundColor;
               if (c !== 'transparent' && !c.endsWith(', 0)')) { bg = c; break; }
             }
             return [s.outlineStyle, s.outlineWidth, s.outlineColor, bg];")
        .await;
    let ratio = contrast(
        v[2].as_str().unwrap_or_default(),
        v[3].as_str().unwrap_or_default(),
    );
    assert!(
        ratio >= 3.0,
        "the focus ring on {} contrasts {ratio:.2}:1 with its background, under 3:1: {v}",
        b.focused().await
    );
    let style = v[0].as_str().unwrap_or("none");
    let width: f64 = v[1]
        .as_str()
        .unwrap_or("0px")
        .trim_end_matches("px")
        .parse()
        .unwrap_or(0.0);
    assert!(
        style != "none" && width >= 2.0,
        "focus must be visible on {}: outline {v}",
        b.focused().await
    );
}

/// Submits with a bad e-mail and checks that the error is announced and tied to its field.
pub async fn errors_are_announced(b: &Browser, app: &TestApp) {
    b.goto(&doorway_link(app)).await;
    let slot = offered_slot(b, 0, 0).await;
    b.find(&format!(
        ".slot-grid label:has(input[value='{}'])",
        slot.value
    ))
    .await
    .click()
    .await
    .expect("tap the slot's label");
    fill_details(b, "grace@").await;
    b.find("form.booking-form button[type=submit]")
        .await
        .click()
        .await
        .expect("tap Book my tour");
    let summary = b.wait_for("#error-summary").await;
    assert_eq!(
        summary.attr("role").await.ok().flatten().as_deref(),
        Some("alert"),
        "the error summary is announced"
    );
    let email = b.find("#email").await;
    assert_eq!(
        email.attr("aria-invalid").await.ok().flatten().as_deref(),
        Some("true")
    );
    let described_by = email
        .attr("aria-describedby")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    assert!(
        !described_by.is_empty(),
        "the e-mail field points at its message"
    );
    let mut message = String::new();
    for id in described_by.split_whitespace() {
        message.push_str(&b.text(&format!("#{id}")).await);
    }
    assert!(
        message.to_lowercase().contains("e-mail"),
        "the field's description is its error message, not {message:?}"
    );
    assert!(
        b.text("#error-summary").await.contains(message.trim()),
        "the summary repeats the field's message"
    );
    assert_eq!(
        checked_slot(b).await,
        Some(slot.value),
        "the chosen time is kept"
    );
    assert_eq!(
        b.find("#first_name")
            .await
            .prop("value")
            .await
            .ok()
            .flatten()
            .as_deref(),
        Some("Grace"),
        "what was typed is kept"
    );
}

/// The page fits the viewport: nothing to scroll sideways.
pub async fn assert_no_horizontal_scroll(b: &Browser, what: &str) {
    let v = b
        .js("const d = document.documentElement;
             return [d.scrollWidth, Math.min(d.clientWidth, screen.width)]")
        .await;
    let (scroll, client) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
    assert!(
        client > 0 && scroll <= client,
        "{what} scrolls sideways at {} px: scrollWidth {scroll} > clientWidth {client}",
        b.viewport().await.0
    );
}

pub async fn assert_no_script(b: &Browser, what: &str) {
    let n = b.js("return document.scripts.length").await;
    assert_eq!(n.as_u64(), Some(0), "{what} carries no <script>");
}

/// WCAG contrast ratio of two computed `rgb(...)`/`rgba(...)` colours (alpha ignored).
fn contrast(a: &str, b: &str) -> f64 {
    fn luminance(css: &str) -> f64 {
        let channels: Vec<f64> = css
            .trim_start_matches("rgba(")
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .take(3)
            .map(|c| c.trim().parse::<f64>().unwrap_or(0.0) / 255.0)
            .map(|c| {
                if c <= 0.04045 {
                    c / 12.92
                } else {
                    ((c + 0.055) / 1.055).powf(2.4)
                }
            })
            .collect();
        assert_eq!(channels.len(), 3, "a computed colour, not {css:?}");
        0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    }
    let (x, y) = (luminance(a), luminance(b));
    (x.max(y) + 0.05) / (x.min(y) + 0.05)
}

/// On the booking page: the renter opens the link we e-mailed them, from the demo mailbox (the
/// outbox worker writes the confirmation within a second), and is back on the booking page,
/// its address clean, this browser now holding the proof of e-mail.
pub async fn open_mailed_link(b: &Browser, app: &TestApp) {
    let page = b.client.current_url().await.expect("the current URL");
    let path = page.path().to_string();
    assert!(
        path.starts_with("/bookings/"),
        "on a booking page, not {page}"
    );
    let link = format!("[data-mail-link][href*='{path}?proof=']");
    b.reload_until(
        &app.url("/sandbox/mail"),
        &format!("return document.querySelector(\"{link}\") !== null"),
        "the mail with the booking link",
    )
    .await;
    b.tap(&link).await;
    b.wait_for(".booking[data-booking-id]").await;
    let url = b.client.current_url().await.expect("the current URL");
    assert_eq!(url.path(), path, "back on the booking page");
    assert_eq!(
        url.query(),
        None,
        "the proof is not left in the address bar"
    );
}
