//! A running emulator, an HTTP client speaking Seam's wire format, and a webhook receiver.
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use seam_sandbox::{RunningSeamSandbox, SeamSandbox, SeamSandboxConfig};
use serde_json::Value;

/// The emulator's clock in most tests: Monday 2026-06-01 12:00 UTC.
pub const NOW: &str = "2026-06-01T12:00:00Z";

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid test time")
        .with_timezone(&Utc)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn error_type(&self) -> &str {
        self.json["error"]["type"].as_str().unwrap_or_default()
    }

    /// `validation_errors.<param>._errors` joined.
    pub fn validation(&self, param: &str) -> String {
        self.json["error"]["validation_errors"][param]["_errors"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }

    pub fn request_id(&self) -> &str {
        self.headers
            .get("seam-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "answer: {}", self.json);
        assert_eq!(self.json["ok"], Value::Bool(true), "answer: {}", self.json);
        &self.json
    }
}

pub struct Seam {
    pub sandbox: RunningSeamSandbox,
    pub http: reqwest::Client,
}

impl std::ops::Deref for Seam {
    type Target = SeamSandbox;
    fn deref(&self) -> &SeamSandbox {
        &self.sandbox
    }
}

pub fn start() -> Seam {
    start_with(SeamSandboxConfig::pinned_at(at(NOW)))
}

pub fn start_with(config: SeamSandboxConfig) -> Seam {
    let sandbox = SeamSandbox::start(config).expect("the emulator starts");
    Seam {
        sandbox,
        http: reqwest::Client::new(),
    }
}

impl Seam {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        query: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut url = format!("{}{}", self.sandbox.base_url(), path);
        if let Some(q) = query {
            url = format!("{url}?{q}");
        }
        let mut req = self.http.request(method, url);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.expect("the emulator answers");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("a body");
        Answer {
            status,
            headers,
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// POST with a JSON body and the workspace key.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        let key = self.api_key().to_owned();
        self.send(Method::POST, path, Some(&key), None, Some(&body))
            .await
    }

    /// GET with a query string and the workspace key.
    pub async fn get(&self, path: &str, query: &str) -> Answer {
        let key = self.api_key().to_owned();
        self.send(Method::GET, path, Some(&key), Some(query), None)
            .await
    }

    pub async fn delete(&self, path: &str, query: &str) -> Answer {
        let key = self.api_key().to_owned();
        self.send(Method::DELETE, path, Some(&key), Some(query), None)
            .await
    }

    /// Creates a code and returns its object.
    pub async fn create_code(&self, body: Value) -> Value {
        let answer = self.post("/access_codes/create", body).await;
        answer.ok()["access_code"].clone()
    }

    pub async fn code_status(&self, id: &str) -> Answer {
        self.get("/access_codes/get", &format!("access_code_id={id}"))
            .await
    }

    pub fn event_types(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.event_type).collect()
    }

    pub fn events_of(&self, event_type: &str) -> Vec<seam_sandbox::SeamEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.event_type == event_type)
            .collect()
    }
}

/// One delivery a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn event_type(&self) -> String {
        self.json()["event_type"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Vec<Received>,
    /// Statuses to answer, in order; then 200.
    answers: Vec<u16>,
}

/// A webhook endpoint on loopback that records what it gets.
#[derive(Clone)]
pub struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    pub url: String,
}

impl Receiver {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let url = format!(
            "http://{}/callbacks/seam",
            listener.local_addr().expect("local address")
        );
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(shared.clone()))
                .route("/callbacks/seam", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        tokio::spawn(server);
        Self { state, url }
    }

    /// The next answers the endpoint gives (then 200).
    pub fn answer_with(&self, statuses: &[u16]) {
        self.state.lock().expect("receiver").answers = statuses.to_vec();
    }

    pub fn got(&self) -> Vec<Received> {
        self.state.lock().expect("receiver").got.clone()
    }

    pub fn types(&self) -> Vec<String> {
        self.got().iter().map(Received::event_type).collect()
    }
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<ReceiverState>>>,
) -> HttpResponse {
    let mut state = state.lock().expect("receiver");
    state.got.push(Received {
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let status = if state.answers.is_empty() {
        200
    } else {
        state.answers.remove(0)
    };
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).finish()
}
