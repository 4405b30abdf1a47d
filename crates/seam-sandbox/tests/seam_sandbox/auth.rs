//! Bearer auth, the envelopes and `seam-request-id` (§4.4 items 2–3).
use reqwest::{Method, StatusCode};
use seam_sandbox::{seeds, DEFAULT_API_KEY};
use serde_json::json;

use crate::helpers::start;

#[tokio::test]
async fn no_key_or_a_wrong_key_gets_seams_401_envelope_with_a_request_id() {
    let seam = start();
    let missing = seam
        .send(Method::GET, "/devices/list", None, None, None)
        .await;
    let wrong = seam
        .send(
            Method::GET,
            "/devices/list",
            Some("seam_test_wrong"),
            None,
            None,
        )
        .await;
    for answer in [&missing, &wrong] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.error_type(), "unauthorized");
        assert_eq!(answer.json["error"]["message"], "Unauthorized");
        assert!(!answer.request_id().is_empty());
        assert_eq!(answer.json["error"]["request_id"], answer.request_id());
    }
    assert_ne!(missing.request_id(), wrong.request_id());
    // Not Bearer: refused too.
    let basic = seam
        .http
        .get(format!("{}/devices/list", seam.sandbox.base_url()))
        .header("authorization", format!("Basic {DEFAULT_API_KEY}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_default_key_lists_the_seeded_locks_with_fixed_ids() {
    let seam = start();
    assert_eq!(seam.api_key(), "seam_test_tourgate");
    let answer = seam.get("/devices/list", "").await;
    let body = answer.ok();
    assert!(!answer.request_id().is_empty());
    let ids: Vec<&str> = body["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .filter_map(|d| d["device_id"].as_str())
        .collect();
    for id in [
        seeds::FRONT_DOOR,
        seeds::BACK_DOOR,
        seeds::MODEL_UNIT,
        seeds::LEASING_OFFICE,
        seeds::GARDEN_GATE,
        seeds::LOCKBOX,
    ] {
        assert!(ids.contains(&id), "{id} seeded");
    }
    assert_eq!(body["pagination"]["has_next_page"], false);
    let front = &body["devices"][0];
    assert_eq!(front["device_type"], "august_lock");
    assert_eq!(front["location"]["timezone"], "America/Los_Angeles");
    assert_eq!(front["properties"]["online"], true);
    assert_eq!(front["can_program_online_access_codes"], true);
}

#[tokio::test]
async fn get_with_a_query_and_post_with_json_give_the_same_answer() {
    let seam = start();
    let by_get = seam
        .get(
            "/devices/get",
            &format!("device_id={}&_strict=true", seeds::BACK_DOOR),
        )
        .await;
    let by_post = seam
        .post("/devices/get", json!({ "device_id": seeds::BACK_DOOR }))
        .await;
    assert_eq!(by_get.ok()["device"], by_post.ok()["device"]);
    assert_eq!(by_get.json["device"]["display_name"], "Back Door");
    // Repeated keys are arrays, as the SDKs send them.
    let two = seam
        .get(
            "/devices/list",
            &format!(
                "device_ids={}&device_ids={}",
                seeds::FRONT_DOOR,
                seeds::LOCKBOX
            ),
        )
        .await;
    assert_eq!(two.ok()["devices"].as_array().map(Vec::len), Some(2));
    let locks = seam.get("/locks/list", "device_type=igloohome_lock").await;
    assert_eq!(locks.ok()["locks"][0]["device_id"], seeds::LOCKBOX);
    let lock = seam
        .post("/locks/get", json!({ "device_id": seeds::GARDEN_GATE }))
        .await;
    assert_eq!(lock.ok()["lock"]["device_type"], "lockly_lock");
}

#[tokio::test]
async fn devices_get_refuses_an_unknown_device_and_unknown_keys() {
    let seam = start();
    let unknown = seam
        .post(
            "/devices/get",
            json!({ "device_id": "00000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_type(), "device_not_found");
    let nothing = seam.post("/devices/get", json!({})).await;
    assert_eq!(nothing.status, StatusCode::BAD_REQUEST);
    assert_eq!(nothing.error_type(), "invalid_input");
    assert!(!nothing.validation("device_id").is_empty());
    let extra = seam.post("/devices/list", json!({ "colour": "red" })).await;
    assert_eq!(extra.status, StatusCode::BAD_REQUEST);
    assert!(extra.validation("colour").contains("Unrecognized"));
    let bad_json = seam
        .http
        .post(format!("{}/devices/list", seam.sandbox.base_url()))
        .bearer_auth(seam.api_key())
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert!(bad_json.headers().contains_key("seam-request-id"));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let seam = start();
    let route = seam.post("/nope/list", json!({})).await;
    assert_eq!(route.status, StatusCode::NOT_FOUND);
    assert!(!route.request_id().is_empty());
    assert!(route.json["error"]["type"].is_string());
    // Writes do not take GET.
    let get_create = seam.get("/access_codes/create", "device_id=x").await;
    assert_eq!(get_create.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(!get_create.request_id().is_empty());
}

#[tokio::test]
async fn workspaces_get_names_a_sandbox_workspace() {
    let seam = start();
    let answer = seam.get("/workspaces/get", "").await;
    assert_eq!(answer.ok()["workspace"]["is_sandbox"], true);
    assert_eq!(answer.json["workspace"]["workspace_id"], seeds::WORKSPACE);
}
