//! `/events/list` and `/events/get`: the catch-up path (§4.4 item 10).
use std::time::Duration;

use reqwest::StatusCode;
use seam_sandbox::seeds;
use serde_json::{json, Value};

use crate::helpers::{at, start, Answer};

/// The event types of a successful list answer.
fn types(answer: &Answer) -> Vec<String> {
    answer.ok()["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(|e| e["event_type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Three events at 12:00, 12:10 and 12:20 on two locks, one with a code.
async fn history(seam: &crate::helpers::Seam) -> String {
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821",
            "starts_at": "2026-06-10T13:00:00Z", "ends_at": "2026-06-10T14:00:00Z",
        }))
        .await;
    seam.advance(Duration::from_secs(600));
    seam.set_device_offline(seeds::BACK_DOOR, true)
        .expect("lock");
    seam.advance(Duration::from_secs(600));
    seam.set_device_offline(seeds::BACK_DOOR, false)
        .expect("lock");
    code["access_code_id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn events_list_needs_since_or_between() {
    let seam = start();
    let none = seam.get("/events/list", "").await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert_eq!(none.error_type(), "invalid_input");
    assert!(none.validation("since").contains("since or between"));
    let bad = seam.get("/events/list", "since=yesterday").await;
    assert!(bad.validation("since").contains("Invalid datetime"));
    let one = seam
        .get("/events/list", "between=2026-06-01T12:00:00Z")
        .await;
    assert!(one.validation("between").contains("exactly two"));
    let backwards = seam
        .post(
            "/events/list",
            json!({ "between": ["2026-06-02T00:00:00Z", "2026-06-01T00:00:00Z"] }),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn since_and_between_select_by_creation_time_oldest_first() {
    let seam = start();
    history(&seam).await;
    let all = seam.get("/events/list", "since=2026-06-01T00:00:00Z").await;
    assert_eq!(
        types(&all),
        [
            "access_code.created",
            "device.disconnected",
            "device.connected"
        ]
    );
    let later = seam.get("/events/list", "since=2026-06-01T12:10:00Z").await;
    assert_eq!(types(&later), ["device.disconnected", "device.connected"]);
    let window = seam
        .get(
            "/events/list",
            "between=2026-06-01T12:05:00Z&between=2026-06-01T12:15:00Z",
        )
        .await;
    assert_eq!(types(&window), ["device.disconnected"]);
    let by_post = seam
        .post(
            "/events/list",
            json!({ "between": ["2026-06-01T12:05:00Z", "2026-06-01T12:15:00Z"] }),
        )
        .await;
    assert_eq!(by_post.ok()["events"], window.json["events"]);
    let limited = seam
        .get("/events/list", "since=2026-06-01T00:00:00Z&limit=1")
        .await;
    assert_eq!(types(&limited), ["access_code.created"]);
}

#[tokio::test]
async fn events_filter_by_device_code_and_type() {
    let seam = start();
    let code_id = history(&seam).await;
    let since = "since=2026-06-01T00:00:00Z";
    let back = seam
        .get(
            "/events/list",
            &format!("{since}&device_id={}", seeds::BACK_DOOR),
        )
        .await;
    assert_eq!(types(&back), ["device.disconnected", "device.connected"]);
    let both = seam
        .get(
            "/events/list",
            &format!(
                "{since}&device_ids={}&device_ids={}",
                seeds::BACK_DOOR,
                seeds::FRONT_DOOR
            ),
        )
        .await;
    assert_eq!(types(&both).len(), 3);
    let by_code = seam
        .get("/events/list", &format!("{since}&access_code_id={code_id}"))
        .await;
    assert_eq!(types(&by_code), ["access_code.created"]);
    let by_type = seam
        .post(
            "/events/list",
            json!({ "since": "2026-06-01T00:00:00Z", "event_types": ["device.connected", "access_code.created"] }),
        )
        .await;
    assert_eq!(types(&by_type), ["access_code.created", "device.connected"]);
    let one_type = seam
        .get(
            "/events/list",
            &format!("{since}&event_type=device.disconnected"),
        )
        .await;
    assert_eq!(types(&one_type), ["device.disconnected"]);
    // Each event as a webhook would carry it, and by id.
    let first: Value = all_first(&seam).await;
    assert_eq!(first["workspace_id"], seeds::WORKSPACE);
    assert_eq!(first["occurred_at"], "2026-06-01T12:00:00.000Z");
    let id = first["event_id"].as_str().expect("id");
    let got = seam.get("/events/get", &format!("event_id={id}")).await;
    assert_eq!(got.ok()["event"], first);
    let unknown = seam
        .get(
            "/events/get",
            "event_id=00000000-0000-4000-8000-000000000000",
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn all_first(seam: &crate::helpers::Seam) -> Value {
    seam.get("/events/list", "since=2026-06-01T00:00:00Z")
        .await
        .json["events"][0]
        .clone()
}

#[tokio::test]
async fn a_late_report_is_listed_by_when_seam_learned_of_it() {
    let seam = start();
    seam.create_code(json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821",
        "starts_at": "2026-06-01T11:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    seam.set_now(at("2026-06-01T12:01:00Z")); // on the lock
    seam.set_device_offline(seeds::FRONT_DOOR, true)
        .expect("lock");
    seam.set_now(at("2026-06-01T12:10:00Z"));
    seam.keypad_entry(seeds::FRONT_DOOR, "4821").expect("lock");
    seam.set_now(at("2026-06-01T13:00:00Z"));
    seam.set_device_offline(seeds::FRONT_DOOR, false)
        .expect("lock");
    let since = seam
        .get(
            "/events/list",
            "since=2026-06-01T12:30:00Z&event_type=lock.unlocked",
        )
        .await;
    let events = since.ok()["events"].as_array().expect("events").clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["occurred_at"], "2026-06-01T12:10:00.000Z");
    assert_eq!(events[0]["created_at"], "2026-06-01T13:00:00.000Z");
}
