//! Logging: tracing to stdout, as text or JSON (`TOURGATE_LOG_FORMAT=json`), and the request
//! span. Request spans carry the route *template*, never the raw path: booking tokens in paths
//! are capabilities and must not reach logs.
//!
//! Quiet by default: a line per request (and per Knock call) would scroll the demo's printed
//! links away and bury what matters. Requests are logged at info only when they fail or are
//! slow; every one at debug (`TOURGATE_LOG=info,tourgate::request=debug`).
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::Error;
use actix_web::HttpMessage;
use std::time::Duration;

use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// What is logged when neither `TOURGATE_LOG` nor `RUST_LOG` says: info, without each Knock
/// call's success (failures are warnings) nor each sandbox call.
pub const DEFAULT_FILTER: &str =
    "info,sqlx=warn,actix_server=warn,knock_sandbox=warn,seam_sandbox=warn,tourgate::knock::client=warn";

/// The target of the per-request line (`TOURGATE_LOG=info,tourgate::request=debug`).
pub const REQUEST_TARGET: &str = "tourgate::request";

/// A request slower than this is logged at info.
pub const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// Installs the global subscriber once; later calls (tests spawning several apps) are no-ops.
/// The filter is `TOURGATE_LOG`, else `RUST_LOG` (tracing's directive syntax), else
/// [`DEFAULT_FILTER`]; a filter that cannot be read is said once and the default used.
pub fn init(format: LogFormat) {
    let wanted = std::env::var("TOURGATE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = match wanted.as_deref().map(EnvFilter::try_new) {
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!("TOURGATE_LOG: cannot read the filter ({e}); using {DEFAULT_FILTER}");
            EnvFilter::new(DEFAULT_FILTER)
        }
        None => EnvFilter::new(DEFAULT_FILTER),
    };
    let builder = fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Root span for each request: method, route template, request id and status.
pub struct RouteSpan;

impl RootSpanBuilder for RouteSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = crate::metrics::route_of(request.request());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|r| r.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        span.record("status", status);
    }
}

/// How loud a finished request is: server errors always, slow ones at info, the rest at debug.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestLine {
    Error,
    Slow,
    Quiet,
}

impl RequestLine {
    pub fn of(status: u16, elapsed: Duration) -> Self {
        match (status, elapsed) {
            (500.., _) => Self::Error,
            (_, e) if e >= SLOW_REQUEST => Self::Slow,
            _ => Self::Quiet,
        }
    }
}

/// The one line a finished request gets, by route template (never the raw path).
pub fn request_finished(route: &str, status: u16, elapsed: Duration) {
    let ms = elapsed.as_millis() as u64;
    match RequestLine::of(status, elapsed) {
        RequestLine::Error => {
            tracing::error!(target: REQUEST_TARGET, %route, status, ms, "request failed")
        }
        RequestLine::Slow => {
            tracing::info!(target: REQUEST_TARGET, %route, status, ms, "slow request")
        }
        RequestLine::Quiet => {
            tracing::debug!(target: REQUEST_TARGET, %route, status, ms, "request")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failed_or_slow_requests_are_logged_above_debug() {
        let fast = Duration::from_millis(20);
        assert_eq!(RequestLine::of(200, fast), RequestLine::Quiet);
        assert_eq!(RequestLine::of(404, fast), RequestLine::Quiet);
        assert_eq!(RequestLine::of(503, fast), RequestLine::Error);
        assert_eq!(RequestLine::of(200, SLOW_REQUEST), RequestLine::Slow);
        assert_eq!(RequestLine::of(500, SLOW_REQUEST), RequestLine::Error);
    }
}
