//! The clock-driven code lifecycle and its failures (§4.4 items 6–7).
use std::time::Duration;

use reqwest::StatusCode;
use seam_sandbox::{seeds, CodeStatus};
use serde_json::json;

use crate::helpers::{at, start};

const HOUR: Duration = Duration::from_secs(3600);

/// NOW is 2026-06-01T12:00Z; this tour starts five days later.
const STARTS: &str = "2026-06-06T17:00:00Z";
const ENDS: &str = "2026-06-06T17:30:00Z";

#[tokio::test]
async fn a_natively_scheduled_code_is_loaded_72_hours_ahead_and_set_at_its_start() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821", "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    let status = |seam: &crate::helpers::Seam| seam.access_code(&id).expect("code");
    // Two days ahead: nothing on the lock yet.
    seam.advance(48 * HOUR);
    assert_eq!(
        seam.code_status(&id).await.ok()["access_code"]["status"],
        "unset"
    );
    assert!(seam.events_of("access_code.scheduled_on_device").is_empty());
    // 72 h before the start: scheduled on the lock, still unset.
    seam.set_now(at("2026-06-03T17:00:00Z"));
    let answer = seam.code_status(&id).await;
    assert_eq!(answer.ok()["access_code"]["is_scheduled_on_device"], true);
    assert_eq!(answer.json["access_code"]["status"], "unset");
    let scheduled = seam.events_of("access_code.scheduled_on_device");
    assert_eq!(scheduled.len(), 1);
    assert_eq!(scheduled[0].access_code_id.as_deref(), Some(id.as_str()));
    assert_eq!(scheduled[0].field("code"), Some(&json!("4821")));
    // At the start: set.
    seam.set_now(at(STARTS));
    assert_eq!(status(&seam).status, CodeStatus::Set);
    assert_eq!(seam.events_of("access_code.set_on_device").len(), 1);
    // At the end: removed from the lock and gone from Seam.
    seam.set_now(at(ENDS));
    let gone = seam.code_status(&id).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(seam.events_of("access_code.removed_from_device").len(), 1);
    assert!(seam.access_codes(seeds::FRONT_DOOR).is_empty());
    let types = seam.event_types();
    assert_eq!(
        types,
        [
            "access_code.created",
            "access_code.scheduled_on_device",
            "access_code.set_on_device",
            "access_code.removed_from_device",
        ]
    );
}

#[tokio::test]
async fn a_just_in_time_code_is_set_an_hour_before_its_start() {
    let seam = start();
    // Lockly does not schedule natively; an August code can opt out too.
    let lockly = seam
        .create_code(json!({
            "device_id": seeds::GARDEN_GATE, "code": "482193", "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    let opted_out = seam
        .create_code(json!({
            "device_id": seeds::BACK_DOOR, "code": "4821", "starts_at": STARTS, "ends_at": ENDS,
            "prefer_native_scheduling": false,
        }))
        .await;
    seam.set_now(at("2026-06-06T15:59:00Z"));
    for code in [&lockly, &opted_out] {
        let id = code["access_code_id"].as_str().expect("id");
        let c = seam.access_code(id).expect("code");
        assert_eq!(c.status, CodeStatus::Unset);
        assert!(!c.is_scheduled_on_device);
    }
    seam.set_now(at("2026-06-06T16:00:00Z"));
    for code in [&lockly, &opted_out] {
        let id = code["access_code_id"].as_str().expect("id");
        let answer = seam.code_status(id).await;
        assert_eq!(answer.ok()["access_code"]["status"], "set");
        assert_eq!(answer.json["access_code"]["is_scheduled_on_device"], false);
    }
    assert_eq!(seam.events_of("access_code.set_on_device").len(), 2);
    assert!(seam.events_of("access_code.scheduled_on_device").is_empty());
}

#[tokio::test]
async fn an_offline_lock_delays_then_fails_the_code_and_it_is_set_once_back() {
    let seam = start();
    seam.set_device_offline(seeds::GARDEN_GATE, true)
        .expect("known device");
    let code = seam
        .create_code(json!({
            "device_id": seeds::GARDEN_GATE, "code": "482193",
            "starts_at": "2026-06-01T12:30:00Z", "ends_at": "2026-06-01T13:30:00Z",
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    let first = seam.code_status(&id).await;
    let c = &first.ok()["access_code"];
    assert_eq!(c["status"], "setting");
    assert_eq!(
        c["warnings"][0]["warning_code"],
        "delay_in_setting_on_device"
    );
    assert_eq!(c["errors"], json!([]));
    assert_eq!(
        seam.events_of("access_code.delay_in_setting_on_device")
            .len(),
        1
    );
    // Ten minutes later, still offline: failed.
    seam.advance(Duration::from_secs(10 * 60));
    let failed = seam.code_status(&id).await;
    let c = &failed.ok()["access_code"];
    assert_eq!(c["status"], "setting");
    assert_eq!(c["errors"][0]["error_code"], "failed_to_set_on_device");
    let events = seam.events_of("access_code.failed_to_set_on_device");
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]
            .field("access_code_errors")
            .and_then(|e| e[0]["error_code"].as_str()),
        Some("failed_to_set_on_device")
    );
    assert!(seam.events_of("access_code.set_on_device").is_empty());
    assert!(seam
        .event_types()
        .contains(&"device.disconnected".to_owned()));
    // Still failed at the start: never set while the lock is away.
    seam.set_now(at("2026-06-01T12:45:00Z"));
    assert_ne!(seam.access_code(&id).expect("code").status, CodeStatus::Set);
    // Back online: Seam programs it.
    seam.set_device_offline(seeds::GARDEN_GATE, false)
        .expect("known device");
    let back = seam.code_status(&id).await;
    assert_eq!(back.ok()["access_code"]["status"], "set");
    assert_eq!(back.json["access_code"]["errors"], json!([]));
    assert_eq!(back.json["access_code"]["warnings"], json!([]));
    assert!(seam.event_types().contains(&"device.connected".to_owned()));
}

#[tokio::test]
async fn a_full_lock_fails_the_code_with_no_space_until_room_is_made() {
    let seam = start();
    seam.fill_device(seeds::FRONT_DOOR).expect("known device");
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821",
            "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    let answer = seam.code_status(&id).await;
    let c = &answer.ok()["access_code"];
    assert_eq!(
        c["errors"][0]["error_code"],
        "no_space_for_access_code_on_device"
    );
    assert_eq!(c["is_scheduled_on_device"], false);
    assert_eq!(
        seam.events_of("access_code.failed_to_set_on_device").len(),
        1
    );
    seam.set_now(at("2026-06-01T13:00:00Z"));
    assert_ne!(seam.access_code(&id).expect("code").status, CodeStatus::Set);
    seam.set_device_full(seeds::FRONT_DOOR, false)
        .expect("known device");
    assert_eq!(seam.access_code(&id).expect("code").status, CodeStatus::Set);
}

#[tokio::test]
async fn a_lock_with_max_active_codes_refuses_one_more() {
    let mut small = seam_sandbox::SeamDevice::new(
        "5e4a0000-0000-4000-8000-0000000000aa",
        "Tiny",
        seam_sandbox::Brand::Kwikset,
        chrono_tz::America::Chicago,
    );
    small.max_active_codes = 1;
    let mut config = seam_sandbox::SeamSandboxConfig::pinned_at(at(crate::helpers::NOW));
    config.devices.push(small);
    let seam = crate::helpers::start_with(config);
    let window = json!({ "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z" });
    let mut first = window.clone();
    first["device_id"] = json!("5e4a0000-0000-4000-8000-0000000000aa");
    let mut second = first.clone();
    first["code"] = json!("1234");
    second["code"] = json!("5678");
    let a = seam.create_code(first).await;
    let b = seam.create_code(second).await;
    seam.code_status(a["access_code_id"].as_str().expect("id"))
        .await
        .ok();
    let b = seam
        .code_status(b["access_code_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        b.ok()["access_code"]["errors"][0]["error_code"],
        "no_space_for_access_code_on_device"
    );
}

#[tokio::test]
async fn deleting_a_code_on_an_offline_lock_fails_to_remove_until_it_is_back() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821",
            "starts_at": "2026-06-01T13:00:00Z", "ends_at": "2026-06-01T14:00:00Z",
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id").to_owned();
    seam.code_status(&id).await.ok();
    assert!(seam.access_code(&id).expect("code").is_scheduled_on_device);
    seam.set_device_offline(seeds::FRONT_DOOR, true)
        .expect("known device");
    seam.post("/access_codes/delete", json!({ "access_code_id": id }))
        .await
        .ok();
    let stuck = seam.code_status(&id).await;
    assert_eq!(stuck.ok()["access_code"]["status"], "removing");
    assert_eq!(
        stuck.json["access_code"]["errors"][0]["error_code"],
        "failed_to_remove_from_device"
    );
    assert_eq!(
        seam.events_of("access_code.failed_to_remove_from_device")
            .len(),
        1
    );
    assert!(seam.events_of("access_code.deleted").is_empty());
    seam.set_device_offline(seeds::FRONT_DOOR, false)
        .expect("known device");
    assert_eq!(seam.code_status(&id).await.status, StatusCode::NOT_FOUND);
    assert_eq!(seam.events_of("access_code.removed_from_device").len(), 1);
    assert_eq!(seam.events_of("access_code.deleted").len(), 1);
}
