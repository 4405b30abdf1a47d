//! The `/_fake/` control surface, for an emulator run on its own.
use reqwest::StatusCode;
use seam_sandbox::seeds;
use serde_json::json;

use crate::helpers::{start, Receiver};

async fn control(
    seam: &crate::helpers::Seam,
    path: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let res = seam
        .http
        .post(format!("{}{path}", seam.sandbox.base_url()))
        .json(&body)
        .send()
        .await
        .expect("answer");
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn the_clock_keypad_and_device_knobs_are_reachable_over_http() {
    let seam = start();
    let (status, now) = control(
        &seam,
        "/_fake/clock",
        json!({ "now": "2026-06-01T13:30:00Z" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["now"], "2026-06-01T13:30:00.000Z");
    let (_, later) = control(&seam, "/_fake/clock", json!({ "advance_seconds": 60 })).await;
    assert_eq!(later["now"], "2026-06-01T13:31:00.000Z");
    let (bad, _) = control(&seam, "/_fake/clock", json!({ "now": "soon" })).await;
    assert_eq!(bad, StatusCode::BAD_REQUEST);
    let (too_far, body) = control(
        &seam,
        "/_fake/clock",
        json!({ "advance_seconds": u64::MAX }),
    )
    .await;
    assert_eq!(too_far, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "invalid_input");
    let (_, same) = control(&seam, "/_fake/clock", json!({ "advance_seconds": 0 })).await;
    assert_eq!(same["now"], "2026-06-01T13:31:00.000Z");

    seam.create_code(json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821",
        "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    let (_, outcome) = control(
        &seam,
        "/_fake/keypad",
        json!({ "device_id": seeds::FRONT_DOOR, "code": "4821" }),
    )
    .await;
    assert_eq!(outcome["outcome"], "unlocked");
    let (status, _) = control(
        &seam,
        "/_fake/devices/offline",
        json!({ "device_id": seeds::FRONT_DOOR, "offline": true }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!seam.devices()[0].online);
    let (unknown, body) = control(
        &seam,
        "/_fake/devices/full",
        json!({ "device_id": "nope", "full": true }),
    )
    .await;
    assert_eq!(unknown, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["type"], "device_not_found");
    let state: serde_json::Value = seam
        .http
        .get(format!("{}/_fake/state", seam.sandbox.base_url()))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(state["access_codes"].as_array().map(Vec::len), Some(1));
    assert!(state["events"].as_array().is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn tick_and_delivery_knobs_over_http() {
    let receiver = Receiver::start();
    let seam = start();
    seam.post("/webhooks/create", json!({ "url": receiver.url }))
        .await
        .ok();
    let res = seam
        .http
        .post(format!("{}/_fake/deliveries", seam.sandbox.base_url()))
        .json(&json!({ "duplicate_next": 1 }))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    seam.post(
        "/devices/simulate/disconnect",
        json!({ "device_id": seeds::BACK_DOOR }),
    )
    .await
    .ok();
    let (_, report) = control(&seam, "/_fake/tick", json!({})).await;
    assert_eq!(report["delivered"], 2);
    assert_eq!(receiver.got().len(), 2);
    let (status, _) = control(
        &seam,
        "/_fake/faults",
        json!({ "route": "/devices/list", "status": 200 }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
