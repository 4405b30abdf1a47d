//! `/access_codes/*`: shapes and strict validation (§4.4 items 4–5).
use reqwest::StatusCode;
use seam_sandbox::seeds;
use serde_json::json;

use crate::helpers::start;

const STARTS: &str = "2026-06-02T17:00:00Z";
const ENDS: &str = "2026-06-02T17:30:00Z";

#[tokio::test]
async fn create_answers_the_full_code_and_a_pending_action_attempt() {
    let seam = start();
    let answer = seam
        .post(
            "/access_codes/create",
            json!({
                "device_id": seeds::FRONT_DOOR, "name": "Tour tg_123", "code": "4821",
                "starts_at": STARTS, "ends_at": ENDS,
            }),
        )
        .await;
    let body = answer.ok();
    let code = &body["access_code"];
    assert_eq!(code["device_id"], seeds::FRONT_DOOR);
    assert_eq!(code["name"], "Tour tg_123");
    assert_eq!(code["code"], "4821");
    assert_eq!(code["type"], "time_bound");
    assert_eq!(code["status"], "unset");
    assert_eq!(code["starts_at"], "2026-06-02T17:00:00.000Z");
    assert_eq!(code["ends_at"], "2026-06-02T17:30:00.000Z");
    assert_eq!(code["is_scheduled_on_device"], false);
    for key in ["errors", "warnings", "pending_mutations"] {
        assert_eq!(code[key], json!([]), "{key}");
    }
    let attempt = &body["action_attempt"];
    assert_eq!(attempt["action_type"], "CREATE_ACCESS_CODE");
    assert_eq!(attempt["status"], "pending");
    let id = attempt["action_attempt_id"].as_str().expect("attempt id");
    let later = seam
        .get("/action_attempts/get", &format!("action_attempt_id={id}"))
        .await;
    assert_eq!(later.ok()["action_attempt"]["status"], "success");
    assert_eq!(
        later.json["action_attempt"]["result"]["access_code"]["access_code_id"],
        code["access_code_id"]
    );
    // The lifecycle moved on at the next call: within 72 h of its start, it is on the lock.
    assert_eq!(
        seam.event_types(),
        ["access_code.created", "access_code.scheduled_on_device"]
    );
}

#[tokio::test]
async fn create_refuses_bad_input_with_the_parameter_named() {
    let seam = start();
    let cases = [
        (json!({ "name": "x" }), "device_id", "Required"),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": STARTS }),
            "ends_at",
            "Both starts_at and ends_at",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "ends_at": ENDS }),
            "starts_at",
            "Both starts_at and ends_at",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": ENDS, "ends_at": STARTS }),
            "ends_at",
            "after starts_at",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": "2026-05-01T00:00:00Z", "ends_at": "2026-05-02T00:00:00Z" }),
            "ends_at",
            "in the future",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": "tomorrow", "ends_at": ENDS }),
            "starts_at",
            "Invalid datetime",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "code": "12", "starts_at": STARTS, "ends_at": ENDS }),
            "code",
            "length 2 is not supported",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "code": "12a4", "starts_at": STARTS, "ends_at": ENDS }),
            "code",
            "only digits",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "code": 1234 }),
            "code",
            "Expected string",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "preferred_code_length": 12 }),
            "preferred_code_length",
            "not supported",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "idempotency_key": "k" }),
            "idempotency_key",
            "Unrecognized",
        ),
        (
            json!({ "device_id": seeds::FRONT_DOOR, "max_time_rounding": "1week" }),
            "max_time_rounding",
            "Expected one of",
        ),
    ];
    for (body, param, message) in cases {
        let answer = seam.post("/access_codes/create", body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            answer.json
        );
        assert_eq!(answer.error_type(), "invalid_input", "{body}");
        assert!(
            answer.validation(param).contains(message),
            "{body}: {param} should say {message:?}: {}",
            answer.json
        );
        assert_eq!(answer.json["error"]["request_id"], answer.request_id());
    }
    let unknown = seam
        .post(
            "/access_codes/create",
            json!({ "device_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_type(), "device_not_found");
    assert!(seam.all_access_codes().is_empty(), "nothing half-written");
}

#[tokio::test]
async fn the_same_code_on_the_same_lock_conflicts_only_when_windows_overlap() {
    let seam = start();
    let first = json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821", "starts_at": STARTS, "ends_at": ENDS,
    });
    seam.create_code(first.clone()).await;
    let again = seam.post("/access_codes/create", first).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_type(), "duplicate_access_code");
    let overlapping = seam
        .post(
            "/access_codes/create",
            json!({
                "device_id": seeds::FRONT_DOOR, "code": "4821",
                "starts_at": "2026-06-02T17:15:00Z", "ends_at": "2026-06-02T18:00:00Z",
            }),
        )
        .await;
    assert_eq!(overlapping.status, StatusCode::CONFLICT);
    // Back to back: no overlap.
    seam.create_code(json!({
        "device_id": seeds::FRONT_DOOR, "code": "4821",
        "starts_at": ENDS, "ends_at": "2026-06-02T18:00:00Z",
    }))
    .await;
    // Another lock: no clash.
    seam.create_code(json!({
        "device_id": seeds::BACK_DOOR, "code": "4821", "starts_at": STARTS, "ends_at": ENDS,
    }))
    .await;
    // An ongoing code overlaps every window.
    let ongoing = seam
        .post(
            "/access_codes/create",
            json!({ "device_id": seeds::BACK_DOOR, "code": "4821" }),
        )
        .await;
    assert_eq!(ongoing.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn without_a_code_seam_picks_one_of_the_preferred_length() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "starts_at": STARTS, "ends_at": ENDS,
            "preferred_code_length": 5,
        }))
        .await;
    let pin = code["code"].as_str().expect("a code");
    assert_eq!(pin.len(), 5);
    assert!(pin.bytes().all(|b| b.is_ascii_digit()));
    let ongoing = seam
        .create_code(json!({ "device_id": seeds::BACK_DOOR, "name": "Staff" }))
        .await;
    assert_eq!(ongoing["type"], "ongoing");
    assert_eq!(ongoing["status"], "setting");
    assert_eq!(ongoing["code"].as_str().map(str::len), Some(6));
}

#[tokio::test]
async fn a_code_breaking_a_lock_constraint_is_created_with_an_error() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "7777", "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    assert_eq!(code["errors"][0]["error_code"], "code_constraints_violated");
}

#[tokio::test]
async fn get_by_id_or_by_device_and_code_and_list_by_device() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "name": "Tour tg_9", "code": "4821",
            "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id");
    seam.create_code(json!({
        "device_id": seeds::BACK_DOOR, "name": "Tour tg_10", "starts_at": STARTS, "ends_at": ENDS,
    }))
    .await;
    let by_id = seam.code_status(id).await;
    assert_eq!(by_id.ok()["access_code"]["name"], "Tour tg_9");
    let by_pin = seam
        .post(
            "/access_codes/get",
            json!({ "device_id": seeds::FRONT_DOOR, "code": "4821" }),
        )
        .await;
    assert_eq!(by_pin.ok()["access_code"]["access_code_id"], id);
    let neither = seam
        .post(
            "/access_codes/get",
            json!({ "device_id": seeds::FRONT_DOOR }),
        )
        .await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);
    assert_eq!(neither.error_type(), "invalid_input");
    let unknown = seam
        .code_status("00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_type(), "access_code_not_found");

    let listed = seam
        .get(
            "/access_codes/list",
            &format!("device_id={}", seeds::FRONT_DOOR),
        )
        .await;
    let codes = listed.ok()["access_codes"]
        .as_array()
        .expect("codes")
        .clone();
    assert_eq!(codes.len(), 1);
    assert_eq!(codes[0]["access_code_id"], id);
    // Finding a code by the tour id in its name, as an adapter does after a crash.
    let searched = seam
        .post(
            "/access_codes/list",
            json!({ "device_id": seeds::BACK_DOOR, "search": "tg_10" }),
        )
        .await;
    assert_eq!(
        searched.ok()["access_codes"].as_array().map(Vec::len),
        Some(1)
    );
    let no_filter = seam.post("/access_codes/list", json!({})).await;
    assert_eq!(no_filter.status, StatusCode::BAD_REQUEST);
    let unknown_device = seam
        .post(
            "/access_codes/list",
            json!({ "device_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(unknown_device.error_type(), "device_not_found");
}

#[tokio::test]
async fn lists_page_with_limit_and_cursor() {
    let seam = start();
    for i in 0..3 {
        seam.create_code(json!({
            "device_id": seeds::FRONT_DOOR, "name": format!("Tour {i}"),
            "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    }
    let first = seam
        .get(
            "/access_codes/list",
            &format!("device_id={}&limit=2", seeds::FRONT_DOOR),
        )
        .await;
    let body = first.ok().clone();
    assert_eq!(body["access_codes"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["pagination"]["has_next_page"], true);
    let cursor = body["pagination"]["next_page_cursor"]
        .as_str()
        .expect("cursor");
    let second = seam
        .get(
            "/access_codes/list",
            &format!(
                "device_id={}&limit=2&page_cursor={cursor}",
                seeds::FRONT_DOOR
            ),
        )
        .await;
    assert_eq!(
        second.ok()["access_codes"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(second.json["pagination"]["has_next_page"], false);
}

#[tokio::test]
async fn delete_by_post_or_by_delete_with_a_query_then_the_code_is_gone() {
    let seam = start();
    let a = seam
        .create_code(
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": STARTS, "ends_at": ENDS }),
        )
        .await;
    let b = seam
        .create_code(
            json!({ "device_id": seeds::FRONT_DOOR, "starts_at": STARTS, "ends_at": ENDS }),
        )
        .await;
    let a_id = a["access_code_id"].as_str().expect("id");
    let b_id = b["access_code_id"].as_str().expect("id");
    let by_post = seam
        .post("/access_codes/delete", json!({ "access_code_id": a_id }))
        .await;
    assert_eq!(
        by_post.ok()["action_attempt"]["action_type"],
        "DELETE_ACCESS_CODE"
    );
    let by_delete = seam
        .delete("/access_codes/delete", &format!("access_code_id={b_id}"))
        .await;
    by_delete.ok();
    for id in [a_id, b_id] {
        let gone = seam.code_status(id).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(gone.error_type(), "access_code_not_found");
    }
    assert_eq!(seam.events_of("access_code.deleted").len(), 2);
    let twice = seam
        .post("/access_codes/delete", json!({ "access_code_id": a_id }))
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert_eq!(twice.error_type(), "access_code_not_found");
    let missing = seam.post("/access_codes/delete", json!({})).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(!missing.validation("access_code_id").is_empty());
}

#[tokio::test]
async fn update_moves_the_window_and_checks_it_like_create() {
    let seam = start();
    let code = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821", "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    let id = code["access_code_id"].as_str().expect("id");
    let moved = seam
        .post(
            "/access_codes/update",
            json!({
                "access_code_id": id,
                "starts_at": "2026-06-03T17:00:00Z", "ends_at": "2026-06-03T17:30:00Z",
            }),
        )
        .await;
    assert_eq!(
        moved.ok()["action_attempt"]["action_type"],
        "UPDATE_ACCESS_CODE"
    );
    let now = seam.code_status(id).await;
    assert_eq!(
        now.ok()["access_code"]["starts_at"],
        "2026-06-03T17:00:00.000Z"
    );
    assert!(seam
        .event_types()
        .contains(&"access_code.changed".to_owned()));

    let backwards = seam
        .post(
            "/access_codes/update",
            json!({ "access_code_id": id, "ends_at": "2026-06-03T16:00:00Z" }),
        )
        .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
    assert!(backwards.validation("ends_at").contains("after starts_at"));
    let bad_pin = seam
        .post(
            "/access_codes/update",
            json!({ "access_code_id": id, "code": "1" }),
        )
        .await;
    assert_eq!(bad_pin.status, StatusCode::BAD_REQUEST);
    assert!(!bad_pin.validation("code").is_empty());
    let unknown = seam
        .post(
            "/access_codes/update",
            json!({ "access_code_id": "00000000-0000-4000-8000-000000000000", "name": "x" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_type(), "access_code_not_found");
    let unchanged = seam.code_status(id).await;
    assert_eq!(
        unchanged.ok()["access_code"]["ends_at"],
        "2026-06-03T17:30:00.000Z"
    );

    // A second code with the same PIN in another window, then moved onto the first: 409.
    let other = seam
        .create_code(json!({
            "device_id": seeds::FRONT_DOOR, "code": "4821",
            "starts_at": STARTS, "ends_at": ENDS,
        }))
        .await;
    let clash = seam
        .post(
            "/access_codes/update",
            json!({
                "access_code_id": other["access_code_id"],
                "starts_at": "2026-06-03T17:10:00Z", "ends_at": "2026-06-03T17:20:00Z",
            }),
        )
        .await;
    assert_eq!(clash.status, StatusCode::CONFLICT);
    assert_eq!(clash.error_type(), "duplicate_access_code");
}
