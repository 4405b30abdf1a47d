//! Per-device rate limits and injected faults (§4.4 item 11).
use std::time::Duration;

use reqwest::StatusCode;
use seam_sandbox::{seeds, Fault};
use serde_json::json;

use crate::helpers::start;

fn body(device_id: &str, i: usize) -> serde_json::Value {
    json!({
        "device_id": device_id, "name": format!("Tour {i}"),
        "starts_at": "2026-06-02T17:00:00Z", "ends_at": "2026-06-02T17:30:00Z",
    })
}

#[tokio::test]
async fn the_eleventh_create_on_one_lock_in_a_minute_is_429_with_retry_after() {
    let seam = start();
    for i in 0..10 {
        seam.post("/access_codes/create", body(seeds::FRONT_DOOR, i))
            .await
            .ok();
        seam.advance(Duration::from_secs(1));
    }
    let refused = seam
        .post("/access_codes/create", body(seeds::FRONT_DOOR, 10))
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.error_type(), "rate_limited");
    assert_eq!(
        refused
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("50")
    );
    assert!(!refused.request_id().is_empty());
    assert_eq!(
        seam.access_codes(seeds::FRONT_DOOR).len(),
        10,
        "nothing written"
    );
    // Another lock is not limited.
    seam.post("/access_codes/create", body(seeds::BACK_DOOR, 0))
        .await
        .ok();
    // Once the first call is a minute old, one more.
    seam.advance(Duration::from_secs(50));
    seam.post("/access_codes/create", body(seeds::FRONT_DOOR, 11))
        .await
        .ok();
}

#[tokio::test]
async fn deletes_allow_twenty_a_minute_per_lock() {
    let seam = start();
    let mut ids = Vec::new();
    for i in 0..21 {
        if i % 10 == 0 && i > 0 {
            seam.advance(Duration::from_secs(61));
        }
        let code = seam.create_code(body(seeds::MODEL_UNIT, i)).await;
        ids.push(code["access_code_id"].as_str().expect("id").to_owned());
    }
    for id in &ids[..20] {
        seam.delete("/access_codes/delete", &format!("access_code_id={id}"))
            .await
            .ok();
    }
    let refused = seam
        .delete(
            "/access_codes/delete",
            &format!("access_code_id={}", ids[20]),
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(seam.access_codes(seeds::MODEL_UNIT).len(), 1);
}

#[tokio::test]
async fn remote_unlocks_are_limited_too() {
    let seam = start();
    for _ in 0..15 {
        seam.post(
            "/locks/unlock_door",
            json!({ "device_id": seeds::BACK_DOOR }),
        )
        .await
        .ok();
    }
    let refused = seam
        .post(
            "/locks/unlock_door",
            json!({ "device_id": seeds::BACK_DOOR }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let unlocked = seam.events_of("lock.unlocked");
    assert_eq!(unlocked.len(), 15);
    assert_eq!(unlocked[0].field("method"), Some(&json!("remote")));
    assert!(unlocked[0].field("action_attempt_id").is_some());
}

#[tokio::test]
async fn an_injected_fault_answers_in_the_envelope_and_changes_nothing() {
    let seam = start();
    seam.inject_fault(Fault::new("/access_codes/create", 503).times(2));
    for _ in 0..2 {
        let down = seam
            .post("/access_codes/create", body(seeds::FRONT_DOOR, 0))
            .await;
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(down.json["error"]["type"].is_string());
        assert!(!down.request_id().is_empty());
    }
    assert!(seam.all_access_codes().is_empty());
    seam.post("/access_codes/create", body(seeds::FRONT_DOOR, 0))
        .await
        .ok();
    seam.inject_fault(Fault::new("*", 429).with_retry_after(7));
    let limited = seam.get("/devices/list", "").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        limited
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
}

#[tokio::test]
async fn an_after_effect_fault_does_the_work_and_loses_the_answer() {
    let seam = start();
    seam.inject_fault(Fault::new("/access_codes/create", 502).after_effect());
    let lost = seam
        .post("/access_codes/create", body(seeds::FRONT_DOOR, 7))
        .await;
    assert_eq!(lost.status, StatusCode::BAD_GATEWAY);
    // The code exists: a client that lists by name finds it instead of creating another.
    let found = seam
        .post(
            "/access_codes/list",
            json!({ "device_id": seeds::FRONT_DOOR, "search": "Tour 7" }),
        )
        .await;
    assert_eq!(found.ok()["access_codes"].as_array().map(Vec::len), Some(1));
}
