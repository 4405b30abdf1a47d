//! Knock failures, classified by what a caller should do next (API.md §11, §12.3).
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KnockError {
    /// Worth retrying: connect error, timeout, body cut off, 5xx, 429 (and 503) with
    /// Retry-After parsed (delta-seconds or HTTP-date).
    #[error("Knock {endpoint}: temporary failure{}: {detail}", status_suffix(*status))]
    Retryable {
        endpoint: &'static str,
        status: Option<u16>,
        retry_after: Option<Duration>,
        detail: String,
    },
    /// Knock (or the API gateway in front of it) did not accept our key: 401 or 403, e.g. the
    /// gateway's `{"message":"Forbidden"}` for a wrong, rotated or wrongly scoped key. Our
    /// configuration is at fault, not the request: Knock did not act, so a retry with backoff
    /// is safe for every endpoint, and it must never be shown to a renter as a refusal. It
    /// counts as retryable ([`KnockError::is_retryable`]); [`KnockError::is_unauthorized`]
    /// tells it apart for alerting. `message` is Knock's or the gateway's text, never the key.
    #[error(
        "Knock {endpoint}: our API key was refused with HTTP {status}{}",
        message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Unauthorized {
        endpoint: &'static str,
        status: u16,
        message: Option<String>,
    },
    /// Knock refused the request for good (any other 4xx): Knock's errorMessage/errorCode
    /// (or `message`) kept.
    #[error(
        "Knock {endpoint}: refused with HTTP {status}{}{}",
        error_code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default(),
        error_message.as_deref().map(|m| format!(": {m}")).unwrap_or_default()
    )]
    Permanent {
        endpoint: &'static str,
        status: u16,
        error_message: Option<String>,
        error_code: Option<String>,
    },
    /// A 2xx we cannot read where we need something from it (bad JSON, or no appointment id
    /// for an appointment request). Not retried blindly: the write may have happened.
    #[error("Knock {endpoint}: unreadable success response: {detail}")]
    Contract {
        endpoint: &'static str,
        detail: String,
    },
    /// Our own bad configuration (bad base URL, unbuildable client).
    #[error("Knock client configuration: {0}")]
    Config(String),
}

fn status_suffix(status: Option<u16>) -> String {
    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
}

impl KnockError {
    /// Worth trying again with backoff: temporary failures, and our key being refused (an
    /// outage of our configuration that an operator fixes; Knock did not act on the call).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. } | Self::Unauthorized { .. })
    }

    /// Knock refused our key (401/403): retry with backoff, alert, never blame the renter.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    /// A 4xx whose text says the appointment is cancelled already (a cancel's refusal that
    /// means the cancel has nothing left to do). Knock documents no such answer (API.md §5,
    /// §12.8: the sandbox answers a repeated cancel 200 with the same CANCELLED body), so
    /// this reads Knock's message and code: "already cancelled", "is canceled",
    /// `APPOINTMENT_ALREADY_CANCELLED`. "Cannot cancel ..." or "does not exist" do not count.
    pub fn says_already_cancelled(&self) -> bool {
        let Self::Permanent {
            status,
            error_message,
            error_code,
            ..
        } = self
        else {
            return false;
        };
        (400..500).contains(status)
            && [error_message, error_code]
                .into_iter()
                .flatten()
                .any(|text| {
                    let text = text.to_ascii_lowercase();
                    text.contains("cancelled") || text.contains("canceled")
                })
    }

    /// How long Knock asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Retryable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The fixed endpoint name (`None` for configuration errors, which precede any call).
    pub fn endpoint(&self) -> Option<&'static str> {
        match self {
            Self::Retryable { endpoint, .. }
            | Self::Unauthorized { endpoint, .. }
            | Self::Permanent { endpoint, .. }
            | Self::Contract { endpoint, .. } => Some(endpoint),
            Self::Config(_) => None,
        }
    }

    /// The HTTP status Knock answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Retryable { status, .. } => *status,
            Self::Unauthorized { status, .. } | Self::Permanent { status, .. } => Some(*status),
            Self::Contract { .. } | Self::Config(_) => None,
        }
    }

    /// The `outcome` label of `knock_calls`.
    pub(crate) fn outcome(&self) -> &'static str {
        match self {
            Self::Retryable { .. } => "retryable",
            Self::Unauthorized { .. } => "unauthorized",
            Self::Permanent { .. } => "permanent",
            Self::Contract { .. } | Self::Config(_) => "contract",
        }
    }
}

/// Knock's failure body: `errorMessage` (+ `errorCode`), or API Gateway's `message`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_message: Option<String>,
    error_code: Option<String>,
    message: Option<String>,
}

/// Turns a non-2xx answer into an error. Knock documents no statuses (API.md §12.3), so the
/// class decides: 5xx, 429 and 408 are worth retrying, 401 and 403 are our key refused (the
/// gateway answers a missing, unknown or out-of-scope key with 403, API.md §1), any other
/// status is final.
pub(crate) fn classify_status(
    endpoint: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> KnockError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let error_message = parsed.error_message.or(parsed.message);
    if status >= 500 || status == 429 || status == 408 {
        let detail = match (&parsed.error_code, &error_message) {
            (Some(code), Some(msg)) => format!("[{code}] {msg}"),
            (None, Some(msg)) => msg.clone(),
            (Some(code), None) => code.clone(),
            (None, None) => body_snippet(body),
        };
        KnockError::Retryable {
            endpoint,
            status: Some(status),
            retry_after,
            detail,
        }
    } else if status == 401 || status == 403 {
        KnockError::Unauthorized {
            endpoint,
            status,
            message: error_message.or(parsed.error_code),
        }
    } else {
        KnockError::Permanent {
            endpoint,
            status,
            error_message,
            error_code: parsed.error_code,
        }
    }
}

/// The start of a body that was not Knock's error JSON (a proxy's HTML page, say), for logs.
pub(crate) fn body_snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, which is
/// turned into a wait from `now` (zero when already past). Anything else is ignored.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Saturate absurdly long values instead of rejecting them.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    // IMF-fixdate, the only form senders may generate: "Sun, 06 Nov 1994 08:49:37 GMT".
    if let Ok(dt) = DateTime::parse_from_rfc2822(value) {
        return Some(dt.with_timezone(&Utc));
    }
    // The two obsolete forms recipients must still accept.
    const OBSOLETE: [&str; 2] = ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"];
    OBSOLETE
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(value, fmt).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, 28, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn retry_after_accepts_delta_seconds() {
        assert_eq!(parse_retry_after("2", now()), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(" 120 ", now()),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now()), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_accepts_an_imf_fixdate_relative_to_now() {
        let got = parse_retry_after("Wed, 28 Oct 2026 12:01:30 GMT", now());
        assert_eq!(got, Some(Duration::from_secs(90)));
    }

    #[test]
    fn retry_after_accepts_the_obsolete_http_date_forms() {
        assert_eq!(
            parse_retry_after("Wednesday, 28-Oct-26 12:00:10 GMT", now()),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 28 12:00:05 2026", now()),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn retry_after_in_the_past_means_no_wait() {
        let got = parse_retry_after("Tue, 27 Oct 2026 12:00:00 GMT", now());
        assert_eq!(got, Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_garbage_is_ignored() {
        for bad in [
            "",
            "soon",
            "-5",
            "1.5",
            "2 seconds",
            "Wed, 99 Oct 2026 12:00:00 GMT",
        ] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad:?}");
        }
    }

    #[test]
    fn server_errors_and_throttling_are_retryable_with_their_status() {
        for status in [500, 502, 503, 504, 429, 408] {
            let err = classify_status("appointment_request", status, None, b"");
            assert!(err.is_retryable(), "{status}");
            assert_eq!(err.status(), Some(status));
            assert_eq!(err.endpoint(), Some("appointment_request"));
        }
    }

    #[test]
    fn retry_after_is_carried_on_a_retryable_error() {
        let wait = Some(Duration::from_secs(7));
        let err = classify_status("visit", 429, wait, br#"{"message":"Too Many Requests"}"#);
        assert_eq!(err.retry_after(), wait);
        assert!(err.to_string().contains("Too Many Requests"), "{err}");
    }

    #[test]
    fn other_client_errors_are_permanent_and_keep_knocks_message_and_code() {
        let body = br#"{"errorCode":"CORE_API_GET_PROSPECT_FAIL","errorMessage":"Unable to get prospect upstream - Prospect_id 0 does not exist."}"#;
        let err = classify_status("prospect_get", 400, None, body);
        assert_eq!(
            err,
            KnockError::Permanent {
                endpoint: "prospect_get",
                status: 400,
                error_message: Some(
                    "Unable to get prospect upstream - Prospect_id 0 does not exist.".into()
                ),
                error_code: Some("CORE_API_GET_PROSPECT_FAIL".into()),
            }
        );
        assert!(!err.is_retryable());
        assert_eq!(err.retry_after(), None);
    }

    #[test]
    fn the_gateways_forbidden_is_our_key_refused_and_keeps_its_message_member() {
        let err = classify_status("available_times", 403, None, br#"{"message":"Forbidden"}"#);
        assert_eq!(
            err,
            KnockError::Unauthorized {
                endpoint: "available_times",
                status: 403,
                message: Some("Forbidden".into()),
            }
        );
        assert!(err.is_unauthorized());
        assert!(
            err.is_retryable(),
            "a key problem is retried, never a verdict"
        );
        assert_eq!(err.retry_after(), None);
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.outcome(), "unauthorized");
        assert_eq!(
            err.to_string(),
            "Knock available_times: our API key was refused with HTTP 403: Forbidden"
        );
    }

    #[test]
    fn a_401_with_any_body_is_our_key_refused() {
        for body in [
            &b""[..],
            b"<html>401</html>",
            br#"{"errorMessage":"bad key"}"#,
        ] {
            let err = classify_status("visit", 401, None, body);
            assert!(
                matches!(err, KnockError::Unauthorized { status: 401, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn only_a_client_error_saying_cancelled_means_already_cancelled() {
        let cancel = |status, body: &[u8]| {
            classify_status("appointment_cancel", status, None, body).says_already_cancelled()
        };
        assert!(cancel(
            400,
            br#"{"errorMessage":"Appointment 5 is already cancelled."}"#
        ));
        assert!(cancel(409, br#"{"errorMessage":"appointment canceled"}"#));
        assert!(cancel(
            400,
            br#"{"errorCode":"APPOINTMENT_ALREADY_CANCELLED"}"#
        ));
        assert!(!cancel(
            400,
            br#"{"errorMessage":"Appointment 5 does not exist."}"#
        ));
        assert!(!cancel(
            400,
            br#"{"errorMessage":"Cannot cancel a past appointment"}"#
        ));
        assert!(!cancel(403, br#"{"message":"cancelled"}"#), "a key problem");
        assert!(
            !cancel(503, br#"{"errorMessage":"cancelled"}"#),
            "temporary"
        );
    }

    #[test]
    fn a_non_json_error_body_is_still_classified() {
        let err = classify_status("prospect_create", 404, None, b"<html>Not Found</html>");
        assert!(matches!(
            err,
            KnockError::Permanent {
                status: 404,
                error_message: None,
                ..
            }
        ));
        let err = classify_status("prospect_create", 502, None, b"<html>Bad Gateway</html>");
        assert!(err.to_string().contains("Bad Gateway"), "{err}");
    }

    #[test]
    fn body_snippets_are_bounded_and_never_split_a_character() {
        let long = "é".repeat(500);
        let snippet = body_snippet(long.as_bytes());
        assert_eq!(snippet.chars().count(), 201);
        assert_eq!(body_snippet(b"  "), "empty body");
    }

    #[test]
    fn display_names_endpoint_status_and_message() {
        let err = classify_status(
            "visit",
            400,
            None,
            br#"{"errorMessage":"visitTime: in the future"}"#,
        );
        assert_eq!(
            err.to_string(),
            "Knock visit: refused with HTTP 400: visitTime: in the future"
        );
    }
}
