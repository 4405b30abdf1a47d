//! The Knock client over real HTTP: against the sandbox for every endpoint and failure class,
//! and against a tiny stub server for what the sandbox cannot show (headers on the wire, 2xx
//! bodies of the wrong shape).
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use secrecy::SecretString;
use url::Url;

use tourgate::knock::types::{AppointmentId, ProspectId};
use tourgate::knock::{KnockClient, KnockClientConfig, KnockError};
use tourgate::metrics::Metrics;

const KEY: &str = "syndication-appointment-TEST-KEY";

fn client_for(base_url: Url, key: &str, timeout: Duration) -> (KnockClient, Metrics) {
    let metrics = Metrics::new();
    let config = KnockClientConfig {
        base_url,
        api_key: SecretString::from(key),
        connect_timeout: Duration::from_secs(3),
        timeout,
    };
    let client = KnockClient::new(config, metrics.clone()).expect("client builds");
    (client, metrics)
}

fn calls(metrics: &Metrics, endpoint: &str, outcome: &str) -> u64 {
    metrics
        .knock_calls
        .with_label_values(&[endpoint, outcome])
        .get()
}

fn latency_samples(metrics: &Metrics, endpoint: &str) -> u64 {
    metrics
        .knock_latency
        .with_label_values(&[endpoint])
        .get_sample_count()
}

// ---------------------------------------------------------------------------------------------
// Stub server: answers every request with one fixed status and body, and remembers what it got.

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Stub {
    base_url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("stub log").clone()
    }
}

async fn spawn_stub(status: u16, body: &'static str) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
    let port = listener.local_addr().expect("stub address").port();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let server = HttpServer::new(move || {
        let log = log.clone();
        App::new().default_service(web::to(move |req: HttpRequest, bytes: web::Bytes| {
            let log = log.clone();
            async move {
                let mut headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
                    .collect();
                headers.sort();
                log.lock().expect("stub log").push(Seen {
                    method: req.method().to_string(),
                    uri: req.uri().to_string(),
                    headers,
                    body: String::from_utf8_lossy(&bytes).into_owned(),
                });
                let status = actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
                HttpResponse::build(status)
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .expect("stub listens")
    .run();
    tokio::spawn(server);
    let base_url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("stub url");
    Stub { base_url, seen }
}

#[tokio::test]
async fn every_request_carries_the_key_and_json_headers_even_get_and_bodyless_put() {
    let stub = spawn_stub(200, r#"{"appointment":{"id":"9","status":"CANCELLED"}}"#).await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let id = AppointmentId::parse("9").expect("id");
    let cancelled = client
        .cancel_appointment(&id)
        .await
        .expect("cancel answered");
    assert_eq!(cancelled.id, id);
    // A GET whose answer is the wrong shape still shows what went on the wire.
    let _ = client
        .get_prospect(&ProspectId::parse("47569637").expect("id"))
        .await;

    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "no retries: one request per call");
    for request in &seen {
        assert_eq!(request.header("x-api-key"), Some(KEY), "{request:?}");
        assert_eq!(
            request.header("content-type"),
            Some("application/json"),
            "{request:?}"
        );
        assert_eq!(
            request.header("accept"),
            Some("application/json"),
            "{request:?}"
        );
    }
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].uri, "/appointment/9/cancel");
    assert_eq!(seen[0].body, "");
    assert_eq!(seen[0].header("content-length"), Some("0"));
    assert_eq!(seen[1].method, "GET");
    assert_eq!(seen[1].uri, "/prospect/47569637");
}

#[tokio::test]
async fn path_segments_and_query_values_are_percent_encoded_on_the_wire() {
    let stub = spawn_stub(200, r#"{"acceptableTimes":[]}"#).await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let times = client
        .available_times("a/b c?", true)
        .await
        .expect("answered");
    assert!(times.is_empty());
    let pid = ProspectId::parse("5").expect("id");
    client
        .prospect_events(&pid, 25, Some("MQ==&x"))
        .await
        .expect_err("wrong shape is fine here");

    let seen = stub.seen();
    assert_eq!(
        seen[0].uri,
        "/community/a%2Fb%20c%3F/available-times?forSelfGuided=true"
    );
    assert_eq!(
        seen[1].uri,
        "/prospect/5/events?first=25&after=MQ%3D%3D%26x"
    );
}

#[tokio::test]
async fn a_success_without_an_appointment_id_is_a_contract_error() {
    let stub = spawn_stub(200, r#"{"appointment":{"status":"CONFIRMED"}}"#).await;
    let (client, metrics) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .cancel_appointment(&AppointmentId::parse("3").expect("id"))
        .await
        .expect_err("no id");
    assert!(
        matches!(
            err,
            KnockError::Contract {
                endpoint: "appointment_cancel",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(calls(&metrics, "appointment_cancel", "contract"), 1);
    assert_eq!(calls(&metrics, "appointment_cancel", "ok"), 0);
}

#[tokio::test]
async fn a_success_that_is_not_json_is_a_contract_error() {
    let stub = spawn_stub(200, "<html>maintenance</html>").await;
    let (client, metrics) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", false)
        .await
        .expect_err("not json");
    match &err {
        KnockError::Contract { endpoint, detail } => {
            assert_eq!(*endpoint, "available_times");
            assert!(detail.contains("maintenance"), "{detail}");
        }
        other => panic!("expected a contract error, got {other:?}"),
    }
    assert_eq!(calls(&metrics, "available_times", "contract"), 1);
}

#[tokio::test]
async fn an_unparseable_available_time_is_a_contract_error_not_a_silent_drop() {
    let stub = spawn_stub(
        200,
        r#"{"acceptableTimes":["2026-11-02T10:00:00-05:00","10am"]}"#,
    )
    .await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("bad entry");
    assert!(matches!(err, KnockError::Contract { .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_connection_is_retryable_without_status() {
    // Bind then drop: the port is very likely closed for the instant of the test.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let (client, metrics) = client_for(url, KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("nothing listens");
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.status(), None);
    assert_eq!(calls(&metrics, "available_times", "retryable"), 1);
    assert_eq!(latency_samples(&metrics, "available_times"), 1);
}

#[tokio::test]
async fn errors_never_show_the_api_key() {
    let stub = spawn_stub(400, r#"{"errorMessage":"communityId: required"}"#).await;
    let secret = "very-secret-partner-key-0123456789";
    let (client, _) = client_for(stub.base_url.clone(), secret, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("refused");
    assert!(!err.to_string().contains(secret));
    assert!(!format!("{err:?}").contains(secret));
    assert!(!format!("{client:?}").contains(secret));
    assert_eq!(stub.seen()[0].header("x-api-key"), Some(secret));
}
