//! Operations: liveness, readiness and metrics.
//!
//! `/metrics` is for the operator: on the metrics listener (`TOURGATE_METRICS_LISTEN`, its
//! only route) to anyone who can reach it, and on the main listener only to a client on this
//! machine, talking to us directly. Anyone else gets the ordinary 404 page.
use std::net::IpAddr;

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::error::WebError;
use super::AppState;
use crate::metrics::Metrics;
use crate::staff::client_ip;

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.bookings.ping().await {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain")
            .body("ready\n"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unreachable\n")
        }
    }
}

/// Headers a proxy adds when it forwards a request.
const FORWARDING_HEADERS: [&str; 3] = ["x-forwarded-for", "forwarded", "x-real-ip"];

/// Whether the main listener shows metrics to this request: the peer is loopback and nothing
/// says it forwards someone else's request. A proxy on this machine is a loopback peer, so a
/// request carrying any forwarding header is refused, whether or not the proxy is trusted; a
/// trusted proxy's client is, by `client_ip`, the address it forwarded, never loopback.
fn local_operator(
    peer: Option<IpAddr>,
    forwarded: &[(&str, &str)],
    trusted_proxies: &[IpAddr],
) -> bool {
    let Some(peer) = peer else {
        return false;
    };
    let named: Vec<&str> = forwarded
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("x-forwarded-for"))
        .map(|(_, v)| *v)
        .collect();
    let joined = named.join(",");
    let client = client_ip(
        peer,
        (!named.is_empty()).then_some(joined.as_str()),
        trusted_proxies,
    );
    forwarded.is_empty() && peer.to_canonical().is_loopback() && client.is_loopback()
}

fn render(registry: &Metrics) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .insert_header(("Cache-Control", "no-store"))
        .body(registry.render())
}

#[get("/metrics")]
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, WebError> {
    let forwarded: Vec<(&str, &str)> = FORWARDING_HEADERS
        .iter()
        .flat_map(|name| {
            req.headers()
                .get_all(*name)
                .map(move |v| (*name, v.to_str().unwrap_or("?")))
        })
        .collect();
    let peer = req.peer_addr().map(|a| a.ip());
    if !local_operator(peer, &forwarded, &state.settings.trusted_proxies) {
        return Err(WebError::NotFound);
    }
    Ok(render(&state.metrics))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz).service(readyz).service(metrics);
}

/// The metrics listener's one route; everything else there is a bare 404.
pub fn metrics_listener_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/metrics",
        web::get().to(|m: web::Data<Metrics>| async move { render(&m) }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_loopback_peer_asking_for_itself_sees_metrics() {
        assert!(local_operator(ip("127.0.0.1"), &[], &[]));
        assert!(local_operator(ip("::1"), &[], &[]));
        assert!(local_operator(ip("::ffff:127.0.0.1"), &[], &[]));
    }

    #[test]
    fn another_machine_or_an_unknown_peer_does_not() {
        assert!(!local_operator(ip("203.0.113.9"), &[], &[]));
        assert!(!local_operator(ip("10.0.0.2"), &[], &[]));
        assert!(!local_operator(ip("2001:db8::1"), &[], &[]));
        assert!(!local_operator(None, &[], &[]));
    }

    #[test]
    fn a_forwarded_request_is_not_loopback_whoever_forwards_it() {
        let proxy = "127.0.0.1".parse().unwrap();
        for trusted in [vec![], vec![proxy]] {
            for header in FORWARDING_HEADERS {
                assert!(
                    !local_operator(ip("127.0.0.1"), &[(header, "203.0.113.9")], &trusted),
                    "{header} {trusted:?}"
                );
            }
            // Even one claiming to forward loopback itself.
            assert!(!local_operator(
                ip("127.0.0.1"),
                &[("x-forwarded-for", "127.0.0.1")],
                &trusted
            ));
        }
        // A trusted remote proxy forwarding a forged loopback address.
        assert!(!local_operator(
            ip("10.0.0.2"),
            &[("x-forwarded-for", "127.0.0.1")],
            &["10.0.0.2".parse().unwrap()]
        ));
    }
}
