//! A small typed client for the Seam routes Tourgate uses (PROVIDERS.md §1): every call a
//! POST with a JSON body (as Seam's docs show them), `Authorization: Bearer`, the
//! `{..., "ok": true}` success envelope and the `{"error": {type, message}}` error one.
//! Nothing here retries: the outbox does, with its backoff and Seam's `Retry-After`.
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::config::Secret;

const TIMEOUT: Duration = Duration::from_secs(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct SeamClient {
    http: reqwest::Client,
    endpoint: Url,
    api_key: Secret,
}

/// How a Seam call failed.
#[derive(Debug, thiserror::Error)]
pub enum SeamError {
    /// 429: per-device rate limit (PROVIDERS.md §1.5); Seam did not act.
    #[error("Seam rate limited the call (429)")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, a time-out, a cut connection: Seam may or may not have acted.
    #[error("Seam unavailable: {0}")]
    Unavailable(String),
    /// 401: our key.
    #[error("Seam refused our API key (401): check SEAM_API_KEY")]
    Unauthorized,
    #[error("Seam: not found ({kind})")]
    NotFound { kind: String },
    /// Any other refusal: for good, until something changes.
    #[error("Seam refused ({status} {kind}): {message}")]
    Refused {
        status: u16,
        kind: String,
        message: String,
    },
    /// A 2xx we cannot read.
    #[error("Seam answered in an unexpected shape: {0}")]
    Contract(String),
}

/// A PIN as Seam returns it: Debug never shows it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Pin(String);

impl Pin {
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(******)")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    #[serde(default, alias = "warning_code")]
    pub error_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// The fields of Seam's access code object Tourgate reads.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessCodeObject {
    pub access_code_id: String,
    pub device_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub code: Option<Pin>,
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    pub status: String,
    #[serde(default)]
    pub is_scheduled_on_device: Option<bool>,
    #[serde(default)]
    pub errors: Vec<Issue>,
}

#[derive(Serialize)]
struct CreateBody<'a> {
    device_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_offline_access_code: bool,
}

/// `/access_codes/create`'s inputs.
pub struct NewCode<'a> {
    pub device_id: &'a str,
    pub name: &'a str,
    /// Our PIN; None: the lock's maker picks one (an offline code, PROVIDERS.md §1.8).
    pub code: Option<&'a str>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// The fields of Seam's device object that say what the lock can do (PROVIDERS.md §1.2).
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceObject {
    pub device_id: String,
    #[serde(default)]
    pub device_type: Option<String>,
    #[serde(default)]
    pub can_program_online_access_codes: Option<bool>,
    #[serde(default)]
    pub can_program_offline_access_codes: Option<bool>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl SeamClient {
    pub fn new(endpoint: Url, api_key: Secret) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("tourgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            http,
            endpoint,
            api_key,
        })
    }

    /// `POST /access_codes/list {device_id}`: every code on the device.
    pub async fn list_codes(&self, device_id: &str) -> Result<Vec<AccessCodeObject>, SeamError> {
        #[derive(Deserialize)]
        struct Answer {
            access_codes: Vec<AccessCodeObject>,
        }
        let a: Answer = self
            .call(
                "access_codes/list",
                &serde_json::json!({ "device_id": device_id }),
            )
            .await?;
        Ok(a.access_codes)
    }

    /// `POST /access_codes/create`: a time-bound code. Never retried here: Seam has no
    /// idempotency key, the caller lists by name before trying again.
    pub async fn create_code(&self, c: &NewCode<'_>) -> Result<AccessCodeObject, SeamError> {
        #[derive(Deserialize)]
        struct Answer {
            access_code: AccessCodeObject,
        }
        let body = CreateBody {
            device_id: c.device_id,
            name: c.name,
            code: c.code,
            starts_at: c.starts_at,
            ends_at: c.ends_at,
            is_offline_access_code: c.code.is_none(),
        };
        let a: Answer = self.call("access_codes/create", &body).await?;
        Ok(a.access_code)
    }

    /// `POST /access_codes/get {access_code_id}`.
    pub async fn get_code(&self, access_code_id: &str) -> Result<AccessCodeObject, SeamError> {
        #[derive(Deserialize)]
        struct Answer {
            access_code: AccessCodeObject,
        }
        let a: Answer = self
            .call(
                "access_codes/get",
                &serde_json::json!({ "access_code_id": access_code_id }),
            )
            .await?;
        Ok(a.access_code)
    }

    /// `POST /devices/list`: the workspace's devices and what each can do.
    pub async fn list_devices(&self) -> Result<Vec<DeviceObject>, SeamError> {
        #[derive(Deserialize)]
        struct Answer {
            devices: Vec<DeviceObject>,
        }
        let a: Answer = self.call("devices/list", &serde_json::json!({})).await?;
        Ok(a.devices)
    }

    /// `POST /access_codes/delete {access_code_id}`.
    pub async fn delete_code(&self, access_code_id: &str) -> Result<(), SeamError> {
        let _: Value = self
            .call(
                "access_codes/delete",
                &serde_json::json!({ "access_code_id": access_code_id }),
            )
            .await?;
        Ok(())
    }

    /// `POST /events/list {since, limit}`: the raw events, oldest first as Seam lists them or
    /// not (the caller orders by `occurred_at`).
    pub async fn list_events(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Value>, SeamError> {
        #[derive(Deserialize)]
        struct Answer {
            events: Vec<Value>,
        }
        let a: Answer = self
            .call(
                "events/list",
                &serde_json::json!({
                    "since": since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "limit": limit,
                }),
            )
            .await?;
        Ok(a.events)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        route: &str,
        body: &impl Serialize,
    ) -> Result<T, SeamError> {
        let url = self
            .endpoint
            .join(route)
            .map_err(|e| SeamError::Contract(e.to_string()))?;
        let res = self
            .http
            .post(url)
            .bearer_auth(self.api_key.expose())
            .json(body)
            .send()
            .await
            .map_err(|e| SeamError::Unavailable(e.without_url().to_string()))?;
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let request_id = res
            .headers()
            .get("seam-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = res
            .text()
            .await
            .map_err(|e| SeamError::Unavailable(format!("answer cut off: {}", e.without_url())))?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| SeamError::Contract(format!("{route}: {e}")));
        }
        let (kind, message) = match serde_json::from_str::<ErrorEnvelope>(&text) {
            Ok(e) => (
                e.error.kind.unwrap_or_default(),
                e.error.message.unwrap_or_default(),
            ),
            Err(_) => (String::new(), String::new()),
        };
        tracing::debug!(
            route,
            status = status.as_u16(),
            kind,
            request_id,
            "Seam refused"
        );
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => SeamError::RateLimited { retry_after },
            StatusCode::UNAUTHORIZED => SeamError::Unauthorized,
            StatusCode::NOT_FOUND => SeamError::NotFound { kind },
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                SeamError::Unavailable(format!("{} {kind} {message}", s.as_u16()))
            }
            s => SeamError::Refused {
                status: s.as_u16(),
                kind,
                message,
            },
        })
    }
}
