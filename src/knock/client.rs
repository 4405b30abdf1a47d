//! Typed client for Knock's partner API (API.md). One call is one HTTP request: callers own
//! the retry policy, so nothing here retries, and every failure says whether a retry is safe.
//!
//! Strict in what we send, tolerant in what we read: the answers to writes that cannot be
//! repeated safely (appointment request, cancel, visit, e-mail log) are read best-effort from
//! raw JSON (`types::read_*`), so that an answer of an unexpected shape never turns a write
//! Knock carried out into a failure that would be retried (and so written twice).
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;
use url::Url;

use super::error::{body_snippet, classify_status, parse_retry_after, KnockError};
use super::types::{
    read_appointment, read_cancel_answer, read_email_answer, read_visit_answer, Appointment,
    AppointmentId, AppointmentRequest, AppointmentStatus, AvailableTimesResponse, CancelAnswer,
    CommunicationId, EmailLog, EventsPage, Prospect, ProspectCreated, ProspectId, ProspectRequest,
    VisitId, VisitRequest,
};
use crate::metrics::Metrics;

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The header Knock's articles send the key in (API.md §1: API Gateway's API-key header).
pub const DEFAULT_API_KEY_HEADER: &str = "x-api-key";

/// Knock's answers are small JSON documents; anything bigger is not Knock talking.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Knock issues keys per product (API.md §1: stage has a prospect and an appointment test
/// key; production keys may be scoped, as a vendor keeping a separate prospect key shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    Prospect,
    Appointment,
}

impl KeyFamily {
    pub const ALL: [Self; 2] = [Self::Prospect, Self::Appointment];

    fn index(self) -> usize {
        match self {
            Self::Prospect => 0,
            Self::Appointment => 1,
        }
    }
}

/// One Knock endpoint: its name (for logs, metrics and errors) and the key it takes.
struct Endpoint {
    name: &'static str,
    family: KeyFamily,
}

// The key of each endpoint, as Knock's own articles use them (docs/, API.md §1):
// - The Prospect Creation, Get Prospect and Get Prospect Events articles use the prospect key.
const PROSPECT_CREATE: Endpoint = Endpoint {
    name: "prospect_create",
    family: KeyFamily::Prospect,
};
const PROSPECT_GET: Endpoint = Endpoint {
    name: "prospect_get",
    family: KeyFamily::Prospect,
};
const PROSPECT_EVENTS: Endpoint = Endpoint {
    name: "prospect_events",
    family: KeyFamily::Prospect,
};
// - POST /visit: both articles that show it (the Self-Guided Appointment article, although
//   its other examples use the appointment key, and the older Self-Guided Visit article) send
//   `syndication-prospect-TEST-KEY`: a visit is an event on the prospect. (One vendor's code
//   used its per-community key for it; the articles are what we follow.)
const VISIT: Endpoint = Endpoint {
    name: "visit",
    family: KeyFamily::Prospect,
};
// - The Self-Guided Appointment article names the appointment key for its flow: available
//   times (its step 2), the appointment request and the cancel.
const AVAILABLE_TIMES: Endpoint = Endpoint {
    name: "available_times",
    family: KeyFamily::Appointment,
};
const APPOINTMENT_REQUEST: Endpoint = Endpoint {
    name: "appointment_request",
    family: KeyFamily::Appointment,
};
const APPOINTMENT_CANCEL: Endpoint = Endpoint {
    name: "appointment_cancel",
    family: KeyFamily::Appointment,
};
// - The Log Prospect Email article's example sends `syndication-appointment-TEST-KEY`, though
//   the path hangs off /prospect: the article, not the path, decides.
const PROSPECT_EMAIL: Endpoint = Endpoint {
    name: "prospect_email",
    family: KeyFamily::Appointment,
};

#[derive(Debug, Clone)]
pub struct KnockClientConfig {
    /// e.g. `https://stage-syndication.knockrentals.com` (no path prefix).
    pub base_url: Url,
    /// Key for the prospect endpoints (see [`KeyFamily`]); never logged or Debug-printed.
    pub prospect_api_key: SecretString,
    /// Key for the appointment endpoints; often the same key as the prospect one.
    pub appointment_api_key: SecretString,
    /// The header the key goes in: `x-api-key`, unless a gateway in front wants another.
    pub api_key_header: String,
    pub connect_timeout: Duration,
    /// Total time for one call, body included.
    pub timeout: Duration,
}

impl KnockClientConfig {
    /// One key for every endpoint, sent as `x-api-key`, with the default time-outs (3 s
    /// connect, 10 s total).
    pub fn new(base_url: Url, api_key: SecretString) -> Self {
        Self {
            base_url,
            prospect_api_key: api_key.clone(),
            appointment_api_key: api_key,
            api_key_header: DEFAULT_API_KEY_HEADER.to_owned(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Since when Knock has refused our key, per key family: the first 401/403 since that
/// family's last 2xx. Shared by every clone of a client, cheap to ask (for a staff banner).
#[derive(Debug, Clone, Default)]
pub struct KnockAuthHealth {
    refused_since: Arc<Mutex<[Option<DateTime<Utc>>; 2]>>,
}

impl KnockAuthHealth {
    fn slots(&self) -> std::sync::MutexGuard<'_, [Option<DateTime<Utc>>; 2]> {
        // A panic elsewhere while holding the lock leaves plain data behind: still usable.
        self.refused_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn refused(&self, family: KeyFamily, at: DateTime<Utc>) {
        self.slots()[family.index()].get_or_insert(at);
    }

    fn accepted(&self, family: KeyFamily) {
        self.slots()[family.index()] = None;
    }

    /// The earliest refusal still standing, over both keys; `None` when Knock takes them.
    pub fn refused_since(&self) -> Option<DateTime<Utc>> {
        self.slots().iter().flatten().min().copied()
    }

    /// Since when Knock has refused the key of `family`.
    pub fn refused_since_for(&self, family: KeyFamily) -> Option<DateTime<Utc>> {
        self.slots()[family.index()]
    }
}

#[derive(Clone)]
pub struct KnockClient {
    http: reqwest::Client,
    base_url: Url,
    key_header: HeaderName,
    /// Per [`KeyFamily`]; marked sensitive so that header dumps print them as `Sensitive`.
    keys: [HeaderValue; 2],
    metrics: Metrics,
    auth: KnockAuthHealth,
}

impl fmt::Debug for KnockClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnockClient")
            .field("base_url", &self.base_url.as_str())
            .field("key_header", &self.key_header.as_str())
            .finish_non_exhaustive()
    }
}

/// A key as a header value. Never echo the key in the error: which key and a bad byte is all.
fn key_header_value(key: &SecretString, which: &str) -> Result<HeaderValue, KnockError> {
    let key = key.expose_secret();
    if key.trim().is_empty() {
        return Err(KnockError::Config(format!(
            "Knock {which} API key is empty"
        )));
    }
    let mut value = HeaderValue::from_str(key).map_err(|_| {
        KnockError::Config(format!(
            "Knock {which} API key contains characters not allowed in a header"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
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
        let key_header =
            HeaderName::from_bytes(config.api_key_header.as_bytes()).map_err(|_| {
                KnockError::Config(format!(
                    "`{}` is not a valid header name for the Knock API key",
                    config.api_key_header
                ))
            })?;
        let keys = [
            key_header_value(&config.prospect_api_key, "prospect")?,
            key_header_value(&config.appointment_api_key, "appointment")?,
        ];

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
            // A redirect would carry the key to wherever it points; Knock documents none.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| KnockError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url,
            key_header,
            keys,
            metrics,
            auth: KnockAuthHealth::default(),
        })
    }

    /// Since when Knock has refused our key (the first 401/403 since the last 2xx of the same
    /// key), over both keys; `None` while Knock takes them. Cheap: for a staff banner.
    pub fn auth_refused_since(&self) -> Option<DateTime<Utc>> {
        self.auth.refused_since()
    }

    /// The shared record behind [`KnockClient::auth_refused_since`], per key.
    pub fn auth_health(&self) -> &KnockAuthHealth {
        &self.auth
    }

    /// `GET /community/{communityId}/available-times?forSelfGuided=…` (API.md §3). Each start
    /// keeps the offset Knock gave it, so it can be sent back unchanged. Read strictly: a
    /// start we cannot read must not silently vanish from what renters are offered.
    pub async fn available_times(
        &self,
        community_id: &str,
        for_self_guided: bool,
    ) -> Result<Vec<DateTime<FixedOffset>>, KnockError> {
        let mut url = self.url(&["community", community_id, "available-times"]);
        url.query_pairs_mut().append_pair(
            "forSelfGuided",
            if for_self_guided { "true" } else { "false" },
        );
        self.call(
            &AVAILABLE_TIMES,
            Method::GET,
            url,
            None,
            json(|r: AvailableTimesResponse| Ok(r.acceptable_times)),
        )
        .await
    }

    /// `POST /prospect` (API.md §8.1): the new or matched prospect's id.
    pub async fn create_prospect(&self, req: &ProspectRequest) -> Result<ProspectId, KnockError> {
        let body = encode(PROSPECT_CREATE.name, req)?;
        let url = self.url(&["prospect"]);
        self.call(
            &PROSPECT_CREATE,
            Method::POST,
            url,
            Some(body),
            json(|r: ProspectCreated| Ok(r.id)),
        )
        .await
    }

    /// `GET /prospect/{prospectId}` (API.md §8.2).
    pub async fn get_prospect(&self, id: &ProspectId) -> Result<Prospect, KnockError> {
        let url = self.url(&["prospect", id.as_str()]);
        self.call(&PROSPECT_GET, Method::GET, url, None, json(Ok))
            .await
    }

    /// `GET /prospect/{prospectId}/events?first=…&after=…` (API.md §8.3). Each event is read
    /// on its own; nodes that are not events are left out (counted in `skipped`, logged).
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
        let page: EventsPage = self
            .call(&PROSPECT_EVENTS, Method::GET, url, None, json(Ok))
            .await?;
        if page.skipped > 0 {
            tracing::warn!(
                endpoint = PROSPECT_EVENTS.name,
                skipped = page.skipped,
                "Knock events that are not objects were left out"
            );
        }
        Ok(page)
    }

    /// `POST /appointment/request` (API.md §4). Any 2xx with an appointment id is the booked
    /// appointment (a success that names no status means booked); its other members are read
    /// best-effort. A 2xx without an id is a contract error: the caller cannot go on without.
    pub async fn request_appointment(
        &self,
        req: &AppointmentRequest,
    ) -> Result<Appointment, KnockError> {
        let ep = &APPOINTMENT_REQUEST;
        let body = encode(ep.name, req)?;
        let url = self.url(&["appointment", "request"]);
        let (appointment, odd) = self
            .call(ep, Method::POST, url, Some(body), |body| {
                let value: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|e| format!("{e}; body: {}", body_snippet(body)))?;
                read_appointment(&value, AppointmentStatus::Confirmed)
            })
            .await?;
        warn_odd(ep.name, &odd);
        Ok(appointment)
    }

    /// `PUT /appointment/{appointmentId}/cancel` (API.md §5), body-less as in Knock's examples.
    /// Any 2xx is done, whatever its body; what it said is returned for the record. A refusal
    /// saying the appointment is cancelled already is the caller's to read
    /// ([`KnockError::says_already_cancelled`]).
    pub async fn cancel_appointment(&self, id: &AppointmentId) -> Result<CancelAnswer, KnockError> {
        let ep = &APPOINTMENT_CANCEL;
        let url = self.url(&["appointment", id.as_str(), "cancel"]);
        let (answer, odd) = self
            .call(ep, Method::PUT, url, Some(Vec::new()), |body| {
                Ok(read_cancel_answer(body))
            })
            .await?;
        warn_odd(ep.name, &odd);
        Ok(answer)
    }

    /// `POST /visit` (API.md §7). Not idempotent on Knock's side, so any 2xx is success: the
    /// visitId when the answer has one, else `None`.
    pub async fn post_visit(&self, req: &VisitRequest) -> Result<Option<VisitId>, KnockError> {
        let ep = &VISIT;
        let body = encode(ep.name, req)?;
        let url = self.url(&["visit"]);
        let (id, odd) = self
            .call(ep, Method::POST, url, Some(body), |body| {
                Ok(read_visit_answer(body))
            })
            .await?;
        warn_odd(ep.name, &odd);
        Ok(id)
    }

    /// `POST /prospect/{prospectId}/email` (API.md §8.4): logs an e-mail, sends nothing. Any
    /// 2xx is success: the communicationId when the answer has one.
    pub async fn log_email(
        &self,
        prospect: &ProspectId,
        req: &EmailLog,
    ) -> Result<Option<CommunicationId>, KnockError> {
        let ep = &PROSPECT_EMAIL;
        let body = encode(ep.name, req)?;
        let url = self.url(&["prospect", prospect.as_str(), "email"]);
        let (id, odd) = self
            .call(ep, Method::POST, url, Some(body), |body| {
                Ok(read_email_answer(body))
            })
            .await?;
        warn_odd(ep.name, &odd);
        Ok(id)
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

    /// One request: headers, time-outs, classification, a span, the metrics and the key's
    /// health. `read` turns the 2xx body into ours; its refusal is a contract break.
    async fn call<T>(
        &self,
        ep: &Endpoint,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        read: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Result<T, KnockError> {
        let endpoint = ep.name;
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
                .exchange(ep, method, url, body)
                .await
                .and_then(|b| read(&b).map_err(|detail| KnockError::Contract { endpoint, detail }));
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
            match &result {
                // A 2xx, readable or not: the key was taken.
                Ok(_) | Err(KnockError::Contract { .. }) => self.auth.accepted(ep.family),
                Err(KnockError::Unauthorized { .. }) => {
                    self.metrics
                        .knock_auth_failures
                        .with_label_values(&[endpoint])
                        .inc();
                    self.auth.refused(ep.family, Utc::now());
                }
                Err(_) => {}
            }
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

    /// Sends the request and returns the body of a 2xx; anything else is an error.
    async fn exchange(
        &self,
        ep: &Endpoint,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, KnockError> {
        let endpoint = ep.name;
        let mut request = self.http.request(method, url).header(
            self.key_header.clone(),
            self.keys[ep.family.index()].clone(),
        );
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
        Ok(body)
    }
}

/// A strict reader: the body is JSON of type `W`, then `then` makes ours of it.
fn json<W: DeserializeOwned, T>(
    then: impl FnOnce(W) -> Result<T, String>,
) -> impl FnOnce(&[u8]) -> Result<T, String> {
    move |body| {
        let w = serde_json::from_slice(body)
            .map_err(|e| format!("{e}; body: {}", body_snippet(body)))?;
        then(w)
    }
}

/// Members of a successful answer that we could not read: worth a look, never a failure.
fn warn_odd(endpoint: &'static str, odd: &[String]) {
    for oddity in odd {
        tracing::warn!(
            endpoint,
            oddity = %oddity,
            "Knock's answer read best-effort: a member was left out"
        );
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
        assert!(!format!("{:?}", c.keys).contains("super-secret-key"));
    }

    #[test]
    fn a_key_header_of_our_choosing_is_checked_and_normalised() {
        let url = Url::parse("https://example.com").expect("url");
        let mut cfg = KnockClientConfig::new(url, SecretString::from("k"));
        assert_eq!(cfg.api_key_header, "x-api-key");
        cfg.api_key_header = "ApiKey".into();
        let c = KnockClient::new(cfg.clone(), Metrics::new()).expect("client");
        assert_eq!(c.key_header.as_str(), "apikey");
        for bad in ["", "x api key", "x-api-key:", "k\n"] {
            cfg.api_key_header = bad.into();
            assert!(
                matches!(
                    KnockClient::new(cfg.clone(), Metrics::new()),
                    Err(KnockError::Config(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn each_key_is_checked_and_named_without_being_shown() {
        let url = Url::parse("https://example.com").expect("url");
        let mut cfg = KnockClientConfig::new(url, SecretString::from("good-key"));
        cfg.appointment_api_key = SecretString::from("bad\nsecret-key");
        match KnockClient::new(cfg, Metrics::new()) {
            Err(KnockError::Config(msg)) => {
                assert!(msg.contains("appointment"), "{msg}");
                assert!(!msg.contains("secret-key"), "{msg}");
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn auth_health_keeps_the_first_refusal_per_key_until_that_key_works_again() {
        use chrono::TimeZone;
        let health = KnockAuthHealth::default();
        let t = |m| Utc.with_ymd_and_hms(2026, 11, 22, 18, m, 0).unwrap();
        assert_eq!(health.refused_since(), None);
        health.refused(KeyFamily::Appointment, t(5));
        health.refused(KeyFamily::Appointment, t(9));
        assert_eq!(health.refused_since(), Some(t(5)), "the first refusal");
        // The other key working says nothing about this one.
        health.accepted(KeyFamily::Prospect);
        assert_eq!(health.refused_since(), Some(t(5)));
        health.refused(KeyFamily::Prospect, t(1));
        assert_eq!(health.refused_since(), Some(t(1)));
        assert_eq!(health.refused_since_for(KeyFamily::Appointment), Some(t(5)));
        // Clones share the record.
        health.clone().accepted(KeyFamily::Prospect);
        assert_eq!(health.refused_since(), Some(t(5)));
        health.accepted(KeyFamily::Appointment);
        assert_eq!(health.refused_since(), None);
    }
}
