//! Door simulation: keypad entries → `lock.unlocked` / `lock.access_denied` (§4.4 item 8).
use std::time::Duration;

use reqwest::StatusCode;
use seam_sandbox::{seeds, KeypadOutcome};
use serde_json::json;

use crate::helpers::{at, start};

#[tokio::test]
async fn a_set_code_inside_its_window_unlocks_with_its_access_code_id() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821",
            "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    // Scheduled but before the window: refused.
    seam.set_now(at("2026-06-01T12:59:00Z"));
    assert_eq!(
        seam.keypad_entry(seeds::FRONT_DOOR, "4821")
            .expect("known lock"),
        KeypadOutcome::Denied {
            reason_code: "unknown_code".into()
        }
    );
    seam.set_now(at("2026-06-01T13:10:00Z"));
    assert_eq!(
        seam.keypad_entry(seeds::FRONT_DOOR, "4821")
            .expect("known lock"),
        KeypadOutcome::Unlocked {
            access_code_id: id.clone(),
            attributed: true
        }
    );
    let unlocked = seam.events_of("lock.unlocked");
    assert_eq!(unlocked.len(), 1);
    let e = &unlocked[0];
    assert_eq!(e.device_id.as_deref(), Some(seeds::FRONT_DOOR));
    assert_eq!(e.access_code_id.as_deref(), Some(id.as_str()));
    assert_eq!(e.field("method"), Some(&json!("keycode")));
    assert_eq!(e.field("code"), Some(&json!("4821")));
    assert_eq!(e.field("access_code_is_managed"), Some(&json!(true)));
    assert_eq!(e.occurred_at, at("2026-06-01T13:10:00Z"));
    // A wrong PIN.
    assert_eq!(
        seam.keypad_entry(seeds::FRONT_DOOR, "9999")
            .expect("known lock"),
        KeypadOutcome::Denied {
            reason_code: "unknown_code".into()
        }
    );
    let denied = seam.events_of("lock.access_denied");
    assert_eq!(denied.len(), 2);
    assert_eq!(
        denied[1].field("reason").map(|r| r["reason_code"].clone()),
        Some(json!("unknown_code"))
    );
    // The lock relocks itself.
    seam.advance(Duration::from_secs(30));
    let locked = seam.events_of("lock.locked");
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].field("method"), Some(&json!("automatic")));
    // After the window: expired.
    seam.set_now(at("2026-06-01T14:00:00Z"));
    assert_eq!(
        seam.keypad_entry(seeds::FRONT_DOOR, "4821")
            .expect("known lock"),
        KeypadOutcome::Denied {
            reason_code: "expired_code".into()
        }
    );
    assert!(seam
        .keypad_entry("00000000-0000-4000-8000-000000000000", "1")
        .is_err());
}

#[tokio::test]
async fn an_unattributing_brand_reports_the_unlock_without_an_access_code_id() {
    let seam = start();
    seam.create_code(json!({
        "device_id": seeds::GARDEN_GATE, "code": "482193",
        "starts_at": "2026-06-01T12:30:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    seam.set_now(at("2026-06-01T12:40:00Z"));
    let outcome = seam
        .keypad_entry(seeds::GARDEN_GATE, "482193")
        .expect("lock");
    assert!(matches!(
        outcome,
        KeypadOutcome::Unlocked {
            attributed: false,
            ..
        }
    ));
    let e = &seam.events_of("lock.unlocked")[0];
    assert_eq!(e.access_code_id, None);
    assert!(e.field("access_code_id").is_none());
    assert_eq!(e.field("method"), Some(&json!("keycode")));
}

#[tokio::test]
async fn the_simulate_route_drives_the_keypad_and_reports_its_action_attempt() {
    let seam = start();
    seam.create_code(json!({
        "device_id": seeds::BACK_DOOR, "code": "4821",
        "starts_at": "2026-06-01T11:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    let answer = seam
        .post(
            "/locks/simulate/keypad_code_entry",
            json!({ "device_id": seeds::BACK_DOOR, "code": "4821" }),
        )
        .await;
    let attempt = &answer.ok()["action_attempt"];
    assert_eq!(attempt["action_type"], "SIMULATE_KEYPAD_CODE_ENTRY");
    assert_eq!(attempt["status"], "success");
    assert_eq!(seam.events_of("lock.unlocked").len(), 1);
    assert_eq!(
        seam.events_of("action_attempt.simulate_keypad_code_entry.succeeded")
            .len(),
        1
    );
    let missing = seam
        .post(
            "/locks/simulate/keypad_code_entry",
            json!({ "device_id": seeds::BACK_DOOR }),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.validation("code").is_empty());
    let unknown = seam
        .post(
            "/locks/simulate/keypad_code_entry",
            json!({ "device_id": "00000000-0000-4000-8000-000000000000", "code": "1234" }),
        )
        .await;
    assert_eq!(unknown.error_type(), "device_not_found");
    let manual = seam
        .post(
            "/locks/simulate/manual_lock_via_keypad",
            json!({ "device_id": seeds::BACK_DOOR }),
        )
        .await;
    manual.ok();
    let locked = seam.events_of("lock.locked");
    assert_eq!(
        locked.last().and_then(|e| e.field("method")),
        Some(&json!("manual"))
    );
}

#[tokio::test]
async fn an_offline_lock_reports_an_entry_late_when_it_reconnects() {
    let seam = start();
    seam.create_code(json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821",
        "starts_at": "2026-06-01T11:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
    }))
    .await;
    seam.set_now(at("2026-06-01T12:05:00Z"));
    seam.set_device_offline(seeds::FRONT_DOOR, true)
        .expect("lock");
    let outcome = seam.keypad_entry(seeds::FRONT_DOOR, "4821").expect("lock");
    assert!(matches!(outcome, KeypadOutcome::Unlocked { .. }));
    assert!(
        seam.events_of("lock.unlocked").is_empty(),
        "held by the lock"
    );
    seam.set_now(at("2026-06-01T12:35:00Z"));
    seam.set_device_offline(seeds::FRONT_DOOR, false)
        .expect("lock");
    let e = &seam.events_of("lock.unlocked")[0];
    assert_eq!(e.occurred_at, at("2026-06-01T12:05:00Z"));
    assert_eq!(e.created_at, at("2026-06-01T12:35:00Z"));
}
