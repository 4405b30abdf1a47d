//! Typed client for Knock's partner API (API.md). One call is one HTTP request: callers own
//! the retry policy, so nothing here retries, and every failure says whether a retry is safe.
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use super::error::{body_snippet, classify_status, parse_retry_after, KnockError};
use super::types::{
    Appointment, AppointmentEnvelope, AppointmentId, AppointmentRequest, AppointmentStatus,
    AvailableTimesResponse, CommunicationId, EmailLog, EmailLogged, EventsPage, Prospect,
    ProspectCreated, ProspectId, ProspectRequest, VisitCreated, VisitId, VisitRequest,
};
use crate::metrics::Metrics;

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Knock's answers are small JSON documents; anything bigger is not Knock talking.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct KnockClientConfig {
    /// e.g. `https://stage-syndication.knockrentals.com` (no path prefix).
    pub base_url: Url,
    /// Sent as `x-api-key`; never logged or Debug-printed.
    pub api_key: SecretString,
    pub connect_timeout: Duration,
    /// Total time for one call, body included.
    pub timeout: Duration,
}

impl KnockClientConfig {
    /// A configuration with the default time-outs (3 s connect, 10 s total).
    pub fn new(base_url: Url, api_key: SecretString) -> Self {
        Self {
            base_url,
            api_key,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Clone)]
pub struct KnockClient {
    http: reqwest::Client,
    base_url: Url,
    /// Marked sensitive so that header dumps print it as `Sensitive`.
    api_key: HeaderValue,
    metrics: Metrics,
}

impl fmt::Debug for KnockClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnockClient")
            .field("base_url", &self.base_url.as_str())
            .finish_non_exhaustive()
    }
}

impl KnockClient {
    pub fn new(config: KnockClientConfig, metrics: Metrics) -> Result<Self, KnockError> {
        let base_url = config.base_url;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(KnockError::Config(format!(
                "Knock base URL must be an http(s) URL, got {base_url}"
            )));
        }
        if base_url.query().is_some() || base_url.fragment().is_some() {
            return Err(KnockError::Config(format!(
                "Knock base URL must not carry a query or fragment, got {base_url}"
            )));
        }
        // Credentials in the URL would end up in every logged error; Knock uses the key only.
        if !base_url.username().is_empty() || base_url.password().is_some() {
            return Err(KnockError::Config(
                "Knock base URL must not carry credentials".into(),
            ));
        }
        let key = config.api_key.expose_secret();
        if key.trim().is_empty() {
            return Err(KnockError::Config("Knock API key is empty".into()));
        }
        // Never echo the key in the error: a bad byte is all we say.
        let mut api_key = HeaderValue::from_str(key).map_err(|_| {
            KnockError::Config("Knock API key contains characters not allowed in a header".into())
        })?;
        api_key.set_sensitive(true);

        let mut headers = HeaderMap::new();
        // Knock's examples send a JSON content type on every request, GET and body-less PUT too.
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .default_headers(headers)
            .user_agent(concat!("tourgate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            // A redirect would carry x-api-key to wherever it points; Knock documents none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KnockError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url,
            api_key,
            metrics,
        })
    }

    /// `GET /community/{communityId}/available-times?forSelfGuided=…` (API.md §3). Each start
    /// keeps the offset Knock gave it, so it can be sent back unchanged.
    pub async fn available_times(
        &self,
        community_id: &str,
        for_self_guided: bool,
    ) -> Result<Vec<DateTime<FixedOffset>>, KnockError> {
        const EP: &str = "available_times";
        let mut url = self.url(&["community", community_id, "available-times"]);
        url.query_pairs_mut().append_pair(
            "forSelfGuided",
            if for_self_guided { "true" } else { "false" },
        );
        self.call(EP, Method::GET, url, None, |r: AvailableTimesResponse| {
            Ok(r.acceptable_times)
        })
        .await
    }

    /// `POST /prospect` (API.md §8.1): the new or matched prospect's id.
    pub async fn create_prospect(&self, req: &ProspectRequest) -> Result<ProspectId, KnockError> {
        const EP: &str = "prospect_create";
        let body = encode(EP, req)?;
        let url = self.url(&["prospect"]);
        self.call(EP, Method::POST, url, Some(body), |r: ProspectCreated| {
            Ok(r.id)
        })
        .await
    }

    /// `GET /prospect/{prospectId}` (API.md §8.2).
    pub async fn get_prospect(&self, id: &ProspectId) -> Result<Prospect, KnockError> {
        let url = self.url(&["prospect", id.as_str()]);
        self.call("prospect_get", Method::GET, url, None, Ok).await
    }

    /// `GET /prospect/{prospectId}/events?first=…&after=…` (API.md §8.3).
    pub async fn prospect_events(
        &self,
        id: &ProspectId,
        first: u32,
        after: Option<&str>,
    ) -> Result<EventsPage, KnockError> {
        let mut url = self.url(&["prospect", id.as_str(), "events"]);
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("first", &first.to_string());
            if let Some(after) = after {
                q.append_pair("after", after);
            }
        }
        self.call("prospect_events", Method::GET, url, None, Ok)
            .await
    }

    /// `POST /appointment/request` (API.md §4). A success that names no status means booked.
    pub async fn request_appointment(
        &self,
        req: &AppointmentRequest,
    ) -> Result<Appointment, KnockError> {
        const EP: &str = "appointment_request";
        let body = encode(EP, req)?;
        let url = self.url(&["appointment", "request"]);
        self.call(
            EP,
            Method::POST,
            url,
            Some(body),
            |env: AppointmentEnvelope| env.into_appointment(AppointmentStatus::Confirmed),
        )
        .await
    }

    /// `PUT /appointment/{appointmentId}/cancel` (API.md §5), body-less as in Knock's examples.
    pub async fn cancel_appointment(&self, id: &AppointmentId) -> Result<Appointment, KnockError> {
        const EP: &str = "appointment_cancel";
        let url = self.url(&["appointment", id.as_str(), "cancel"]);
        self.call(
            EP,
            Method::PUT,
            url,
            Some(Vec::new()),
            |env: AppointmentEnvelope| env.into_appointment(AppointmentStatus::Cancelled),
        )
        .await
    }

    /// `POST /visit` (API.md §7). Not idempotent on Knock's side.
    pub async fn post_visit(&self, req: &VisitRequest) -> Result<VisitId, KnockError> {
        const EP: &str = "visit";
        let body = encode(EP, req)?;
        let url = self.url(&["visit"]);
        self.call(EP, Method::POST, url, Some(body), |r: VisitCreated| {
            Ok(r.visit_id)
        })
        .await
    }

    /// `POST /prospect/{prospectId}/email` (API.md §8.4): logs an e-mail, sends nothing.
    pub async fn log_email(
        &self,
        prospect: &ProspectId,
        req: &EmailLog,
    ) -> Result<CommunicationId, KnockError> {
        const EP: &str = "prospect_email";
        let body = encode(EP, req)?;
        let url = self.url(&["prospect", prospect.as_str(), "email"]);
        self.call(EP, Method::POST, url, Some(body), |r: EmailLogged| {
            Ok(r.communication_id)
        })
        .await
    }

    /// The base URL plus `segments`, each percent-encoded as one path segment.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // `new` refused cannot-be-a-base URLs, so the path is always extendable.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One request: headers, time-outs, classification, a span, and the two metrics.
    /// `read` turns Knock's answer into ours; its refusal is a contract break like bad JSON.
    async fn call<W: DeserializeOwned, T>(
        &self,
        endpoint: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        read: impl FnOnce(W) -> Result<T, String>,
    ) -> Result<T, KnockError> {
        let span = tracing::info_span!(
            "knock_call",
            endpoint,
            method = %method,
            path = url.path(),
            status = tracing::field::Empty,
            outcome = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let result = self
                .exchange::<W>(endpoint, method, url, body)
                .await
                .and_then(|w| read(w).map_err(|detail| KnockError::Contract { endpoint, detail }));
            let elapsed = started.elapsed();
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.outcome(),
            };
            self.metrics
                .knock_calls
                .with_label_values(&[endpoint, outcome])
                .inc();
            self.metrics
                .knock_latency
                .with_label_values(&[endpoint])
                .observe(elapsed.as_secs_f64());
            let span = tracing::Span::current();
            span.record("outcome", outcome);
            span.record("elapsed_ms", elapsed.as_millis() as u64);
            if let Some(status) = result.as_ref().err().and_then(KnockError::status) {
                span.record("status", status);
            }
            match &result {
                Ok(_) => tracing::info!(endpoint, outcome, "Knock call succeeded"),
                Err(e) => tracing::warn!(endpoint, outcome, error = %e, "Knock call failed"),
            }
            result
        }
        .instrument(span)
        .await
    }

    async fn exchange<W: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<W, KnockError> {
        let mut request = self
            .http
            .request(method, url)
            .header("x-api-key", self.api_key.clone());
        if let Some(body) = body {
            if body.is_empty() {
                // hyper leaves an empty body unannounced; gateways tend to want a length on PUT.
                request = request.header(CONTENT_LENGTH, "0");
            }
            request = request.body(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(endpoint, None, &e))?;
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));

        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(too_large(endpoint, status));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(transport_error(endpoint, Some(status), &e)),
            }
        }

        if !status.is_success() {
            return Err(classify_status(
                endpoint,
                status.as_u16(),
                retry_after,
                &body,
            ));
        }
        serde_json::from_slice(&body).map_err(|e| KnockError::Contract {
            endpoint,
            detail: format!("{e}; body: {}", body_snippet(&body)),
        })
    }
}

/// Our request types always serialize; a failure here would be our bug, reported, not panicked.
fn encode(endpoint: &'static str, req: &impl Serialize) -> Result<Vec<u8>, KnockError> {
    serde_json::to_vec(req)
        .map_err(|e| KnockError::Config(format!("cannot encode the {endpoint} request: {e}")))
}

/// Anything that kept the whole answer from arriving: not connected, timed out, cut off.
fn transport_error(
    endpoint: &'static str,
    status: Option<StatusCode>,
    e: &reqwest::Error,
) -> KnockError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if status.is_some() {
        "response body cut off"
    } else {
        "request failed"
    };
    KnockError::Retryable {
        endpoint,
        status: status.map(|s| s.as_u16()),
        retry_after: None,
        detail: format!("{what}: {}", error_chain(e)),
    }
}

fn too_large(endpoint: &'static str, status: StatusCode) -> KnockError {
    let detail = format!("response body over {MAX_BODY_BYTES} bytes");
    if status.is_success() {
        KnockError::Contract { endpoint, detail }
    } else {
        classify_status(endpoint, status.as_u16(), None, detail.as_bytes())
    }
}

/// reqwest's own message is generic ("error sending request"); the cause is in the sources.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> Result<KnockClient, KnockError> {
        let url = Url::parse(base).map_err(|e| KnockError::Config(e.to_string()))?;
        KnockClient::new(
            KnockClientConfig::new(url, SecretString::from("k-123")),
            Metrics::new(),
        )
    }

    #[test]
    fn path_segments_are_percent_encoded_one_by_one() {
        let c = client("https://stage-syndication.knockrentals.com").expect("client");
        let url = c.url(&["community", "a/b c?#", "available-times"]);
        assert_eq!(
            url.as_str(),
            "https://stage-syndication.knockrentals.com/community/a%2Fb%20c%3F%23/available-times"
        );
    }

    #[test]
    fn a_base_url_with_a_prefix_or_trailing_slash_still_joins_cleanly() {
        let c = client("http://127.0.0.1:9/").expect("client");
        assert_eq!(c.url(&["visit"]).as_str(), "http://127.0.0.1:9/visit");
        let c = client("http://127.0.0.1:9/knock/").expect("client");
        assert_eq!(c.url(&["visit"]).as_str(), "http://127.0.0.1:9/knock/visit");
    }

    #[test]
    fn bad_configuration_is_refused_without_echoing_the_key() {
        assert!(matches!(
            client("mailto:ops@example.com"),
            Err(KnockError::Config(_))
        ));
        assert!(matches!(
            client("ftp://example.com"),
            Err(KnockError::Config(_))
        ));
        assert!(matches!(
            client("https://example.com/?a=1"),
            Err(KnockError::Config(_))
        ));
        match client("https://user:hunter2@example.com") {
            Err(KnockError::Config(msg)) => assert!(!msg.contains("hunter2"), "{msg}"),
            other => panic!("expected a config error, got {other:?}"),
        }
        let url = Url::parse("https://example.com").expect("url");
        for key in ["", "  ", "secret-with\nnewline"] {
            let cfg = KnockClientConfig::new(url.clone(), SecretString::from(key));
            match KnockClient::new(cfg, Metrics::new()) {
                Err(KnockError::Config(msg)) => assert!(!msg.contains("secret-with"), "{msg}"),
                other => panic!("expected a config error, got {other:?}"),
            }
        }
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let url = Url::parse("https://example.com").expect("url");
        let cfg = KnockClientConfig::new(url, SecretString::from("super-secret-key"));
        assert!(!format!("{cfg:?}").contains("super-secret-key"));
        let c = KnockClient::new(cfg, Metrics::new()).expect("client");
        assert!(!format!("{c:?}").contains("super-secret-key"));
        assert!(!format!("{:?}", c.api_key).contains("super-secret-key"));
    }
}
