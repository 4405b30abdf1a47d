//! HTTP: routes by audience, the middleware every response passes through, shared state.
mod booking_form;
mod bookings;
mod brand;
mod callbacks;
mod csrf;
mod demo_index;
mod demo_lock;
mod demo_mail;
pub mod error;
mod flash;
mod ops;
mod pieces;
mod staff;
mod tour_done;
mod tours;

use std::sync::Arc;
use std::time::Instant;

use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, HttpResponse};

use crate::booking::BookingService;
use crate::config::Settings;
use crate::metrics::Metrics;
use error::WebError;
pub use ops::metrics_listener_routes;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub staff: crate::staff::StaffDesk,
    pub bookings: BookingService,
    pub metrics: Metrics,
    pub staff_sign_in: crate::staff::SignInLimits,
    /// The demo's staff account, shown on the demo's index page (demo `serve` only).
    pub demo_staff: Option<crate::demo::DemoStaff>,
    /// The in-process Knock sandbox's HTML view (demo mode).
    pub sandbox_view: Option<url::Url>,
    /// The in-process Seam emulator (demo mode), whose keypad the demo lock page drives.
    pub seam_sandbox: Option<seam_sandbox::SeamSandbox>,
}

const STYLESHEET: &str = include_str!("../../static/style.css");
/// Staff pages' and the demo's own rules, apart so that renter pages stay light.
const STAFF_STYLESHEET: &str = include_str!("../../static/staff.css");
const DEMO_STYLESHEET: &str = include_str!("../../static/demo.css");

/// Every route of the public application. A request's route is found by trying each in
/// turn (a pattern with a `{segment}` is a regex), and once more for its span and metrics
/// (`metrics::route_of`): the renters' landing page, the busiest by far, comes first.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tours/{community}")
            .route(web::get().to(tours::landing))
            .route(web::post().to(tours::book)),
    )
    .configure(ops::routes)
    .configure(callbacks::routes)
    .configure(demo_lock::routes)
    .configure(demo_mail::routes)
    .configure(demo_index::routes)
    .route(
        "/static/style.css",
        web::get().to(|| stylesheet(STYLESHEET)),
    )
    .route(
        "/static/staff.css",
        web::get().to(|| stylesheet(STAFF_STYLESHEET)),
    )
    .route(
        "/static/demo.css",
        web::get().to(|| stylesheet(DEMO_STYLESHEET)),
    )
    .configure(brand::routes)
    .configure(staff::routes)
    .route("/bookings/{token}", web::get().to(bookings::show))
    .route(
        "/bookings/{token}/cancel",
        web::get().to(bookings::cancel_form),
    )
    .route("/bookings/{token}/cancel", web::post().to(bookings::cancel))
    .route(
        "/bookings/{token}/reschedule",
        web::get().to(bookings::reschedule_form),
    )
    .route(
        "/bookings/{token}/reschedule",
        web::post().to(bookings::reschedule),
    )
    .route(
        "/bookings/{token}/send-link",
        web::post().to(bookings::send_link),
    )
    .route(
        "/bookings/{token}/done",
        web::post().to(tour_done::finished),
    )
    .route(
        "/bookings/{token}/feedback",
        web::post().to(tour_done::feedback),
    )
    .route(
        "/bookings/{token}/calendar.ics",
        web::get().to(bookings::calendar_ics),
    )
    .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, WebError> {
    Err(WebError::NotFound)
}

async fn stylesheet(css: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(css)
}

/// Forms are small; anything that is not a form gets a plain 400 page.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(16 * 1024)
        .error_handler(|err, _| {
            WebError::BadRequest(format!(
                "The form could not be read ({err}). Go back and try again."
            ))
            .into()
        })
}

pub fn session(settings: &Settings) -> SessionMiddleware<CookieSessionStore> {
    let key = Key::derive_from(settings.secret_key.expose().as_bytes());
    SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name("tg_session".into())
        .cookie_secure(settings.public_url.scheme() == "https")
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_content_security(CookieContentSecurity::Private)
        .build()
}

/// Query strings that cannot be read get the same plain 400 page as forms.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        WebError::BadRequest(format!("The address could not be read ({err}).")).into()
    })
}

/// Security headers on every answer. No inline script anywhere, so the CSP forbids it.
/// Behind an https public URL, browsers are also told to use https only (HSTS), subdomains
/// included; never over plain http, where the header would pin a site that has no TLS.
pub fn security_headers(settings: &Settings) -> DefaultHeaders {
    let headers = DefaultHeaders::new();
    let headers = match settings.public_url.scheme() {
        "https" => headers.add((
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        )),
        _ => headers,
    };
    headers
        .add((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        // Booking URLs are capabilities: never leak them to another site.
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
}

/// Counts requests by method, route template and status (never the raw path: tokens are
/// capabilities; never the raw method: each made-up one would be a series of its own).
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = crate::metrics::method_label(req.method().as_str());
    let started = Instant::now();
    let res = next.call(req).await?;
    let route = crate::metrics::route_of(res.request());
    let status = res.status();
    if let Some(m) = metrics {
        m.http_requests
            .with_label_values(&[method, &route, status.as_str()])
            .inc();
        m.http_latency
            .with_label_values(&[method, &route])
            .observe(started.elapsed().as_secs_f64());
    }
    crate::telemetry::request_finished(&route, status.as_u16(), started.elapsed());
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::STYLESHEET;

    /// A stray `}` once made browsers drop the rule after it (the fields' spacing) without a
    /// word: every brace of the stylesheet must pair up, comments aside.
    #[test]
    fn the_stylesheet_braces_pair_up() {
        let mut text = STYLESHEET;
        let mut depth = 0i32;
        while let Some(i) = text.find(['{', '}', '/']) {
            let (c, rest) = (text.as_bytes()[i], &text[i + 1..]);
            text = rest;
            match c {
                b'/' if text.starts_with('*') => {
                    let end = text.find("*/").expect("every comment is closed");
                    text = &text[end + 2..];
                }
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    assert!(
                        depth >= 0,
                        "a stray `}}` before: {:?}",
                        &rest[..rest.len().min(60)]
                    );
                }
                _ => {}
            }
        }
        assert_eq!(depth, 0, "a `{{` is never closed");
    }
}
