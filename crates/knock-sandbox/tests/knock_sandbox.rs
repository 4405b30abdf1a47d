//! The Knock sandbox over real HTTP: every point of API.md §11, DST-correct availability and
//! each kind of injected fault.
use std::net::TcpListener;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use knock_sandbox::{
    AppointmentStatus, Fault, FaultRoute, MessageChannel, MessageKind, MessageStatus, Profile,
    Sandbox, SandboxCommunity, SandboxConfig, SandboxSnapshot, TourType, STAGE_APPOINTMENT_KEY,
    STAGE_COMMUNITY_ID, STAGE_PROSPECT_KEY,
};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY: &str = STAGE_APPOINTMENT_KEY;
const EXTRA_KEY: &str = "partnerProductionKey0123456789abcdefABCD";
/// The sandbox clock in most tests: Monday 2026-06-01, 05:00 in Los Angeles.
const NOW: &str = "2026-06-01T12:00:00Z";
/// Stage-community slots (America/Los_Angeles, 30-minute tours).
const SLOT_A: &str = "2026-06-02T10:00:00-07:00";
const SLOT_B: &str = "2026-06-02T11:00:00-07:00";
const SLOT_C: &str = "2026-06-03T14:30:00-07:00";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid test time")
        .with_timezone(&Utc)
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    fn error(&self) -> String {
        self.json()["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

struct TestSandbox {
    sandbox: Sandbox,
    base: String,
    http: reqwest::Client,
}

async fn spawn_with(config: SandboxConfig) -> TestSandbox {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    let sandbox = Sandbox::new(config);
    sandbox.set_now(Some(at(NOW)));
    let server = sandbox.start(listener).expect("start the sandbox");
    tokio::spawn(server);
    TestSandbox {
        sandbox,
        base,
        http: reqwest::Client::new(),
    }
}

async fn spawn() -> TestSandbox {
    spawn_with(SandboxConfig {
        extra_api_keys: vec![EXTRA_KEY.to_owned()],
        ..SandboxConfig::default()
    })
    .await
}

fn community(id: &str, tz: chrono_tz::Tz) -> SandboxCommunity {
    SandboxCommunity::new(id, id, tz, 30, vec!["101".to_owned()])
}

impl TestSandbox {
    fn request(&self, method: Method, path: &str, key: Option<&str>) -> reqwest::RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("content-type", "application/json");
        match key {
            Some(key) => builder.header("x-api-key", key),
            None => builder,
        }
    }

    async fn answer(builder: reqwest::RequestBuilder) -> Answer {
        let response = builder.send().await.expect("the sandbox answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a whole body");
        Answer {
            status,
            headers,
            text,
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let builder = self.request(method, path, key);
        let builder = match body {
            Some(body) => builder.body(body.to_string()),
            None => builder,
        };
        Self::answer(builder).await
    }

    async fn raw(&self, method: Method, path: &str, body: &'static str) -> Answer {
        Self::answer(self.request(method, path, Some(KEY)).body(body)).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(KEY), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(KEY), Some(&body)).await
    }

    async fn cancel(&self, appointment_id: &str) -> Answer {
        let path = format!("/appointment/{appointment_id}/cancel");
        self.call(Method::PUT, &path, Some(KEY), None).await
    }

    async fn available(&self, community_id: &str, self_guided: bool) -> Vec<String> {
        let answer = self
            .get(&format!(
                "/community/{community_id}/available-times?forSelfGuided={self_guided}"
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        serde_json::from_value(answer.json()["acceptableTimes"].clone()).expect("a list of strings")
    }

    async fn book(&self, body: Value) -> Answer {
        self.post("/appointment/request", body).await
    }

    /// Books and returns (appointment id, prospect id).
    async fn booked(&self, body: Value) -> (String, String) {
        let answer = self.book(body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let appointment = &answer.json()["appointment"];
        (
            appointment["id"].as_str().expect("an id").to_owned(),
            appointment["prospectId"]
                .as_str()
                .expect("a prospect id")
                .to_owned(),
        )
    }

    async fn create_prospect(&self, body: Value) -> String {
        let answer = self.post("/prospect", body).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.json()["id"].as_str().expect("an id").to_owned()
    }
}

fn booking(community_id: &str, start: &str, email: &str) -> Value {
    json!({
        "communityId": community_id,
        "requestedTimes": [{ "startTime": start }],
        "tourType": "IN_PERSON",
        "sourceTitle": "Property Website",
        "profile": { "firstName": "New", "lastName": "Lead", "email": email },
    })
}

fn self_guided(community_id: &str, start: &str, email: &str) -> Value {
    let mut body = booking(community_id, start, email);
    body["tourType"] = json!("SELF_GUIDED");
    body
}

fn prospect_body(email: &str) -> Value {
    json!({
        "communityId": STAGE_COMMUNITY_ID,
        "sourceTitle": "Property Website",
        "firstName": "New",
        "lastName": "Lead",
        "email": email,
    })
}

fn email_body(email_type: &str) -> Value {
    json!({
        "type": email_type,
        "sentTime": "2026-06-01T11:22:06.214Z",
        "agent": { "username": "2be16a9e-b3ab-4b1f-9632-575aca1a3d20" },
        "subject": "Your tour",
        "body": "<html>Hello World Email</html>",
    })
}

/// A copy of `body` with the member at `pointer` ("/profile/phone", "/requestedTimes/0") set.
fn set(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    let mut target = &mut body;
    for segment in pointer.trim_start_matches('/').split('/') {
        target = match segment.parse::<usize>() {
            Ok(index) => &mut target[index],
            Err(_) => &mut target[segment],
        };
    }
    *target = value;
    body
}

fn is_knock_output_time(text: &str) -> bool {
    let Some(rest) = text.strip_suffix("+00:00") else {
        return false;
    };
    let fraction_ok = match rest.split_once('.') {
        Some((_, fraction)) => fraction.len() == 6 && fraction.bytes().all(|b| b.is_ascii_digit()),
        None => true,
    };
    fraction_ok && DateTime::parse_from_rfc3339(text).is_ok()
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

// --- Keys and routes -------------------------------------------------------------------------

#[tokio::test]
async fn both_stage_keys_and_extra_keys_are_accepted_on_every_route() {
    let app = spawn().await;
    for (round, key) in [STAGE_PROSPECT_KEY, STAGE_APPOINTMENT_KEY, EXTRA_KEY]
        .into_iter()
        .enumerate()
    {
        let key = Some(key);
        let email = format!("lead{round}@example.com");
        let times = app
            .call(
                Method::GET,
                &format!("/community/{STAGE_COMMUNITY_ID}/available-times"),
                key,
                None,
            )
            .await;
        assert_eq!(
            times.status,
            StatusCode::OK,
            "available-times: {}",
            times.text
        );
        let created = app
            .call(Method::POST, "/prospect", key, Some(&prospect_body(&email)))
            .await;
        assert_eq!(created.status, StatusCode::OK, "prospect: {}", created.text);
        let prospect_id = created.json()["id"].as_str().expect("id").to_owned();
        let got = app
            .call(Method::GET, &format!("/prospect/{prospect_id}"), key, None)
            .await;
        assert_eq!(got.status, StatusCode::OK, "get prospect: {}", got.text);
        let events = app
            .call(
                Method::GET,
                &format!("/prospect/{prospect_id}/events"),
                key,
                None,
            )
            .await;
        assert_eq!(events.status, StatusCode::OK, "events: {}", events.text);
        let logged = app
            .call(
                Method::POST,
                &format!("/prospect/{prospect_id}/email"),
                key,
                Some(&email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT")),
            )
            .await;
        assert_eq!(logged.status, StatusCode::OK, "email: {}", logged.text);
        let slot = [SLOT_A, SLOT_B, SLOT_C][round];
        let booked = app
            .call(
                Method::POST,
                "/appointment/request",
                key,
                Some(&booking(STAGE_COMMUNITY_ID, slot, &email)),
            )
            .await;
        assert_eq!(
            booked.status,
            StatusCode::OK,
            "appointment: {}",
            booked.text
        );
        let appointment_id = booked.json()["appointment"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let visit = json!({ "prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z" });
        let visited = app.call(Method::POST, "/visit", key, Some(&visit)).await;
        assert_eq!(visited.status, StatusCode::OK, "visit: {}", visited.text);
        let cancelled = app
            .call(
                Method::PUT,
                &format!("/appointment/{appointment_id}/cancel"),
                key,
                None,
            )
            .await;
        assert_eq!(
            cancelled.status,
            StatusCode::OK,
            "cancel: {}",
            cancelled.text
        );
    }
}

#[tokio::test]
async fn a_missing_or_unknown_key_is_forbidden_on_every_route_and_changes_nothing() {
    let app = spawn().await;
    let prospect_id = app.create_prospect(prospect_body("lead@example.com")).await;
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::GET,
            format!("/community/{STAGE_COMMUNITY_ID}/available-times"),
            None,
        ),
        (
            Method::POST,
            "/appointment/request".into(),
            Some(booking(STAGE_COMMUNITY_ID, SLOT_A, "x@example.com")),
        ),
        (Method::PUT, "/appointment/2/cancel".into(), None),
        (
            Method::POST,
            "/visit".into(),
            Some(json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z"})),
        ),
        (
            Method::POST,
            "/prospect".into(),
            Some(prospect_body("y@example.com")),
        ),
        (Method::GET, format!("/prospect/{prospect_id}"), None),
        (Method::GET, format!("/prospect/{prospect_id}/events"), None),
        (
            Method::POST,
            format!("/prospect/{prospect_id}/email"),
            Some(email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT")),
        ),
    ];
    for (method, path, body) in calls {
        for key in [None, Some("syndication-prospect-test-key"), Some("")] {
            let answer = app.call(method.clone(), &path, key, body.as_ref()).await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{method} {path} with {key:?}"
            );
            assert_eq!(answer.text, r#"{"message":"Forbidden"}"#, "{method} {path}");
        }
    }
    let snapshot = app.sandbox.snapshot();
    assert!(
        snapshot.appointments.is_empty()
            && snapshot.visits.is_empty()
            && snapshot.emails.is_empty()
    );
    assert_eq!(snapshot.prospects.len(), 1);
}

#[tokio::test]
async fn an_unknown_route_or_method_is_answered_before_the_key_is_checked() {
    let app = spawn().await;
    let calls = [
        (Method::GET, "/appointment/request", Some(KEY)),
        (Method::POST, "/appointments", Some(KEY)),
        (Method::DELETE, "/prospect/47569637", None),
        (Method::GET, "/prospect", Some(KEY)),
        (Method::POST, "/appointment/2/reschedule", Some(KEY)),
        (Method::GET, "/", None),
        (Method::GET, "/v1/prospect/1", Some("wrong")),
    ];
    for (method, path, key) in calls {
        let answer = app.call(method.clone(), path, key, None).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            answer.text, r#"{"message":"Missing Authentication Token"}"#,
            "{method} {path}"
        );
    }
}

// --- Documented errors -----------------------------------------------------------------------

#[tokio::test]
async fn prospect_errors_match_the_documented_texts_byte_for_byte_on_every_route() {
    let app = spawn().await;
    let malformed = r#"{"errorMessage":"Id 12a is not a valid prospect id. Id must be a number."}"#;
    let unknown = r#"{"errorCode":"CORE_API_GET_PROSPECT_FAIL","errorMessage":"Unable to get prospect upstream - Prospect_id 0 does not exist."}"#;
    for (id, expected) in [("12a", malformed), ("0", unknown)] {
        let answers = [
            app.get(&format!("/prospect/{id}")).await,
            app.get(&format!("/prospect/{id}/events")).await,
            app.post(
                &format!("/prospect/{id}/email"),
                email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT"),
            )
            .await,
            app.post(
                "/visit",
                json!({"prospectId": id, "visitTime": "2026-06-01T11:00:00Z"}),
            )
            .await,
        ];
        for answer in answers {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST);
            assert_eq!(answer.text, expected);
        }
    }
}

#[tokio::test]
async fn every_invalid_appointment_request_names_its_field() {
    let app = spawn().await;
    let valid = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    let with = |pointer: &str, value: Value| set(&valid, pointer, value);
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().expect("object").remove(key);
        body
    };
    let without_in_profile = |key: &str| {
        let mut body = valid.clone();
        body["profile"].as_object_mut().expect("object").remove(key);
        body
    };
    let cases = [
        (without("communityId"), "communityId: is required"),
        (
            with("/communityId", json!(7)),
            "communityId: must be a string",
        ),
        (without("requestedTimes"), "requestedTimes: is required"),
        (
            with("/requestedTimes", json!([])),
            "requestedTimes: must not be empty",
        ),
        (
            with("/requestedTimes", json!("soon")),
            "requestedTimes: must be an array",
        ),
        (
            with("/requestedTimes/0", json!({})),
            "requestedTimes[0].startTime: is required",
        ),
        (
            with("/requestedTimes/0/startTime", json!("2026-06-02T10:00:00")),
            "requestedTimes[0].startTime: must be an RFC 3339 date-time with an offset",
        ),
        (
            with(
                "/requestedTimes/0",
                json!({"startTime": SLOT_A, "endTime": "2026-06-02T09:30:00-07:00"}),
            ),
            "requestedTimes[0].endTime: must be after startTime",
        ),
        (
            with("/tourType", json!("VIDEO")),
            "tourType: must be one of SELF_GUIDED, IN_PERSON",
        ),
        (
            with("/smsConsent", json!("yes")),
            "smsConsent: must be a boolean",
        ),
        (without("profile"), "profile: is required"),
        (
            without_in_profile("lastName"),
            "profile.lastName: is required",
        ),
        (
            without_in_profile("email"),
            "profile.email: is required unless profile.phone is given",
        ),
        (
            with("/profile/email", json!("not-an-address")),
            "profile.email: must be an e-mail address",
        ),
        (
            with("/profile/phone", json!("call me")),
            "profile.phone: must be a phone number",
        ),
        (
            with("/profile/bedrooms", json!(["STUDIO", "4_BEDROOMS"])),
            "profile.bedrooms[1]: must be one of STUDIO, 1_BEDROOM, 2_BEDROOMS, 3_OR_MORE_BEDROOMS",
        ),
        (
            with("/profile/occupants", json!(-1)),
            "profile.occupants: must be a non-negative integer",
        ),
        (
            with("/profile/moveDate", json!("01/15/2027")),
            "profile.moveDate: must be a date (YYYY-MM-DD)",
        ),
    ];
    for (body, expected) in cases {
        let answer = app.book(body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{expected}");
        assert_eq!(answer.json(), json!({ "errorMessage": expected }));
    }
    for (raw, expected) in [
        ("{\"communityId\": ", "body: must be valid JSON"),
        ("", "body: must be valid JSON"),
        ("[1, 2]", "body: must be a JSON object"),
    ] {
        let answer = app.raw(Method::POST, "/appointment/request", raw).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(answer.error(), expected);
    }
    let unknown = app.book(with("/communityId", json!("nope"))).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error(), "Community nope does not exist.");
    assert!(app.sandbox.snapshot().appointments.is_empty());
    assert!(app.sandbox.snapshot().prospects.is_empty());
}

#[tokio::test]
async fn unknown_json_members_are_ignored() {
    let app = spawn().await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["utmCampaign"] = json!({"nested": [1, 2]});
    body["profile"]["pets"] = json!([]);
    body["profile"]["favouriteColour"] = json!("teal");
    assert_eq!(app.book(body).await.status, StatusCode::OK);
}

#[tokio::test]
async fn other_routes_refuse_invalid_input_with_field_messages() {
    let app = spawn().await;
    let prospect_id = app.create_prospect(prospect_body("lead@example.com")).await;
    let no_source =
        json!({"communityId": STAGE_COMMUNITY_ID, "lastName": "L", "email": "a@example.com"});
    let no_contact = json!({"communityId": STAGE_COMMUNITY_ID, "sourceTitle": "Property Website", "lastName": "L"});
    let unknown_community =
        json!({"communityId": "nope", "sourceTitle": "S", "email": "a@example.com"});
    let no_community = json!({"sourceTitle": "S", "email": "a@example.com"});
    let bad_budget = json!({"communityId": STAGE_COMMUNITY_ID, "sourceTitle": "S", "email": "a@example.com", "maxBudget": "2000"});
    for (body, expected) in [
        (no_source, "sourceTitle: is required"),
        (no_contact, "email: is required unless phone is given"),
        (unknown_community, "Community nope does not exist."),
        (no_community, "communityId: is required"),
        (bad_budget, "maxBudget: must be a non-negative integer"),
    ] {
        let answer = app.post("/prospect", body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (StatusCode::BAD_REQUEST, expected.to_owned())
        );
    }

    let visit = |extra: Value| {
        let mut body = json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z"});
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    for (body, expected) in [
        (
            json!({"visitTime": "2026-06-01T11:00:00Z"}),
            "prospectId: is required",
        ),
        (
            json!({"prospectId": 47569637, "visitTime": "2026-06-01T11:00:00Z"}),
            "prospectId: must be a string",
        ),
        (json!({"prospectId": prospect_id}), "visitTime: is required"),
        (
            visit(json!({"visitTime": "yesterday"})),
            "visitTime: must be an RFC 3339 date-time with an offset",
        ),
        (
            visit(json!({"isSelfGuided": "true"})),
            "isSelfGuided: must be a boolean",
        ),
        (
            visit(json!({"unitNames": ["101", 102]})),
            "unitNames[1]: must be a string",
        ),
        (
            visit(json!({"unitNames": "101"})),
            "unitNames: must be an array",
        ),
        (
            visit(json!({"appointmentId": "999"})),
            "Appointment 999 does not exist.",
        ),
    ] {
        let answer = app.post("/visit", body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (StatusCode::BAD_REQUEST, expected.to_owned())
        );
    }

    let path = format!("/prospect/{prospect_id}/email");
    let full = email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT");
    for (field, expected) in [
        ("type", "type: is required"),
        ("sentTime", "sentTime: is required"),
        ("agent", "agent: is required"),
        ("subject", "subject: is required"),
        ("body", "body: is required"),
    ] {
        let mut body = full.clone();
        body.as_object_mut().expect("object").remove(field);
        let answer = app.post(&path, body).await;
        assert_eq!(
            (answer.status, answer.error()),
            (StatusCode::BAD_REQUEST, expected.to_owned())
        );
    }
    let mut no_username = full.clone();
    no_username["agent"] = json!({});
    let mut bad_type = full.clone();
    bad_type["type"] = json!("SMS_SENT");
    for (body, expected) in [
        (no_username, "agent.username: is required"),
        (
            bad_type,
            "type: must be one of EMAIL_MESSAGE_TO_PROSPECT_SENT, EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED, EMAIL_AUTOMATED_MESSAGE_SENT",
        ),
    ] {
        let answer = app.post(&path, body).await;
        assert_eq!((answer.status, answer.error()), (StatusCode::BAD_REQUEST, expected.to_owned()));
    }
    assert!(app.sandbox.snapshot().emails.is_empty());
    assert!(app.sandbox.snapshot().visits.is_empty());

    let times = app
        .get(&format!(
            "/community/{STAGE_COMMUNITY_ID}/available-times?forSelfGuided=yes"
        ))
        .await;
    assert_eq!(
        (times.status, times.error()),
        (
            StatusCode::BAD_REQUEST,
            "forSelfGuided: must be true or false".to_owned()
        )
    );
    let unknown = app.get("/community/nope/available-times").await;
    assert_eq!(
        (unknown.status, unknown.error()),
        (
            StatusCode::BAD_REQUEST,
            "Community nope does not exist.".to_owned()
        )
    );
}

// --- Booking ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_booking_answers_with_the_appointment_in_knocks_output_format() {
    let app = spawn().await;
    let answer = app
        .book(self_guided(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let appointment = &answer.json()["appointment"];
    assert!(is_digits(appointment["id"].as_str().unwrap_or_default()));
    assert!(is_digits(
        appointment["prospectId"].as_str().unwrap_or_default()
    ));
    assert_eq!(appointment["status"], "CONFIRMED");
    assert_eq!(appointment["tourType"], "SELF_GUIDED");
    assert_eq!(appointment["startTime"], "2026-06-02T17:00:00+00:00");
    assert_eq!(appointment["endTime"], "2026-06-02T17:30:00+00:00");
}

#[tokio::test]
async fn a_time_that_is_not_acceptable_is_refused_and_the_first_bookable_one_wins() {
    let app = spawn().await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["requestedTimes"] = json!([
        {"startTime": "2026-06-02T10:15:00-07:00"},
        {"startTime": "2026-06-01T05:30:00-07:00"},
        {"startTime": "2026-06-02T18:00:00Z"},
        {"startTime": "2026-06-02T12:00:00-07:00"},
    ]);
    let answer = app.book(body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    // 18:00Z is 11:00 in Los Angeles: instants are compared, whatever the offset.
    assert_eq!(
        answer.json()["appointment"]["startTime"],
        "2026-06-02T18:00:00+00:00"
    );

    for start in [
        "2026-06-02T10:15:00-07:00", // off the grid
        "2026-06-01T05:30:00-07:00", // before now + notice
        "2026-06-02T18:00:00-07:00", // the tour would end after closing
        "2026-06-20T10:00:00-07:00", // beyond the horizon
        "2026-06-02T11:00:00-07:00", // taken
    ] {
        let answer = app
            .book(booking(STAGE_COMMUNITY_ID, start, "other@example.com"))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{start}");
        assert_eq!(
            answer.text,
            r#"{"errorMessage":"requested time not bookable"}"#
        );
    }
    assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
}

#[tokio::test]
async fn the_prospect_is_created_or_matched_by_email_or_phone_within_the_community() {
    let other = community("otherCommunity01", chrono_tz::America::Los_Angeles);
    let app = spawn_with(SandboxConfig {
        communities: vec![other],
        ..SandboxConfig::default()
    })
    .await;
    let mut first = booking(STAGE_COMMUNITY_ID, SLOT_A, "Lead@Example.com");
    first["profile"]["phone"] = json!("2065550199");
    let (_, prospect) = app.booked(first).await;
    let (_, by_email) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_B, "LEAD@example.COM"))
        .await;
    let mut by_phone = booking(STAGE_COMMUNITY_ID, SLOT_C, "someone.else@example.com");
    by_phone["profile"]["phone"] = json!("+1 (206) 555-0199");
    let (_, by_phone) = app.booked(by_phone).await;
    let (_, elsewhere) = app
        .booked(booking("otherCommunity01", SLOT_A, "lead@example.com"))
        .await;
    assert_eq!(by_email, prospect);
    assert_eq!(by_phone, prospect);
    assert_ne!(elsewhere, prospect);
    assert_eq!(app.sandbox.snapshot().prospects.len(), 2);
    let card = app.get(&format!("/prospect/{prospect}")).await.json();
    assert_eq!(card["phone"], "+12065550199");
    assert_eq!(card["email"], "Lead@Example.com");
}

#[tokio::test]
async fn a_new_booking_cancels_the_prospects_earlier_upcoming_appointment() {
    let app = spawn().await;
    let (first, prospect) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    assert!(!app
        .available(STAGE_COMMUNITY_ID, false)
        .await
        .contains(&SLOT_A.to_owned()));
    let (second, same) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_B, "lead@example.com"))
        .await;
    assert_eq!(same, prospect);
    let snapshot = app.sandbox.snapshot();
    let status = |id: &str| {
        snapshot
            .appointments
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.status)
    };
    assert_eq!(status(&first), Some(AppointmentStatus::Cancelled));
    assert_eq!(status(&second), Some(AppointmentStatus::Confirmed));
    let free = app.available(STAGE_COMMUNITY_ID, false).await;
    assert!(free.contains(&SLOT_A.to_owned()));
    assert!(!free.contains(&SLOT_B.to_owned()));
}

#[tokio::test]
async fn booked_slots_disappear_from_available_times_and_come_back_when_cancelled() {
    let app = spawn().await;
    let before = app.available(STAGE_COMMUNITY_ID, false).await;
    assert!(before.contains(&SLOT_A.to_owned()));
    let (id, _) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    let after = app.available(STAGE_COMMUNITY_ID, false).await;
    assert_eq!(after.len(), before.len() - 1);
    assert!(!after.contains(&SLOT_A.to_owned()));
    assert_eq!(app.cancel(&id).await.status, StatusCode::OK);
    assert_eq!(app.available(STAGE_COMMUNITY_ID, false).await, before);
}

#[tokio::test]
async fn the_overlap_setting_decides_whether_the_tour_types_block_each_other() {
    let strict = community("noOverlap0000001", chrono_tz::America::Los_Angeles);
    let mut relaxed = community("mayOverlap000001", chrono_tz::America::Los_Angeles);
    relaxed.self_guided_may_overlap = true;
    let app = spawn_with(SandboxConfig {
        communities: vec![strict, relaxed],
        ..SandboxConfig::default()
    })
    .await;
    for id in ["noOverlap0000001", "mayOverlap000001"] {
        app.booked(booking(id, SLOT_A, "in.person@example.com"))
            .await;
        app.booked(self_guided(id, SLOT_B, "self.guided@example.com"))
            .await;
    }
    let slot_a = SLOT_A.to_owned();
    let slot_b = SLOT_B.to_owned();
    let strict_self = app.available("noOverlap0000001", true).await;
    let strict_in_person = app.available("noOverlap0000001", false).await;
    assert!(!strict_self.contains(&slot_a) && !strict_self.contains(&slot_b));
    assert!(!strict_in_person.contains(&slot_a) && !strict_in_person.contains(&slot_b));
    let relaxed_self = app.available("mayOverlap000001", true).await;
    let relaxed_in_person = app.available("mayOverlap000001", false).await;
    assert!(relaxed_self.contains(&slot_a) && !relaxed_self.contains(&slot_b));
    assert!(!relaxed_in_person.contains(&slot_a) && relaxed_in_person.contains(&slot_b));
    // Refused by the booking check too, not only hidden from the list.
    let refused = app
        .book(self_guided("noOverlap0000001", SLOT_A, "third@example.com"))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let allowed = app
        .book(self_guided("mayOverlap000001", SLOT_A, "third@example.com"))
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn a_self_guided_end_time_sets_the_span_and_an_in_person_one_is_ignored() {
    let app = spawn().await;
    let mut long = self_guided(STAGE_COMMUNITY_ID, SLOT_A, "long@example.com");
    long["requestedTimes"][0]["endTime"] = json!("2026-06-02T11:00:00-07:00");
    let answer = app.book(long).await;
    assert_eq!(
        answer.json()["appointment"]["endTime"],
        "2026-06-02T18:00:00+00:00"
    );
    let free = app.available(STAGE_COMMUNITY_ID, true).await;
    assert!(!free.contains(&"2026-06-02T10:30:00-07:00".to_owned()));
    assert!(free.contains(&SLOT_B.to_owned()));

    let mut in_person = booking(STAGE_COMMUNITY_ID, SLOT_C, "short@example.com");
    in_person["requestedTimes"][0]["endTime"] = json!("2026-06-03T17:00:00-07:00");
    let answer = app.book(in_person).await;
    assert_eq!(
        answer.json()["appointment"]["endTime"],
        "2026-06-03T22:00:00+00:00"
    );

    // A long self-guided tour must not run into a booked slot.
    let mut clash = self_guided(
        STAGE_COMMUNITY_ID,
        "2026-06-03T13:30:00-07:00",
        "clash@example.com",
    );
    clash["requestedTimes"][0]["endTime"] = json!("2026-06-03T15:00:00-07:00");
    assert_eq!(app.book(clash).await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_booking_records_the_event_and_the_messages_knock_sends() {
    let app = spawn().await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["smsConsent"] = json!(true);
    body["profile"]["phone"] = json!("2065550155");
    let (appointment_id, prospect_id) = app.booked(body.clone()).await;
    let snapshot = app.sandbox.snapshot();
    let appointment = &snapshot.appointments[0];
    assert_eq!(appointment.profile.value(), body["profile"]);
    assert!(appointment.sms_consent);
    assert_eq!(appointment.tour_type, TourType::InPerson);
    assert_eq!(
        appointment.source_title.as_deref(),
        Some("Property Website")
    );
    let kinds: Vec<_> = snapshot
        .messages
        .iter()
        .map(|m| (m.channel, m.kind, m.status, m.send_at))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                MessageChannel::Email,
                MessageKind::Confirmation,
                MessageStatus::Sent,
                appointment.created_at
            ),
            (
                MessageChannel::Sms,
                MessageKind::Confirmation,
                MessageStatus::Sent,
                appointment.created_at
            ),
            (
                MessageChannel::Sms,
                MessageKind::Reminder,
                MessageStatus::Scheduled,
                at("2026-06-02T15:00:00Z")
            ),
        ]
    );
    let events = app
        .get(&format!("/prospect/{prospect_id}/events"))
        .await
        .json();
    let node = &events["edges"][0]["node"];
    assert_eq!(node["type"], "APPOINTMENT_CREATED");
    assert_eq!(
        node["description"],
        "A tour appointment was scheduled via knock"
    );
    assert_eq!(node["source"], json!({"title": "Property Website"}));
    assert_eq!(
        node["data"],
        json!({"startTime": "2026-06-02T17:00:00+00:00", "endTime": "2026-06-02T17:30:00+00:00",
               "status": "confirmed", "tourType": "IN_PERSON"})
    );
    assert!(is_knock_output_time(
        node["eventTime"].as_str().unwrap_or_default()
    ));
    // Cancelling withdraws the scheduled reminder.
    app.cancel(&appointment_id).await;
    let reminder = app.sandbox.snapshot().messages[2].status;
    assert_eq!(reminder, MessageStatus::Cancelled);
}

#[tokio::test]
async fn without_sms_consent_no_text_is_sent() {
    let app = spawn().await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["profile"]["phone"] = json!("2065550155");
    app.booked(body).await;
    let channels: Vec<_> = app
        .sandbox
        .snapshot()
        .messages
        .iter()
        .map(|m| m.channel)
        .collect();
    assert_eq!(channels, [MessageChannel::Email]);
}

#[tokio::test]
async fn concurrent_bookings_of_one_slot_have_exactly_one_winner() {
    let app = spawn().await;
    let attempts = (0..8).map(|i| {
        app.book(booking(
            STAGE_COMMUNITY_ID,
            SLOT_A,
            &format!("p{i}@example.com"),
        ))
    });
    let answers = futures_util::future::join_all(attempts).await;
    let winners = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .count();
    let refused = answers
        .iter()
        .filter(|a| {
            a.status == StatusCode::BAD_REQUEST && a.error() == "requested time not bookable"
        })
        .count();
    assert_eq!((winners, refused), (1, 7));
    assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
}

// --- Cancel ----------------------------------------------------------------------------------

#[tokio::test]
async fn cancelling_twice_answers_the_same_and_an_unknown_id_is_refused() {
    let app = spawn().await;
    let (id, prospect_id) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    let first = app.cancel(&id).await;
    assert_eq!(first.status, StatusCode::OK);
    let expected = json!({"appointment": {"id": id, "status": "CANCELLED", "startTime": "2026-06-02T17:00:00+00:00",
        "endTime": "2026-06-02T17:30:00+00:00", "tourType": "IN_PERSON", "prospectId": prospect_id}});
    assert_eq!(first.json(), expected);
    // With an empty JSON body this time: a body is accepted and ignored.
    let second = app
        .raw(Method::PUT, &format!("/appointment/{id}/cancel"), "")
        .await;
    assert_eq!((second.status, second.json()), (StatusCode::OK, expected));
    for unknown in ["999999", "abc"] {
        let answer = app.cancel(unknown).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            answer.error(),
            format!("Appointment {unknown} does not exist.")
        );
    }
}

// --- Visits ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_visit_is_recorded_with_matched_units_and_a_repeat_is_a_second_visit() {
    let app = spawn().await;
    let (appointment_id, prospect_id) = app
        .booked(self_guided(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    let body = json!({
        "prospectId": prospect_id, "appointmentId": appointment_id, "visitTime": "2026-06-01T11:22:06.214Z",
        "isSelfGuided": true, "sourceTitle": "Property Website", "unitNames": ["unit5a", " 1 2 3", "PH2", "999"],
    });
    let first = app.post("/visit", body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = app.post("/visit", body).await;
    let ids = [
        first.json()["visitId"].clone(),
        second.json()["visitId"].clone(),
    ];
    assert!(ids
        .iter()
        .all(|id| is_digits(id.as_str().unwrap_or_default())));
    assert_ne!(ids[0], ids[1]);
    let snapshot = app.sandbox.snapshot();
    assert_eq!(snapshot.visits.len(), 2);
    let visit = &snapshot.visits[0];
    assert_eq!(visit.unit_names, ["unit5a", " 1 2 3", "PH2", "999"]);
    assert_eq!(visit.matched_units, ["Unit 5A", "123", "PH 2"]);
    assert_eq!(visit.visit_time, at("2026-06-01T11:22:06.214Z"));
    assert_eq!(
        visit.appointment_id.as_deref(),
        Some(appointment_id.as_str())
    );
    assert_eq!(visit.is_self_guided, Some(true));

    // No unit matches: still recorded.
    let none = json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:30:00Z", "unitNames": ["999"]});
    assert_eq!(app.post("/visit", none).await.status, StatusCode::OK);
    assert!(app.sandbox.snapshot().visits[2].matched_units.is_empty());
}

#[tokio::test]
async fn a_visit_in_the_future_or_for_another_prospects_appointment_is_refused() {
    let app = spawn().await;
    let (appointment_id, prospect_id) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    let other = app
        .create_prospect(prospect_body("other@example.com"))
        .await;
    let future = app
        .post(
            "/visit",
            json!({"prospectId": prospect_id, "visitTime": "2026-06-01T12:05:00Z"}),
        )
        .await;
    assert_eq!(future.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        future.text,
        r#"{"errorMessage":"visitTime: must not be in the future"}"#
    );
    let foreign = app
        .post("/visit", json!({"prospectId": other, "appointmentId": appointment_id, "visitTime": "2026-06-01T11:00:00Z"}))
        .await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        foreign.error(),
        format!("Appointment {appointment_id} does not belong to prospect {other}.")
    );
    assert!(app.sandbox.snapshot().visits.is_empty());
}

// --- Prospects -------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_prospect_reads_back_with_every_documented_member() {
    let app = spawn().await;
    let id = app
        .create_prospect(json!({
            "communityId": STAGE_COMMUNITY_ID, "sourceTitle": "Property Website", "firstName": "New", "lastName": "Lead",
            "phone": "2065550155", "moveDate": "2027-01-15", "bedrooms": ["STUDIO"], "firstContactType": "internet",
        }))
        .await;
    assert_eq!(id, "47569637");
    let answer = app.get(&format!("/prospect/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK);
    let card = answer.json();
    let mut members: Vec<&str> = card
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    members.sort_unstable();
    let mut documented = vec![
        "prospectId",
        "communityId",
        "email",
        "phone",
        "agent",
        "address",
        "unit",
        "city",
        "state",
        "zip",
        "source",
        "firstName",
        "lastName",
        "moveDate",
        "bedrooms",
        "pets",
        "occupants",
        "leaseTermMonths",
        "minBudget",
        "maxBudget",
        "smsConsent",
        "isDeleted",
        "notProspect",
        "createdAt",
        "updatedAt",
        "firstContactType",
        "status",
    ];
    documented.sort_unstable();
    assert_eq!(members, documented);
    assert_eq!(card["prospectId"], "47569637");
    assert_eq!(card["communityId"], STAGE_COMMUNITY_ID);
    assert_eq!(card["phone"], "+12065550155");
    assert_eq!(card["email"], Value::Null);
    assert_eq!(card["agent"], Value::Null);
    assert_eq!(card["pets"], Value::Null);
    assert_eq!(card["source"], json!({"title": "Property Website"}));
    assert_eq!(card["moveDate"], "2027-01-15");
    assert_eq!(card["bedrooms"], json!(["STUDIO"]));
    assert_eq!(card["status"], "new");
    assert_eq!(card["smsConsent"], false);
    assert_eq!(card["isDeleted"], false);
    assert_eq!(card["firstContactType"], "internet");
    assert!(
        is_knock_output_time(card["createdAt"].as_str().unwrap_or_default()),
        "{}",
        card["createdAt"]
    );
    assert!(is_knock_output_time(
        card["updatedAt"].as_str().unwrap_or_default()
    ));
    // Leading zeros name the same prospect: ids are numbers.
    assert_eq!(
        app.get(&format!("/prospect/00{id}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_repeat_prospect_post_updates_only_the_agent_field_list_and_keeps_the_id() {
    let app = spawn().await;
    let mut first = prospect_body("lead@example.com");
    first["city"] = json!("Seattle");
    first["occupants"] = json!(2);
    let id = app.create_prospect(first).await;
    let repeat = json!({
        "communityId": STAGE_COMMUNITY_ID, "sourceTitle": "Another Source", "email": "LEAD@example.com",
        "firstName": "Renamed", "agent": {"username": "2be16a9e-b3ab-4b1f-9632-575aca1a3d20"},
        "minBudget": 1000, "maxBudget": 2000, "leaseTermMonths": 12, "city": "Portland", "phone": "2065550155",
    });
    assert_eq!(app.create_prospect(repeat).await, id);
    let card = app.get(&format!("/prospect/{id}")).await.json();
    assert_eq!(card["firstName"], "Renamed");
    assert_eq!(card["lastName"], "Lead");
    assert_eq!(
        card["agent"],
        json!({"username": "2be16a9e-b3ab-4b1f-9632-575aca1a3d20"})
    );
    assert_eq!(
        (card["minBudget"].clone(), card["maxBudget"].clone()),
        (json!(1000), json!(2000))
    );
    assert_eq!(card["leaseTermMonths"], 12);
    assert_eq!(card["occupants"], 2);
    assert_eq!(card["phone"], "+12065550155");
    assert_eq!(card["email"], "LEAD@example.com");
    assert_eq!(card["source"], json!({"title": "Property Website"}));
    assert_eq!(card["city"], "Seattle");
    assert_eq!(app.sandbox.snapshot().prospects.len(), 1);
    // Matched by phone alone now, too.
    let by_phone =
        json!({"communityId": STAGE_COMMUNITY_ID, "sourceTitle": "S", "phone": "(206) 555-0155"});
    assert_eq!(app.create_prospect(by_phone).await, id);
}

#[tokio::test]
async fn events_are_paged_with_base64_position_cursors() {
    let app = spawn().await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["smsConsent"] = json!(true);
    body["profile"]["phone"] = json!("2065550155");
    let (_, prospect_id) = app.booked(body).await;
    let logged = app
        .post(
            &format!("/prospect/{prospect_id}/email"),
            email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT"),
        )
        .await;
    assert_eq!(logged.status, StatusCode::OK);
    let path = format!("/prospect/{prospect_id}/events");

    let all = app.get(&path).await.json();
    let all_types: Vec<Value> = all["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["type"].clone())
        .collect();
    assert_eq!(all_types.len(), 5);
    assert_eq!(all_types[0], "APPOINTMENT_CREATED");
    assert_eq!(all_types[4], "EMAIL_MESSAGE_TO_PROSPECT_SENT");
    assert_eq!(
        all["pageInfo"],
        json!({"endCursor": "NQ==", "hasNextPage": false})
    );

    let mut seen = Vec::new();
    let mut cursors = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(cursor) => format!("{path}?first=2&after={cursor}"),
            None => format!("{path}?first=2"),
        };
        let page = app.get(&query).await.json();
        for edge in page["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["type"].clone());
        }
        let cursor = page["pageInfo"]["endCursor"]
            .as_str()
            .expect("a cursor")
            .to_owned();
        cursors.push(cursor.clone());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = Some(cursor);
        assert!(cursors.len() < 10, "paging does not end");
    }
    assert_eq!(seen, all_types);
    assert_eq!(cursors, ["Mg==", "NA==", "NQ=="]);

    let past_end = app.get(&format!("{path}?after=NQ==")).await.json();
    assert_eq!(
        past_end,
        json!({"edges": [], "pageInfo": {"endCursor": null, "hasNextPage": false}})
    );
    for (query, expected) in [
        ("first=abc", "first: must be a positive whole number"),
        ("first=0", "first: must be a positive whole number"),
        ("first=-2", "first: must be a positive whole number"),
        (
            "after=bm9wZQ==",
            "after: must be a pageInfo.endCursor value",
        ),
        ("after=OQ==", "after: is not a cursor of this list"),
    ] {
        let answer = app.get(&format!("{path}?{query}")).await;
        assert_eq!(
            (answer.status, answer.error()),
            (StatusCode::BAD_REQUEST, expected.to_owned()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn logging_an_outbound_email_moves_the_prospect_from_new_to_open() {
    let app = spawn().await;
    let id = app.create_prospect(prospect_body("lead@example.com")).await;
    let path = format!("/prospect/{id}/email");
    let status = || async { app.get(&format!("/prospect/{id}")).await.json()["status"].clone() };

    let inbound = app
        .post(&path, email_body("EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED"))
        .await;
    assert_eq!(inbound.status, StatusCode::OK);
    assert_eq!(status().await, "new");
    let outbound = app
        .post(&path, email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT"))
        .await;
    assert_eq!(outbound.status, StatusCode::OK);
    assert_eq!(status().await, "open");

    let communication_id = outbound.json()["communicationId"]
        .as_str()
        .expect("an id")
        .to_owned();
    let (tag, number) = communication_id.split_once('-').expect("TAG-digits");
    assert_eq!(tag.len(), 8);
    assert!(tag
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    assert!(is_digits(number));
    let snapshot = app.sandbox.snapshot();
    assert_eq!(snapshot.emails.len(), 2);
    assert_eq!(snapshot.emails[1].communication_id, communication_id);
    assert_eq!(snapshot.emails[1].body, "<html>Hello World Email</html>");
    assert_eq!(snapshot.emails[1].sent_time, at("2026-06-01T11:22:06.214Z"));
}

// --- Availability across zones ---------------------------------------------------------------

#[tokio::test]
async fn available_times_follow_local_hours_across_the_new_york_dst_change() {
    let app = spawn_with(SandboxConfig {
        communities: vec![community("newYork000000001", chrono_tz::America::New_York)],
        ..SandboxConfig::default()
    })
    .await;
    app.sandbox.set_now(Some(at("2026-10-28T12:00:00Z")));
    let times = app.available("newYork000000001", false).await;
    assert!(times.contains(&"2026-10-30T09:00:00-04:00".to_owned()));
    assert!(times.contains(&"2026-10-31T17:30:00-04:00".to_owned()));
    assert!(times.contains(&"2026-11-02T09:00:00-05:00".to_owned()));
    assert!(times.contains(&"2026-11-01T09:00:00-05:00".to_owned()));
    for time in &times {
        let parsed = DateTime::parse_from_rfc3339(time).expect("RFC 3339");
        let local = parsed.format("%H:%M").to_string();
        assert!(
            ("09:00".."17:31").contains(&local.as_str()),
            "{time} outside opening hours"
        );
        let expected_offset = if time.as_str() < "2026-11-01" {
            "-04:00"
        } else {
            "-05:00"
        };
        assert!(time.ends_with(expected_offset), "{time}");
    }
    let instants: Vec<_> = times.iter().map(|t| at(t)).collect();
    assert!(
        instants.windows(2).all(|w| w[0] < w[1]),
        "ascending and unique"
    );
    assert!(
        instants[0] >= at("2026-10-28T13:00:00Z"),
        "respects the notice"
    );
    assert!(
        *instants.last().expect("some") < at("2026-11-11T12:00:00Z"),
        "within the horizon"
    );
}

#[tokio::test]
async fn available_times_in_kolkata_carry_the_half_hour_offset() {
    let app = spawn_with(SandboxConfig {
        communities: vec![community("kolkata000000001", chrono_tz::Asia::Kolkata)],
        horizon_days: 3,
        ..SandboxConfig::default()
    })
    .await;
    // 12:10Z is 17:40 in Kolkata: nothing more today; the horizon ends 17:40 on the 4th.
    app.sandbox.set_now(Some(at("2026-06-01T12:10:00Z")));
    let times = app.available("kolkata000000001", false).await;
    assert_eq!(
        times.first().map(String::as_str),
        Some("2026-06-02T09:00:00+05:30")
    );
    assert!(times.iter().all(|t| t.ends_with("+05:30")));
    assert_eq!(
        times.len(),
        18 * 3,
        "three whole days of 30-minute tours from 09:00 to 18:00"
    );
    let booked = app
        .book(booking(
            "kolkata000000001",
            "2026-06-02T09:30:00+05:30",
            "lead@example.com",
        ))
        .await;
    assert_eq!(
        booked.json()["appointment"]["startTime"],
        "2026-06-02T04:00:00+00:00"
    );
}

#[tokio::test]
async fn for_self_guided_absent_means_in_person() {
    let mut relaxed = community("mayOverlap000001", chrono_tz::America::Los_Angeles);
    relaxed.self_guided_may_overlap = true;
    let app = spawn_with(SandboxConfig {
        communities: vec![relaxed],
        ..SandboxConfig::default()
    })
    .await;
    app.booked(booking("mayOverlap000001", SLOT_A, "lead@example.com"))
        .await;
    let plain = app.get("/community/mayOverlap000001/available-times").await;
    let listed: Vec<String> =
        serde_json::from_value(plain.json()["acceptableTimes"].clone()).expect("list");
    assert!(!listed.contains(&SLOT_A.to_owned()));
    assert_eq!(listed, app.available("mayOverlap000001", false).await);
    assert!(app
        .available("mayOverlap000001", true)
        .await
        .contains(&SLOT_A.to_owned()));
}

// --- Faults ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_status_fault_answers_its_status_with_retry_after_and_changes_nothing() {
    let app = spawn().await;
    app.sandbox.inject_fault(
        Fault::status(FaultRoute::AppointmentRequest, 503)
            .with_retry_after(7)
            .times(2),
    );
    for _ in 0..2 {
        let answer = app
            .book(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
            .await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            answer
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        assert!(answer.json().get("errorMessage").is_some());
    }
    assert!(app.sandbox.snapshot().appointments.is_empty());
    let answer = app
        .book(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn faults_set_through_the_control_endpoint_apply_after_routing_and_auth() {
    let app = spawn().await;
    let id = app.create_prospect(prospect_body("lead@example.com")).await;
    let fault = json!({"route": "*", "status": 429, "retry_after": 3});
    let set = app
        .call(Method::POST, "/_sandbox/faults", None, Some(&fault))
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    // Neither an unknown route nor a bad key uses the fault up.
    assert_eq!(app.get("/nowhere").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.call(Method::GET, &format!("/prospect/{id}"), Some("bad"), None)
            .await
            .text,
        r#"{"message":"Forbidden"}"#
    );
    let throttled = app.get(&format!("/prospect/{id}")).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.text, r#"{"message":"Too Many Requests"}"#);
    assert_eq!(
        throttled
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
    assert_eq!(
        app.get(&format!("/prospect/{id}")).await.status,
        StatusCode::OK
    );

    let many = json!({"route": "prospect_get", "status": 500, "count": 5});
    app.call(Method::POST, "/_sandbox/faults", None, Some(&many))
        .await;
    assert_eq!(app.sandbox.snapshot().faults.len(), 1);
    let cleared = app
        .call(Method::DELETE, "/_sandbox/faults", None, None)
        .await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/prospect/{id}")).await.status,
        StatusCode::OK
    );

    for bad in [
        json!({"route": "nowhere", "status": 500}),
        json!({"route": "visit"}),
        json!({"route": "visit", "status": 200}),
        json!({"route": "visit", "status": 500, "drop_connection": true}),
        json!({"route": "visit", "status": 500, "colour": "red"}),
    ] {
        let answer = app
            .call(Method::POST, "/_sandbox/faults", None, Some(&bad))
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_latency_fault_delays_the_answer_and_can_outlast_a_client_timeout() {
    let app = spawn().await;
    app.sandbox
        .inject_fault(Fault::latency(FaultRoute::AvailableTimes, 300));
    let started = Instant::now();
    let times = app.available(STAGE_COMMUNITY_ID, false).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(!times.is_empty());

    app.sandbox
        .inject_fault(Fault::latency(FaultRoute::ProspectCreate, 3_000));
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let error = impatient
        .post(format!("{}/prospect", app.base))
        .header("x-api-key", KEY)
        .json(&prospect_body("lead@example.com"))
        .send()
        .await
        .expect_err("the call times out");
    assert!(error.is_timeout());
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_and_changes_nothing() {
    let app = spawn().await;
    app.sandbox
        .inject_fault(Fault::drop_connection(FaultRoute::AppointmentRequest));
    let outcome = async {
        app.request(Method::POST, "/appointment/request", Some(KEY))
            .body(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com").to_string())
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(
        outcome.is_err(),
        "the client must see a transport error: {outcome:?}"
    );
    assert!(app.sandbox.snapshot().appointments.is_empty());
    assert!(app
        .available(STAGE_COMMUNITY_ID, false)
        .await
        .contains(&SLOT_A.to_owned()));
}

#[tokio::test]
async fn an_after_effect_fault_does_the_work_then_fails() {
    let app = spawn().await;
    app.sandbox
        .inject_fault(Fault::drop_connection(FaultRoute::AppointmentRequest).after_effect());
    let outcome = async {
        app.request(Method::POST, "/appointment/request", Some(KEY))
            .body(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com").to_string())
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(outcome.is_err());
    let snapshot = app.sandbox.snapshot();
    assert_eq!(
        snapshot.appointments.len(),
        1,
        "Knock recorded it although our call failed"
    );
    assert_eq!(
        snapshot.appointments[0].status,
        AppointmentStatus::Confirmed
    );

    app.sandbox
        .inject_fault(Fault::status(FaultRoute::Visit, 504).after_effect());
    let prospect_id = snapshot.appointments[0].prospect_id.clone();
    let answer = app
        .post(
            "/visit",
            json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(app.sandbox.snapshot().visits.len(), 1);

    // Slow and recorded: the client gives up, yet Knock has the prospect.
    app.sandbox
        .inject_fault(Fault::latency(FaultRoute::ProspectCreate, 3_000).after_effect());
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let error = impatient
        .post(format!("{}/prospect", app.base))
        .header("x-api-key", KEY)
        .json(&prospect_body("late@example.com"))
        .send()
        .await
        .expect_err("the call times out");
    assert!(error.is_timeout());
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.sandbox.snapshot().prospects.len() < 2 {
        assert!(Instant::now() < deadline, "the prospect was never recorded");
        tokio::task::yield_now().await;
    }
}

// --- Control surface and logs ----------------------------------------------------------------

#[tokio::test]
async fn the_clock_and_state_endpoints_drive_and_show_the_sandbox() {
    let app = spawn().await;
    let set = app
        .call(
            Method::POST,
            "/_sandbox/clock",
            None,
            Some(&json!({"now": "2026-10-28T12:00:00Z"})),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK);
    assert!(app.sandbox.now() >= at("2026-10-28T12:00:00Z"));
    let first = app.available(STAGE_COMMUNITY_ID, false).await;
    assert_eq!(
        first.first().map(String::as_str),
        Some("2026-10-28T09:00:00-07:00")
    );
    let bad = app
        .call(
            Method::POST,
            "/_sandbox/clock",
            None,
            Some(&json!({"now": "noon"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let reset = app
        .call(
            Method::POST,
            "/_sandbox/clock",
            None,
            Some(&json!({"now": null})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    assert!((app.sandbox.now() - Utc::now()).num_seconds().abs() < 5);

    app.create_prospect(prospect_body("lead@example.com")).await;
    let state = app.call(Method::GET, "/_sandbox/state", None, None).await;
    let snapshot: SandboxSnapshot =
        serde_json::from_str(&state.text).expect("the snapshot as JSON");
    assert_eq!(snapshot.prospects, app.sandbox.snapshot().prospects);
}

#[tokio::test]
async fn the_request_log_keeps_bodies_and_statuses_but_never_the_key() {
    let app = spawn().await;
    app.create_prospect(prospect_body("lead@example.com")).await;
    app.get("/prospect/abc?x=1").await;
    app.raw(Method::POST, "/visit", "not json").await;
    let snapshot = app.sandbox.snapshot();
    let requests = &snapshot.requests;
    assert_eq!(requests.len(), 3);
    assert_eq!(
        (
            requests[0].method.as_str(),
            requests[0].path.as_str(),
            requests[0].status
        ),
        ("POST", "/prospect", 200)
    );
    let body = |i: usize| requests[i].body.as_ref().map(|b| b.value());
    assert_eq!(body(0), Some(prospect_body("lead@example.com")));
    assert_eq!(
        (requests[1].query.as_str(), requests[1].status, body(1)),
        ("x=1", 400, None)
    );
    assert_eq!(body(2), Some(json!("not json")));
    let everything = serde_json::to_string(&snapshot).expect("serializable");
    assert!(!everything.contains(KEY));
}

#[tokio::test]
async fn the_html_view_lists_what_happened_with_everything_escaped() {
    let app = spawn_with(SandboxConfig {
        html_view: true,
        ..SandboxConfig::default()
    })
    .await;
    let (_, prospect_id) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    let mut email = email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT");
    email["subject"] = json!("<script>alert('x')</script>");
    app.post(&format!("/prospect/{prospect_id}/email"), email)
        .await;
    let page = app.call(Method::GET, "/_sandbox", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("&lt;script&gt;"));
    assert!(!page.text.contains("<script>"));
    assert!(page.text.contains("2026-06-02T17:00:00Z"));
    assert!(page.text.contains(&prospect_id));

    let hidden = spawn().await;
    let answer = hidden.call(Method::GET, "/_sandbox", None, None).await;
    assert_eq!(answer.text, r#"{"message":"Missing Authentication Token"}"#);
}

// --- A community that reviews requests by hand (API.md §4 "Inferred behaviour") ----------------

const REVIEWED: &str = "reviewedCommunit";

async fn spawn_reviewing() -> TestSandbox {
    let mut reviewed = community(REVIEWED, chrono_tz::America::Los_Angeles);
    reviewed.reviews_requests = true;
    spawn_with(SandboxConfig {
        communities: vec![reviewed],
        ..SandboxConfig::default()
    })
    .await
}

#[tokio::test]
async fn a_reviewed_request_is_pending_holds_its_slot_and_sends_nothing_yet() {
    let app = spawn_reviewing().await;
    let mut body = self_guided(REVIEWED, SLOT_A, "lead@example.com");
    body["smsConsent"] = json!(true);
    body["profile"]["phone"] = json!("2065550155");
    let answer = app.book(body).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let appointment = &answer.json()["appointment"];
    assert_eq!(appointment["status"], "PENDING");
    let prospect_id = appointment["prospectId"].as_str().expect("prospect id");
    assert_eq!(
        app.sandbox.snapshot().appointments[0].status,
        AppointmentStatus::Pending
    );
    assert!(
        app.sandbox.snapshot().messages.is_empty(),
        "nothing is confirmed to the renter before the office confirms"
    );
    let events = app
        .get(&format!("/prospect/{prospect_id}/events"))
        .await
        .json();
    let node = &events["edges"][0]["node"];
    assert_eq!(node["type"], "APPOINTMENT_CREATED");
    assert_eq!(node["data"]["status"], "pending");

    // The slot is held for both tour types, as a confirmed appointment holds it.
    assert!(!app
        .available(REVIEWED, true)
        .await
        .contains(&SLOT_A.to_owned()));
    assert!(!app
        .available(REVIEWED, false)
        .await
        .contains(&SLOT_A.to_owned()));
    let rival = app
        .book(self_guided(REVIEWED, SLOT_A, "rival@example.com"))
        .await;
    assert_eq!(rival.status, StatusCode::BAD_REQUEST, "{}", rival.text);
}

#[tokio::test]
async fn the_office_confirms_a_pending_request_over_the_control_route_once() {
    let app = spawn_reviewing().await;
    let mut body = self_guided(REVIEWED, SLOT_A, "lead@example.com");
    body["smsConsent"] = json!(true);
    body["profile"]["phone"] = json!("2065550155");
    let (appointment_id, prospect_id) = app.booked(body).await;

    let path = format!("/_sandbox/appointments/{appointment_id}/confirm");
    let confirmed = app.call(Method::POST, &path, None, None).await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.text);
    assert_eq!(confirmed.json()["appointment"]["status"], "CONFIRMED");
    assert_eq!(
        confirmed.json()["appointment"]["id"],
        appointment_id.as_str()
    );
    let snapshot = app.sandbox.snapshot();
    assert_eq!(
        snapshot.appointments[0].status,
        AppointmentStatus::Confirmed
    );
    let kinds: Vec<_> = snapshot
        .messages
        .iter()
        .map(|m| (m.channel, m.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (MessageChannel::Email, MessageKind::Confirmation),
            (MessageChannel::Sms, MessageKind::Confirmation),
            (MessageChannel::Sms, MessageKind::Reminder),
        ],
        "Knock confirms to the renter once the office has"
    );
    let events = app
        .get(&format!("/prospect/{prospect_id}/events?first=100"))
        .await
        .json();
    let types: Vec<&str> = events["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["type"].as_str())
        .collect();
    assert_eq!(types[0], "APPOINTMENT_CREATED");
    assert_eq!(types[1], "APPOINTMENT_CONFIRMED");
    assert_eq!(events["edges"][1]["node"]["data"]["status"], "confirmed");

    // Again: the same answer, nothing sent twice. Declining it now is refused.
    let again = app.call(Method::POST, &path, None, None).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(app.sandbox.snapshot().messages.len(), 3);
    let decline = format!("/_sandbox/appointments/{appointment_id}/decline");
    let refused = app.call(Method::POST, &decline, None, None).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    let unknown = app
        .call(
            Method::POST,
            "/_sandbox/appointments/999/confirm",
            None,
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // The control routes are not Knock's: no key needed, and a GET is an unknown route.
    let get = app.call(Method::GET, &path, None, None).await;
    assert_eq!(get.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_office_declining_frees_the_slot_and_a_rebooking_replaces_a_pending_request() {
    let app = spawn_reviewing().await;
    let (first, _) = app
        .booked(self_guided(REVIEWED, SLOT_A, "lead@example.com"))
        .await;
    let declined = app.sandbox.office_declines(&first).expect("declined");
    assert_eq!(declined.status, AppointmentStatus::Cancelled);
    assert!(app
        .available(REVIEWED, true)
        .await
        .contains(&SLOT_A.to_owned()));
    assert!(matches!(
        app.sandbox.office_confirms(&first),
        Err(knock_sandbox::OfficeDecisionError::AlreadyDecided { .. })
    ));

    // A pending request is an upcoming appointment for behaviour 5: a new request replaces it.
    let (second, _) = app
        .booked(self_guided(REVIEWED, SLOT_B, "lead@example.com"))
        .await;
    let (third, _) = app
        .booked(self_guided(REVIEWED, SLOT_C, "lead@example.com"))
        .await;
    let snapshot = app.sandbox.snapshot();
    let status = |id: &str| {
        snapshot
            .appointments
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.status)
    };
    assert_eq!(status(&second), Some(AppointmentStatus::Cancelled));
    assert_eq!(status(&third), Some(AppointmentStatus::Pending));
    let confirmed = app.sandbox.office_confirms(&third).expect("confirmed");
    assert_eq!(confirmed.status, AppointmentStatus::Confirmed);
    assert!(matches!(
        app.sandbox.office_confirms("404"),
        Err(knock_sandbox::OfficeDecisionError::Unknown(_))
    ));
}

// --- Whether appointment events name their appointment (a profile option) ------------------

#[tokio::test]
async fn an_appointment_created_event_names_its_appointment_only_when_configured() {
    for (named, config) in [
        (false, SandboxConfig::default()),
        (
            true,
            SandboxConfig {
                events_name_appointment: true,
                ..SandboxConfig::default()
            },
        ),
    ] {
        let app = spawn_with(config).await;
        let (appointment_id, prospect_id) = app
            .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
            .await;
        let events = app
            .get(&format!("/prospect/{prospect_id}/events"))
            .await
            .json();
        let data = &events["edges"][0]["node"]["data"];
        let mut expected = json!({"startTime": "2026-06-02T17:00:00+00:00",
            "endTime": "2026-06-02T17:30:00+00:00", "status": "confirmed", "tourType": "IN_PERSON"});
        if named {
            expected["appointmentId"] = json!(appointment_id);
        }
        assert_eq!(data, &expected, "named: {named}");
    }
}

// --- Faults that act before failing ----------------------------------------------------------

#[tokio::test]
async fn a_latency_fault_after_effect_records_first_then_answers_late_with_the_real_answer() {
    let app = spawn().await;
    app.sandbox
        .inject_fault(Fault::latency(FaultRoute::AppointmentRequest, 1_500).after_effect());
    let started = Instant::now();
    let call = tokio::spawn(
        app.request(Method::POST, "/appointment/request", Some(KEY))
            .body(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com").to_string())
            .send(),
    );
    // Recorded while the answer is still being held back.
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.sandbox.snapshot().appointments.is_empty() {
        assert!(
            Instant::now() < deadline,
            "the appointment was never recorded"
        );
        tokio::task::yield_now().await;
    }
    assert!(!call.is_finished(), "answered before its latency");
    let recorded = app.sandbox.snapshot().appointments[0].id.clone();
    let response = call.await.expect("joined").expect("answered");
    assert!(started.elapsed() >= Duration::from_millis(1_500));
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["appointment"]["id"], recorded.as_str());
    assert_eq!(app.sandbox.snapshot().appointments.len(), 1);
}

// --- Answer profiles (rules.rs "Answer profiles") --------------------------------------------

async fn spawn_profile(profile: Profile) -> TestSandbox {
    spawn_with(SandboxConfig {
        profile,
        ..SandboxConfig::default()
    })
    .await
}

#[test]
fn every_profile_is_named_as_the_command_line_takes_it() {
    let names: Vec<&str> = Profile::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(
        names,
        ["strict", "sparse", "gateway", "events-as-documented"]
    );
    for profile in Profile::ALL {
        assert_eq!(profile.name().parse::<Profile>(), Ok(profile));
    }
    assert_eq!(Profile::default(), Profile::Strict);
    let err = "lenient".parse::<Profile>().expect_err("unknown");
    assert!(
        err.contains("lenient") && err.contains("events-as-documented"),
        "{err}"
    );
}

#[tokio::test]
async fn sparse_answers_writes_with_only_what_the_articles_require_and_still_does_them() {
    let app = spawn_profile(Profile::Sparse).await;
    let booked = app
        .book(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    assert_eq!(booked.status, StatusCode::OK);
    let snapshot = app.sandbox.snapshot();
    let appointment = &snapshot.appointments[0];
    assert_eq!(
        booked.text,
        format!(r#"{{"appointment":{{"id":"{}"}}}}"#, appointment.id)
    );
    let prospect_id = appointment.prospect_id.clone();
    let visit = app
        .post(
            "/visit",
            json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z"}),
        )
        .await;
    assert_eq!((visit.status, visit.text.as_str()), (StatusCode::OK, "{}"));
    let logged = app
        .post(
            &format!("/prospect/{prospect_id}/email"),
            email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT"),
        )
        .await;
    assert_eq!(
        (logged.status, logged.text.as_str()),
        (StatusCode::OK, "{}")
    );
    let cancelled = app.cancel(&appointment.id).await;
    assert_eq!(
        (cancelled.status, cancelled.text.as_str()),
        (StatusCode::OK, "{}")
    );
    let snapshot = app.sandbox.snapshot();
    assert_eq!(snapshot.visits.len(), 1);
    assert_eq!(snapshot.emails.len(), 1);
    assert_eq!(
        snapshot.appointments[0].status,
        AppointmentStatus::Cancelled
    );
    // Everything else as strict: the prospect's id, its card, errors.
    let created = app
        .post("/prospect", prospect_body("other@example.com"))
        .await;
    assert!(is_digits(created.json()["id"].as_str().unwrap_or_default()));
    assert_eq!(
        app.get(&format!("/prospect/{prospect_id}")).await.json()["prospectId"],
        prospect_id.as_str()
    );
    assert_eq!(app.cancel("999").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn gateway_tells_a_missing_key_from_an_unknown_one_and_answers_404_for_no_route() {
    let app = spawn_profile(Profile::Gateway).await;
    let path = format!("/community/{STAGE_COMMUNITY_ID}/available-times");
    for (key, status, body) in [
        (None, StatusCode::FORBIDDEN, r#"{"message":"Forbidden"}"#),
        (
            Some(""),
            StatusCode::FORBIDDEN,
            r#"{"message":"Forbidden"}"#,
        ),
        (
            Some("syndication-prospect-test-key"),
            StatusCode::UNAUTHORIZED,
            r#"{"message":"Unauthorized"}"#,
        ),
    ] {
        let answer = app.call(Method::GET, &path, key, None).await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (status, body),
            "{key:?}"
        );
    }
    let prospect_body_for_route = prospect_body("lead@example.com");
    let refused = app
        .call(
            Method::POST,
            "/prospect",
            Some("wrong"),
            Some(&prospect_body_for_route),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(app.sandbox.snapshot().prospects.is_empty(), "nothing done");
    for (method, route, key) in [
        (Method::POST, "/appointments", Some(KEY)),
        (Method::GET, "/appointment/request", Some(KEY)),
        (Method::POST, "/appointment/2/reschedule", None),
        (Method::GET, "/_sandbox", None),
    ] {
        let answer = app.call(method.clone(), route, key, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {route}");
        assert_eq!(answer.text, r#"{"message":"Not Found"}"#);
    }
    assert!(
        !app.available(STAGE_COMMUNITY_ID, true).await.is_empty(),
        "a good key is served"
    );
}

#[tokio::test]
async fn gateway_refuses_the_events_feed_to_a_good_key_and_serves_everything_else() {
    let app = spawn_profile(Profile::Gateway).await;
    let (_, prospect_id) = app
        .booked(booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com"))
        .await;
    app.sandbox
        .inject_fault(Fault::status(FaultRoute::ProspectEvents, 502));
    for key in [STAGE_PROSPECT_KEY, STAGE_APPOINTMENT_KEY] {
        let answer = app
            .call(
                Method::GET,
                &format!("/prospect/{prospect_id}/events"),
                Some(key),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN);
        assert_eq!(answer.text, r#"{"message":"Forbidden"}"#);
    }
    assert_eq!(
        app.sandbox.snapshot().faults.len(),
        1,
        "refused before Knock: no fault spent"
    );
    let card = app.get(&format!("/prospect/{prospect_id}")).await;
    assert_eq!(card.status, StatusCode::OK);
    let visit = app
        .post(
            "/visit",
            json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z"}),
        )
        .await;
    assert_eq!(visit.status, StatusCode::OK);
    assert!(is_digits(
        visit.json()["visitId"].as_str().unwrap_or_default()
    ));
}

#[tokio::test]
async fn events_as_documented_lists_only_appointment_created_events() {
    let app = spawn_profile(Profile::EventsAsDocumented).await;
    let mut body = booking(STAGE_COMMUNITY_ID, SLOT_A, "lead@example.com");
    body["smsConsent"] = json!(true);
    body["profile"]["phone"] = json!("2065550155");
    let (first, prospect_id) = app.booked(body.clone()).await;
    app.post(
        "/visit",
        json!({"prospectId": prospect_id, "visitTime": "2026-06-01T11:00:00Z",
               "appointmentId": first}),
    )
    .await;
    app.post(
        &format!("/prospect/{prospect_id}/email"),
        email_body("EMAIL_MESSAGE_TO_PROSPECT_SENT"),
    )
    .await;
    app.cancel(&first).await;
    app.booked(set(&body, "/requestedTimes/0/startTime", json!(SLOT_B)))
        .await;

    let page = app
        .get(&format!("/prospect/{prospect_id}/events?first=1"))
        .await
        .json();
    assert_eq!(page["edges"][0]["node"]["type"], "APPOINTMENT_CREATED");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    let all = app
        .get(&format!("/prospect/{prospect_id}/events?first=100"))
        .await
        .json();
    let types: Vec<&str> = all["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter_map(|e| e["node"]["type"].as_str())
        .collect();
    assert_eq!(types, ["APPOINTMENT_CREATED", "APPOINTMENT_CREATED"]);
    assert_eq!(all["pageInfo"]["hasNextPage"], false);
    // Recorded all the same: the snapshot (and the HTML view) show every event.
    let recorded: Vec<String> = app
        .sandbox
        .snapshot()
        .events
        .iter()
        .map(|e| e.event_type.to_string())
        .collect();
    assert!(recorded.iter().any(|t| t == "WALK_IN"), "{recorded:?}");
    assert!(
        recorded.iter().any(|t| t == "APPOINTMENT_CANCELLED"),
        "{recorded:?}"
    );
}

/// A directory of its own under the system's temporary one.
fn temp_dir() -> std::path::PathBuf {
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("knock-sandbox-state-{n:016x}"));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn keeping(file: &std::path::Path) -> SandboxConfig {
    SandboxConfig {
        state_file: Some(file.to_owned()),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn a_sandbox_with_a_state_file_keeps_its_records_across_a_restart() {
    let dir = temp_dir();
    let file = dir.join("knock-sandbox.json");
    let first = spawn_with(keeping(&file)).await;
    assert!(matches!(
        first.sandbox.restored(),
        knock_sandbox::Restored::Fresh { .. }
    ));
    let (appointment, prospect) = first
        .booked(self_guided(STAGE_COMMUNITY_ID, SLOT_A, "kept@example.com"))
        .await;
    // Saved together within `SAVE_EVERY` of the calls: polled for, with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&file)
        .is_ok_and(|saved| saved.contains(&prospect) && saved.contains(&appointment))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "written after the calls"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let second = spawn_with(keeping(&file)).await;
    assert_eq!(
        second.sandbox.restored(),
        &knock_sandbox::Restored::Loaded {
            file: file.clone(),
            prospects: 1
        }
    );
    let state = second.sandbox.snapshot();
    assert!(state.prospects.iter().any(|p| p.id == prospect));
    assert!(state.appointments.iter().any(|a| a.id == appointment));
    // Knock still knows the renter (GET /prospect/{id}), and new ids do not repeat old ones.
    assert_eq!(
        second.get(&format!("/prospect/{prospect}")).await.status,
        StatusCode::OK
    );
    let other = second
        .create_prospect(prospect_body("someone-else@example.com"))
        .await;
    assert_ne!(other, prospect);
    // The kept slot is still taken.
    assert!(!second
        .available(STAGE_COMMUNITY_ID, true)
        .await
        .iter()
        .any(|t| t == SLOT_A));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_state_file_is_set_aside_with_a_clear_message_and_the_sandbox_starts_empty() {
    let dir = temp_dir();
    let file = dir.join("knock-sandbox.json");
    std::fs::write(&file, b"{\"version\": 1, \"prospects\": [tru").unwrap();
    let app = spawn_with(keeping(&file)).await;
    let knock_sandbox::Restored::SetAside {
        file: named,
        moved_to,
        reason,
    } = app.sandbox.restored().clone()
    else {
        panic!("set aside: {:?}", app.sandbox.restored());
    };
    assert_eq!(named, file);
    assert!(!file.exists());
    assert_eq!(
        std::fs::read(&moved_to).unwrap(),
        b"{\"version\": 1, \"prospects\": [tru"
    );
    assert!(reason.contains("not the sandbox's JSON"), "{reason}");
    let message = app.sandbox.restored().to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("starts empty"), "{message}");
    assert!(app.sandbox.snapshot().prospects.is_empty());
    // It keeps its records again from here on.
    app.create_prospect(prospect_body("fresh@example.com"))
        .await;
    // Saved within `SAVE_EVERY`, polled for with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !file.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "written within SAVE_EVERY"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_sandbox_without_a_state_file_keeps_nothing() {
    let app = spawn().await;
    assert_eq!(app.sandbox.restored(), &knock_sandbox::Restored::NotKept);
}
