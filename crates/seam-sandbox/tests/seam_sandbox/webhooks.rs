//! Webhook delivery: Svix-style signatures, retries, and the delivery knobs (§4.4 item 9).
use std::time::Duration;

use base64::Engine;
use chrono::DurationRound;
use reqwest::StatusCode;
use seam_sandbox::{seeds, DeliveryState, SeamSandboxConfig};
use serde_json::json;

use crate::helpers::{at, start, start_with, Received, Receiver, NOW};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An independent check of the signature: HMAC-SHA256 over "{id}.{ts}.{body}" with the
/// secret's base64-decoded bytes, compared with each `v1,` entry.
fn signature_verifies(received: &Received, secret: &str) -> bool {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("base64 secret");
    let signed = format!(
        "{}.{}.{}",
        received.header("svix-id"),
        received.header("svix-timestamp"),
        received.body
    );
    let expected = base64::engine::general_purpose::STANDARD
        .encode(hmac_sha256::HMAC::mac(signed.as_bytes(), &key));
    received
        .header("svix-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == expected)
}

async fn one_event(seam: &crate::helpers::Seam) {
    seam.post(
        "/devices/simulate/disconnect",
        json!({ "device_id": seeds::BACK_DOOR }),
    )
    .await
    .ok();
}

#[tokio::test]
async fn each_event_is_posted_bare_and_signed_svix_style() {
    let receiver = Receiver::start();
    let seam = start();
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");
    seam.create_code(json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821",
        "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    seam.advance(Duration::from_secs(1)); // scheduled on the lock
    seam.set_now(at("2026-06-01T13:05:00Z")); // set
    seam.keypad_entry(seeds::FRONT_DOOR, "4821").expect("lock");
    assert!(receiver.got().is_empty(), "nothing is sent before tick()");
    let report = seam.tick().await;
    assert_eq!(report.attempted, 4);
    assert_eq!(report.delivered, 4);
    assert_eq!(
        receiver.types(),
        [
            "access_code.created",
            "access_code.scheduled_on_device",
            "access_code.set_on_device",
            "lock.unlocked",
        ]
    );
    for r in receiver.got() {
        assert!(signature_verifies(&r, SECRET), "signature of {}", r.body);
        assert!(!signature_verifies(
            &r,
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        ));
        assert!(r.header("svix-id").starts_with("msg_"));
        // Stamped when sent (the wall clock), not at the pinned 2026-06-01 of the lifecycle.
        assert_signed_now(&r);
        assert_eq!(r.header("content-type"), "application/json");
        // The bare event object, as /events/list has it.
        let body = r.json();
        assert!(body["event_id"].is_string());
        assert_eq!(body["workspace_id"], seeds::WORKSPACE);
        assert!(body.get("data").is_none());
    }
    let unlocked = receiver.got()[3].json();
    assert_eq!(unlocked["method"], "keycode");
    assert!(unlocked["access_code_id"].is_string());
    // Nothing due: a second tick sends nothing.
    assert_eq!(seam.tick().await.attempted, 0);
}

/// `svix-timestamp` is the wall clock at sending, give or take the test's own run time.
fn assert_signed_now(r: &Received) {
    let stamped: i64 = r.header("svix-timestamp").parse().expect("seconds");
    let wall = chrono::Utc::now().timestamp();
    assert!(
        (wall - 30..=wall).contains(&stamped),
        "svix-timestamp {stamped} is not the moment of sending (wall clock {wall})"
    );
}

#[tokio::test]
async fn a_pinned_clock_drives_the_retries_but_each_attempt_is_signed_at_the_moment_it_is_sent() {
    let receiver = Receiver::start();
    receiver.answer_with(&[500, 500]);
    // The emulator's clock a day behind real time: a receiver that checks the timestamp
    // against its own clock (Svix's five minutes) would refuse a delivery stamped with it.
    let pinned = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .duration_trunc(chrono::TimeDelta::seconds(1))
        .expect("a whole second");
    let seam = start_with(SeamSandboxConfig::pinned_at(pinned));
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");
    one_event(&seam).await;
    assert_eq!(seam.tick().await.delivered, 0, "the first attempt fails");
    assert_eq!(
        seam.tick().await.delivered,
        0,
        "Svix's immediate retry fails"
    );
    // The next retry is 5 s later on the emulator's clock, which stands still.
    assert_eq!(seam.tick().await.attempted, 0);
    seam.advance(Duration::from_secs(5));
    assert_eq!(seam.tick().await.delivered, 1);
    let attempts: Vec<_> = seam.deliveries()[0].attempts.iter().map(|a| a.at).collect();
    assert_eq!(
        attempts,
        [pinned, pinned, pinned + chrono::TimeDelta::seconds(5)],
        "attempts are recorded on the emulator's clock"
    );
    let got = receiver.got();
    assert_eq!(got.len(), 3);
    for r in &got {
        assert!(signature_verifies(r, SECRET), "signature of {}", r.body);
        assert_signed_now(r);
    }
    // The standard webhooks verifier (five minutes of tolerance) accepts it.
    let mut headers = http::HeaderMap::new();
    for (from, to) in [
        ("svix-id", "webhook-id"),
        ("svix-timestamp", "webhook-timestamp"),
        ("svix-signature", "webhook-signature"),
    ] {
        headers.insert(to, got[2].header(from).parse().expect("header value"));
    }
    standardwebhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(got[2].body.as_bytes(), &headers)
        .expect("a delivery from a pinned emulator verifies on the receiver's clock");
}

#[tokio::test]
async fn the_standard_webhooks_crate_verifies_a_delivery_on_the_real_clock() {
    let receiver = Receiver::start();
    let seam = start_with(SeamSandboxConfig::pinned_at(chrono::Utc::now()));
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");
    one_event(&seam).await;
    seam.tick().await;
    let got = receiver.got();
    assert_eq!(got.len(), 1);
    // Standard Webhooks names the same headers webhook-*.
    let mut headers = http::HeaderMap::new();
    for (from, to) in [
        ("svix-id", "webhook-id"),
        ("svix-timestamp", "webhook-timestamp"),
        ("svix-signature", "webhook-signature"),
    ] {
        headers.insert(to, got[0].header(from).parse().expect("header value"));
    }
    let verifier = standardwebhooks::Webhook::new(SECRET).expect("secret");
    verifier
        .verify(got[0].body.as_bytes(), &headers)
        .expect("the emulator's signature verifies");
    assert!(verifier.verify(b"{\"tampered\":true}", &headers).is_err());
}

#[tokio::test]
async fn a_failed_delivery_is_retried_on_svixs_schedule_with_the_same_id() {
    let receiver = Receiver::start();
    receiver.answer_with(&[500, 503, 500]);
    let seam = start();
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");
    one_event(&seam).await;
    assert_eq!(seam.tick().await.delivered, 0);
    // "Immediately": the next tick.
    assert_eq!(seam.tick().await.delivered, 0);
    // Then 5 s.
    seam.advance(Duration::from_secs(4));
    assert_eq!(seam.tick().await.attempted, 0);
    seam.advance(Duration::from_secs(1));
    assert_eq!(seam.tick().await.delivered, 0);
    // Then 5 min.
    seam.advance(Duration::from_secs(5 * 60));
    assert_eq!(seam.tick().await.delivered, 1);
    let got = receiver.got();
    assert_eq!(got.len(), 4);
    assert!(got
        .iter()
        .all(|r| r.header("svix-id") == got[0].header("svix-id")));
    assert!(got.iter().all(|r| signature_verifies(r, SECRET)));
    let delivery = &seam.deliveries()[0];
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(delivery.attempts.len(), 4);
    assert_eq!(delivery.attempts[0].status, Some(500));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retried_then_given_up() {
    let seam = start();
    // Nothing listens on port 9 of loopback.
    seam.set_webhook("http://127.0.0.1:9/callbacks/seam", SECRET)
        .expect("valid secret");
    one_event(&seam).await;
    for _ in 0..12 {
        seam.tick().await;
        seam.advance(Duration::from_secs(11 * 3600));
    }
    let delivery = &seam.deliveries()[0];
    assert_eq!(delivery.state, DeliveryState::GaveUp);
    assert_eq!(
        delivery.attempts.len(),
        9,
        "the first try and eight retries"
    );
    assert!(delivery.attempts.iter().all(|a| a.error.is_some()));
}

#[tokio::test]
async fn drop_duplicate_delay_and_reorder_knobs_bend_the_deliveries() {
    let receiver = Receiver::start();
    let seam = start();
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");

    seam.drop_next_deliveries(1);
    one_event(&seam).await; // disconnected: dropped
    seam.duplicate_next_deliveries(1);
    seam.post(
        "/devices/simulate/connect",
        json!({ "device_id": seeds::BACK_DOOR }),
    )
    .await
    .ok(); // connected: twice
    seam.tick().await;
    let got = receiver.got();
    assert_eq!(receiver.types(), ["device.connected", "device.connected"]);
    assert_eq!(got[0].header("svix-id"), got[1].header("svix-id"));
    assert_eq!(got[0].body, got[1].body);
    // The dropped event is still in the log.
    assert_eq!(seam.events_of("device.disconnected").len(), 1);
    assert_eq!(seam.deliveries()[0].state, DeliveryState::Dropped);

    // Delayed by ten minutes of the emulator's clock.
    seam.delay_next_deliveries(1, Duration::from_secs(600));
    one_event(&seam).await;
    seam.tick().await;
    assert_eq!(receiver.got().len(), 2);
    seam.advance(Duration::from_secs(600));
    seam.tick().await;
    assert_eq!(
        receiver.types().last().map(String::as_str),
        Some("device.disconnected")
    );

    // Reordered: three events held, then delivered last first.
    seam.reorder_next_deliveries(3);
    seam.post(
        "/devices/simulate/connect",
        json!({ "device_id": seeds::BACK_DOOR }),
    )
    .await
    .ok();
    seam.post(
        "/devices/simulate/disconnect",
        json!({ "device_id": seeds::FRONT_DOOR }),
    )
    .await
    .ok();
    seam.post(
        "/devices/simulate/connect",
        json!({ "device_id": seeds::FRONT_DOOR }),
    )
    .await
    .ok();
    assert_eq!(
        seam.deliveries()
            .iter()
            .filter(|d| d.state == DeliveryState::Pending)
            .count(),
        3,
        "released when the batch is complete"
    );
    seam.tick().await;
    let last_three: Vec<(String, String)> = receiver.got()[3..]
        .iter()
        .map(|r| {
            (
                r.event_type(),
                r.json()["device_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        last_three,
        [
            ("device.connected".to_owned(), seeds::FRONT_DOOR.to_owned()),
            (
                "device.disconnected".to_owned(),
                seeds::FRONT_DOOR.to_owned()
            ),
            ("device.connected".to_owned(), seeds::BACK_DOOR.to_owned()),
        ]
    );
    // A batch that does not fill up goes out at the next tick, reversed; then order is normal.
    seam.reorder_next_deliveries(10);
    seam.post(
        "/devices/simulate/disconnect",
        json!({ "device_id": seeds::MODEL_UNIT }),
    )
    .await
    .ok();
    seam.post(
        "/devices/simulate/connect",
        json!({ "device_id": seeds::MODEL_UNIT }),
    )
    .await
    .ok();
    seam.tick().await;
    seam.post(
        "/devices/simulate/disconnect",
        json!({ "device_id": seeds::MODEL_UNIT }),
    )
    .await
    .ok();
    seam.tick().await;
    assert_eq!(
        receiver.types()[6..],
        [
            "device.connected",
            "device.disconnected",
            "device.disconnected"
        ]
    );
}

#[tokio::test]
async fn webhooks_created_over_the_api_get_a_secret_and_a_filter() {
    let receiver = Receiver::start();
    let seam = start();
    let created = seam
        .post(
            "/webhooks/create",
            json!({ "url": receiver.url, "event_types": ["lock.unlocked", "access_code.*"] }),
        )
        .await;
    let webhook = created.ok()["webhook"].clone();
    let secret = webhook["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = webhook["webhook_id"].as_str().expect("id");
    let listed = seam.get("/webhooks/list", "").await;
    assert_eq!(listed.ok()["webhooks"][0]["webhook_id"], id);
    let got = seam.get("/webhooks/get", &format!("webhook_id={id}")).await;
    assert_eq!(got.ok()["webhook"]["url"], receiver.url.as_str());
    one_event(&seam).await; // device.disconnected: not wanted
    seam.create_code(json!({ "device_id": seeds::FRONT_DOOR, "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z" }))
        .await;
    seam.tick().await;
    assert_eq!(
        receiver.types(),
        ["access_code.created", "access_code.scheduled_on_device"]
    );
    assert!(receiver
        .got()
        .iter()
        .all(|r| signature_verifies(r, &secret)));

    let bad = seam
        .post(
            "/webhooks/create",
            json!({ "url": receiver.url, "event_types": ["lock.exploded"] }),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_type(), "invalid_event_types");
    let no_url = seam.post("/webhooks/create", json!({})).await;
    assert_eq!(no_url.error_type(), "invalid_input");
    let bad_url = seam
        .post("/webhooks/create", json!({ "url": "ftp://x" }))
        .await;
    assert!(!bad_url.validation("url").is_empty());
    seam.post("/webhooks/delete", json!({ "webhook_id": id }))
        .await
        .ok();
    let gone = seam.get("/webhooks/get", &format!("webhook_id={id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(seam.set_webhook(&receiver.url, "not-a-secret!").is_err());
    let _ = NOW;
}

#[tokio::test]
async fn deliveries_can_carry_standard_webhooks_header_names() {
    let receiver = Receiver::start();
    let seam = start_with(SeamSandboxConfig::pinned_at(chrono::Utc::now()));
    seam.set_webhook(&receiver.url, SECRET)
        .expect("valid secret");
    seam.set_webhook_headers(seam_sandbox::HeaderStyle::Standard);
    one_event(&seam).await;
    seam.tick().await;
    let got = &receiver.got()[0];
    assert_eq!(got.header("svix-id"), "");
    let mut headers = http::HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        headers.insert(name, got.header(name).parse().expect("header value"));
    }
    standardwebhooks::Webhook::new(SECRET)
        .expect("secret")
        .verify(got.body.as_bytes(), &headers)
        .expect("verifies");
}
