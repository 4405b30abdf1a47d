//! The demo's Seam-backed community (Cedar Lofts, on the in-process Seam emulator's "Front
//! Door"), on a phone, as `tourgate serve` runs it with its workers: the booking page says the
//! code is being set while the lock does not have it, then shows it once the emulator has set
//! it and told us with its signed webhook; the demo lock page, the emulator's keypad, opens
//! the door with it; the booking page shows the arrival; "I have finished my tour"; and the
//! Knock sandbox's own view shows exactly one visit, at the arrival. axe on each new state.
//! The emulator's clock is pinned behind real time (see below); it otherwise runs as the demo
//! runs it.
use chrono::{DateTime, SecondsFormat, Utc};
use seam_sandbox::seeds;

use crate::axe::AxeReport;
use crate::browser::Browser;
use crate::helpers::{spawn_served, Backend};
use crate::pages;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_a_seam_code_is_set_opens_the_emulators_lock_and_knock_gets_one_visit_at_the_arrival(
) {
    let app = spawn_served(Backend::Sqlite, &[("TOURGATE_WORKERS", "on")], None).await;
    let (seam, _) = app
        .seam
        .clone()
        .expect("the demo runs the Seam emulator in the process");
    let slug = tourgate::demo::SEAM_COMMUNITY;
    let b = Browser::start(390, 844).await;
    let mut axe = AxeReport::default();

    // Tourgate keeps a visit's time at least a minute behind its clock (Knock refuses one in
    // its future), so a walk this quick would send Knock the click's time less a minute, not
    // the arrival. The emulator's clock is pinned ten minutes back instead: the lock's
    // entry is then that long ago; its webhooks still verify, since they are signed with the
    // wall clock at sending, as Svix signs them (outside our five minutes they would not).
    seam.set_now(Utc::now() - chrono::Duration::minutes(10));
    // The Front Door is offline for a moment, so that the page's "being set" is seen for
    // sure (online, the emulator sets the code at its next tick after the create).
    seam.set_device_offline(seeds::FRONT_DOOR, true)
        .expect("the seeded Front Door");
    let (_, id) = pages::book_slot_at_by_pointer(&b, &app, slug, 1, 1, "phone-seam").await;
    b.wait_for("[data-code-needs-proof]").await;
    pages::open_mailed_link(&b, &app).await;
    let booking_page = b.client.current_url().await.expect("a URL").to_string();
    let name = format!("Tour {id}");
    b.reload_until(
        &booking_page,
        "return document.querySelector('[data-code-waits=setting]') !== null",
        "the booking page saying the code is being set",
    )
    .await;
    assert!(
        b.find_all("[data-access-code]").await.is_empty(),
        "no code before the lock has it"
    );
    assert!(
        seam.access_codes(seeds::FRONT_DOOR)
            .iter()
            .any(|c| c.name.as_deref() == Some(name.as_str())),
        "the adapter asked the emulator for the booking's code"
    );
    b.screenshot("phone-seam-code-being-set").await;
    axe.check(&b, "the booking page, the code being set on the Seam lock")
        .await;

    // Back online: the emulator sets the code and says so; the page shows it then.
    seam.set_device_offline(seeds::FRONT_DOOR, false)
        .expect("the seeded Front Door");
    b.reload_until(
        &booking_page,
        "return document.querySelector('[data-access-code]') !== null",
        "the door code once the Seam lock has it",
    )
    .await;
    let code = b
        .find("[data-access-code]")
        .await
        .attr("data-access-code")
        .await
        .ok()
        .flatten()
        .expect("the code");
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "{code:?}"
    );
    assert!(b.find_all("[data-code-waits]").await.is_empty());
    axe.check(&b, "the booking page with the Seam lock's code")
        .await;

    // The demo lock page is the emulator's keypad and shows what the lock holds, masked.
    b.goto(&app.url(&format!("/sandbox/lock/{slug}"))).await;
    b.wait_for("[data-seam-keypad]").await;
    let holds = b.text("[data-lock-holds]").await;
    assert!(holds.contains(&name), "{holds}");
    assert!(!holds.contains(&code), "the PIN is masked: {holds}");
    pages::assert_no_horizontal_scroll(&b, "the Seam lock").await;
    axe.check(&b, "the Seam lock's keypad").await;
    let field = b.find("#code").await;
    field.send_keys(&code).await.expect("type the code");
    b.tap("form[action$='/open'] button[type=submit]").await;
    b.wait_for("[data-seam-entry=unlocked]").await;
    assert!(
        b.find_all("form[action$='/finish']").await.is_empty(),
        "no Finish tour on a Seam lock"
    );
    assert!(b.find_all("[data-just-used]").await.len() == 1);
    let reported = b.text("[data-seam-reported]").await;
    assert!(reported.contains("reported it to Tourgate"), "{reported}");
    b.screenshot("phone-seam-lock-open").await;
    axe.check(&b, "the Seam lock, door open").await;

    // The arrival came through the emulator's webhook and the real adapter.
    b.goto(&booking_page).await;
    pages::assert_booking_state(&b, "in_progress").await;
    let arrived = b
        .find("[data-arrived]")
        .await
        .attr("data-arrived")
        .await
        .ok()
        .flatten()
        .expect("the arrival's instant");
    let arrived: DateTime<Utc> = arrived.parse().expect("an RFC 3339 instant");
    let unlocked: Vec<_> = seam
        .events()
        .into_iter()
        .filter(|e| e.event_type == "lock.unlocked")
        .collect();
    assert_eq!(unlocked.len(), 1, "one entry on the lock");
    assert_eq!(
        arrived.timestamp_millis(),
        unlocked[0].occurred_at.timestamp_millis(),
        "the arrival is the lock's"
    );
    b.screenshot("phone-seam-under-way").await;
    axe.check(&b, "the booking page, Seam tour under way").await;
    // The office's number is fixed to the bottom of a phone's screen during the tour: what
    // is tapped is scrolled above it first, as a thumb would.
    tap_in_view(
        &b,
        "form[action$='/done'] label:has(input[name=unit][value='2C'])",
    )
    .await;
    tap_in_view(&b, "form[action$='/done'] button[type=submit]").await;
    pages::assert_booking_state(&b, "completed").await;

    // Knock's own view: exactly one visit, its time the arrival.
    let at = arrived.to_rfc3339_opts(SecondsFormat::Secs, true);
    let one_visit_at_arrival = format!(
        "const rows = [...document.querySelectorAll('#visits tr')].filter(r => r.querySelector('td'));
         return rows.length === 1 && rows[0].cells[3].textContent.trim() === {at:?}
             && rows[0].cells[4].textContent.includes('2C')"
    );
    b.reload_until(
        &format!("{}/_sandbox", app.sandbox_url),
        &one_visit_at_arrival,
        "one visit in Knock at the arrival, unit 2C",
    )
    .await;
    b.screenshot("phone-seam-sandbox-visit").await;
    let visits = app.sandbox.snapshot().visits;
    assert_eq!(visits.len(), 1, "one tour, one visit");
    assert_eq!(
        visits[0].visit_time.timestamp_millis(),
        arrived.timestamp_millis()
    );
    b.close().await;
    axe.assert_clean();
}

/// Scrolls `css` to the middle of the screen, then taps it.
async fn tap_in_view(b: &Browser, css: &str) {
    b.js_with(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'}); return null",
        vec![serde_json::json!(css)],
    )
    .await;
    b.tap(css).await;
}
