//! The igloohome-like lockbox: offline (algoPIN) codes only (§4.4 item 12, PROVIDERS.md §1.8).
use reqwest::StatusCode;
use seam_sandbox::{seeds, KeypadOutcome};
use serde_json::json;

use crate::helpers::{at, start};

#[tokio::test]
async fn an_offline_code_is_assigned_by_seam_and_opens_the_lockbox_unattributed() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::LOCKBOX, "name": "Tour tg_1", "is_offline_access_code": true,
            "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-06-01T18:00:00Z",
        }))
        .await;
    assert_eq!(code["is_offline_access_code"], true);
    assert_eq!(code["is_waiting_for_code_assignment"], true);
    assert_eq!(code["code"], serde_json::Value::Null);
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    let assigned = seam.code_status(&id).await;
    let pin = assigned.ok()["access_code"]["code"]
        .as_str()
        .expect("assigned")
        .to_owned();
    assert_eq!(assigned.json["access_code"]["is_scheduled_on_device"], true);
    // Offline codes need no connection: offline lockbox, still works in the window.
    seam.set_device_offline(seeds::LOCKBOX, true).expect("lock");
    seam.set_now(at("2026-06-01T17:30:00Z"));
    let outcome = seam.keypad_entry(seeds::LOCKBOX, &pin).expect("lock");
    assert!(matches!(
        outcome,
        KeypadOutcome::Unlocked {
            attributed: false,
            ..
        }
    ));
    seam.set_device_offline(seeds::LOCKBOX, false)
        .expect("lock");
    let unlocked = &seam.events_of("lock.unlocked")[0];
    assert!(unlocked.field("access_code_id").is_none());
}

#[tokio::test]
async fn offline_codes_keep_igloohomes_rules() {
    let seam = start();
    let cases = [
        (
            json!({ "device_id": seeds::LOCKBOX, "is_offline_access_code": true, "code": "1234",
                    "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-06-01T18:00:00Z" }),
            "code",
        ),
        (
            json!({ "device_id": seeds::LOCKBOX, "is_offline_access_code": true,
                    "starts_at": "2026-06-01T17:15:00Z", "ends_at": "2026-06-01T18:00:00Z" }),
            "starts_at",
        ),
        (
            json!({ "device_id": seeds::LOCKBOX, "is_offline_access_code": true }),
            "starts_at",
        ),
        (
            json!({ "device_id": seeds::LOCKBOX, "is_offline_access_code": true,
                    "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-07-01T17:00:00Z" }),
            "ends_at",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "is_offline_access_code": true,
                    "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-06-01T18:00:00Z" }),
            "is_offline_access_code",
        ),
        (
            json!({ "device_id": seeds::LOCKBOX, "code": "1234",
                    "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-06-01T18:00:00Z" }),
            "device_id",
        ),
    ];
    for (body, param) in cases {
        let answer = seam.post("/access_codes/create", body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.json
        );
        assert!(
            !answer.validation(param).is_empty(),
            "{body}: {}",
            answer.json
        );
    }
    // Daily-bound past 28 days is allowed, and longer than a day warns.
    let daily = seam
        .create_code(json!({
            "device_id": seeds::LOCKBOX, "is_offline_access_code": true, "max_time_rounding": "1d",
            "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-07-01T17:00:00Z",
        }))
        .await;
    assert_eq!(
        daily["warnings"][0]["warning_code"],
        "igloo_algopin_must_be_used_within_24_hours"
    );
    // No update, no delete through the API.
    let id = daily["access_code_id"].as_str().expect("id");
    for (route, body) in [
        (
            "/access_codes/update",
            json!({ "access_code_id": id, "name": "x" }),
        ),
        ("/access_codes/delete", json!({ "access_code_id": id })),
    ] {
        let refused = seam.post(route, body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{route}");
        assert_eq!(refused.error_type(), "offline_access_code_not_modifiable");
    }
    assert_eq!(seam.code_status(id).await.status, StatusCode::OK);
}

#[tokio::test]
async fn at_most_three_offline_codes_start_in_the_same_hour() {
    let seam = start();
    let body = json!({
        "device_id": seeds::LOCKBOX, "is_offline_access_code": true,
        "starts_at": "2026-06-01T17:00:00Z", "ends_at": "2026-06-01T18:00:00Z",
    });
    for _ in 0..3 {
        seam.create_code(body.clone()).await;
    }
    let fourth = seam.post("/access_codes/create", body).await;
    assert_eq!(fourth.status, StatusCode::BAD_REQUEST);
    assert!(
        fourth.validation("starts_at").contains("At most 3"),
        "{}",
        fourth.json
    );
    // Another hour is fine.
    seam.create_code(json!({
        "device_id": seeds::LOCKBOX, "is_offline_access_code": true,
        "starts_at": "2026-06-01T18:00:00Z", "ends_at": "2026-06-01T19:00:00Z",
    }))
    .await;
}
