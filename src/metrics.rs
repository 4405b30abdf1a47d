//! Prometheus metrics: one registry per application, rendered at `GET /metrics` (on the
//! metrics listener, and to loopback clients on the main one).
//!
//! Every label takes its values from a set fixed in code, never from the request: a label per
//! made-up method or path would grow the registry, for good, with each one sent.
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route template (never the raw path: tokens are capabilities).
    pub http_requests: IntCounterVec,
    pub http_latency: HistogramVec,
    /// Knock calls by endpoint name and outcome (ok, retryable, unauthorized, permanent,
    /// contract).
    pub knock_calls: IntCounterVec,
    pub knock_latency: HistogramVec,
    /// Knock refusing our key (401/403) by endpoint: a configuration outage to alert on.
    pub knock_auth_failures: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "tourgate_http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_latency = HistogramVec::new(
            HistogramOpts::new(
                "tourgate_http_request_duration_seconds",
                "HTTP request latency",
            ),
            &["method", "route"],
        )
        .expect("valid metric");
        let knock_calls = IntCounterVec::new(
            Opts::new(
                "tourgate_knock_calls_total",
                "Calls to Knock by endpoint and outcome",
            ),
            &["endpoint", "outcome"],
        )
        .expect("valid metric");
        let knock_latency = HistogramVec::new(
            HistogramOpts::new(
                "tourgate_knock_call_duration_seconds",
                "Latency of calls to Knock",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["endpoint"],
        )
        .expect("valid metric");
        let knock_auth_failures = IntCounterVec::new(
            Opts::new(
                "tourgate_knock_auth_failures_total",
                "Calls to Knock that it answered 401 or 403 (our API key refused), by endpoint",
            ),
            &["endpoint"],
        )
        .expect("valid metric");
        for c in [
            Box::new(http_requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_latency.clone()),
            Box::new(knock_calls.clone()),
            Box::new(knock_latency.clone()),
            Box::new(knock_auth_failures.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            http_requests,
            http_latency,
            knock_calls,
            knock_latency,
            knock_auth_failures,
        }
    }

    /// Registers a collector owned by another module (outbox depth, ...).
    pub fn register(&self, c: Box<dyn prometheus::core::Collector>) {
        // A double registration is a programming error caught by the tests.
        self.registry.register(c).expect("metric registered once");
    }

    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding of metrics");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

/// The `method` label: the methods we route, else `OTHER`.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        _ => "OTHER",
    }
}

/// The `route` label: the route template that matched (one of ours, so a fixed set), else
/// `unmatched`, whatever the path.
pub fn route_label(pattern: Option<String>) -> String {
    pattern.unwrap_or_else(|| "unmatched".into())
}

/// The request's `route` label, found once per request and kept with it: finding it tries
/// every route's pattern again (regexes, for those with a `{segment}`), and both the request's
/// span and its metrics want it.
pub fn route_of(req: &actix_web::HttpRequest) -> std::rc::Rc<str> {
    use actix_web::HttpMessage;
    #[derive(Clone)]
    struct Found(std::rc::Rc<str>);
    if let Some(Found(route)) = req.extensions().get::<Found>() {
        return route.clone();
    }
    let route: std::rc::Rc<str> = route_label(req.match_pattern()).into();
    req.extensions_mut().insert(Found(route.clone()));
    route
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_we_do_not_route_are_one_label() {
        for (m, label) in [
            ("GET", "GET"),
            ("HEAD", "HEAD"),
            ("POST", "POST"),
            ("get", "OTHER"),
            ("PUT", "OTHER"),
            ("DELETE", "OTHER"),
            ("XYZZY", "OTHER"),
        ] {
            assert_eq!(method_label(m), label, "{m}");
        }
        assert_eq!(route_label(None), "unmatched");
        assert_eq!(
            route_label(Some("/bookings/{token}".into())),
            "/bookings/{token}"
        );
    }
}
