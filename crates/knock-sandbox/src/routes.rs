//! Knock's routes (API.md §3–§8) and the server around them. Order of checks, as Knock's
//! API Gateway does it: route and method, then the key (and, per profile, its scope), then any
//! injected fault, then the call.
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{json, Value};

use super::faults::{self, FaultRoute};
use super::gateway::{missing_token, reject, resource};
use super::prospects::{decode_cursor, EventsPage};
use super::records::{Json, RequestRecord, TourType};
use super::rules::{self, Rejection};
use super::{control, requests, wire, Sandbox};

pub(super) fn server(sandbox: Sandbox, listener: TcpListener) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(sandbox.clone()))
            .wrap(from_fn(record_request))
            .configure(knock_routes)
            .configure(control::routes)
            .default_service(web::to(missing_token))
    })
    .workers(2)
    // The embedding process owns shutdown (tests, or tourgate's own server).
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}

fn knock_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/community/{communityId}/available-times").route(web::get().to(available_times)),
    )
    .service(resource("/appointment/request").route(web::post().to(appointment_request)))
    .service(
        resource("/appointment/{appointmentId}/cancel").route(web::put().to(appointment_cancel)),
    )
    .service(resource("/visit").route(web::post().to(visit)))
    // K-AGT writes the path with a trailing slash (API.md §8.1).
    .service(
        web::resource(["/prospect", "/prospect/"])
            .route(web::post().to(prospect_create))
            .default_service(web::to(missing_token)),
    )
    .service(resource("/prospect/{prospectId}").route(web::get().to(prospect_get)))
    .service(resource("/prospect/{prospectId}/events").route(web::get().to(prospect_events)))
    .service(resource("/prospect/{prospectId}/email").route(web::post().to(prospect_email)));
}

/// Checks the key, applies a pending fault, else answers with `work`'s result.
async fn knock_call(
    req: &HttpRequest,
    sandbox: &Sandbox,
    route: FaultRoute,
    work: impl FnOnce() -> Result<Value, Rejection>,
) -> HttpResponse {
    let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    if !sandbox.accepts_key(key) {
        return reject(&rules::key_refusal(sandbox.profile(), key));
    }
    if let Some(refusal) = rules::refused_for_scope(sandbox.profile(), route) {
        return reject(&refusal);
    }
    let fault = sandbox.state().faults.take(route);
    faults::answer(fault, || match work() {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(rejection) => reject(&rejection),
    })
    .await
}

fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, Rejection> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|_| Rejection::invalid("query", "must be a valid query string"))
}

fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `forSelfGuided`: absent means in-person (INF, API.md §3).
fn requested_tour_type(req: &HttpRequest) -> Result<TourType, Rejection> {
    match query_value(&query_pairs(req)?, "forSelfGuided") {
        None | Some("false") => Ok(TourType::InPerson),
        Some("true") => Ok(TourType::SelfGuided),
        Some(_) => Err(Rejection::invalid("forSelfGuided", "must be true or false")),
    }
}

fn events_page(req: &HttpRequest) -> Result<EventsPage, Rejection> {
    let pairs = query_pairs(req)?;
    let first = match query_value(&pairs, "first") {
        None => rules::DEFAULT_EVENTS_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0 && text.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| Rejection::invalid("first", "must be a positive whole number"))?,
    };
    let after = match query_value(&pairs, "after") {
        None | Some("") => 0,
        Some(cursor) => decode_cursor(cursor)
            .ok_or_else(|| Rejection::invalid("after", "must be a pageInfo.endCursor value"))?,
    };
    Ok(EventsPage { first, after })
}

async fn available_times(req: HttpRequest, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let community_id = req.match_info().query("communityId").to_owned();
    knock_call(&req, &sandbox, FaultRoute::AvailableTimes, || {
        let tour_type = requested_tour_type(&req)?;
        let now = sandbox.now();
        let times = sandbox
            .state()
            .available_times(&community_id, tour_type, now)?;
        let times: Vec<String> = times.iter().map(wire::local_time).collect();
        Ok(json!({ "acceptableTimes": times }))
    })
    .await
}

async fn appointment_request(
    req: HttpRequest,
    sandbox: web::Data<Sandbox>,
    body: web::Bytes,
) -> HttpResponse {
    knock_call(&req, &sandbox, FaultRoute::AppointmentRequest, || {
        let request = requests::appointment_request(&body)?;
        let now = sandbox.now();
        let appointment = sandbox.state().book(request, now)?;
        Ok(rules::appointment_answer(sandbox.profile(), &appointment))
    })
    .await
}

/// The body, if any, is ignored (API.md §5: partners send none).
async fn appointment_cancel(req: HttpRequest, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let appointment_id = req.match_info().query("appointmentId").to_owned();
    knock_call(&req, &sandbox, FaultRoute::AppointmentCancel, || {
        let now = sandbox.now();
        let appointment = sandbox.state().cancel(&appointment_id, now)?;
        Ok(rules::cancel_answer(sandbox.profile(), &appointment))
    })
    .await
}

async fn visit(req: HttpRequest, sandbox: web::Data<Sandbox>, body: web::Bytes) -> HttpResponse {
    knock_call(&req, &sandbox, FaultRoute::Visit, || {
        let request = requests::visit_request(&body)?;
        let now = sandbox.now();
        let id = sandbox.state().record_visit(request, now)?;
        Ok(rules::visit_answer(sandbox.profile(), &id))
    })
    .await
}

async fn prospect_create(
    req: HttpRequest,
    sandbox: web::Data<Sandbox>,
    body: web::Bytes,
) -> HttpResponse {
    knock_call(&req, &sandbox, FaultRoute::ProspectCreate, || {
        let request = requests::prospect_upsert(&body)?;
        let now = sandbox.now();
        let id = sandbox.state().upsert_prospect(request, now)?;
        Ok(json!({ "id": id }))
    })
    .await
}

async fn prospect_get(req: HttpRequest, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let prospect_id = req.match_info().query("prospectId").to_owned();
    knock_call(&req, &sandbox, FaultRoute::ProspectGet, || {
        sandbox.state().prospect_body(&prospect_id)
    })
    .await
}

async fn prospect_events(req: HttpRequest, sandbox: web::Data<Sandbox>) -> HttpResponse {
    let prospect_id = req.match_info().query("prospectId").to_owned();
    knock_call(&req, &sandbox, FaultRoute::ProspectEvents, || {
        let state = sandbox.state();
        // The prospect is checked before the paging parameters.
        state.prospect_index(&prospect_id)?;
        state.events_page(&prospect_id, events_page(&req)?, sandbox.profile())
    })
    .await
}

async fn prospect_email(
    req: HttpRequest,
    sandbox: web::Data<Sandbox>,
    body: web::Bytes,
) -> HttpResponse {
    let prospect_id = req.match_info().query("prospectId").to_owned();
    knock_call(&req, &sandbox, FaultRoute::ProspectEmail, || {
        sandbox.state().prospect_index(&prospect_id)?;
        let log = requests::email_log(&body)?;
        let now = sandbox.now();
        let communication_id = sandbox.state().log_email(&prospect_id, log, now)?;
        Ok(rules::email_log_answer(
            sandbox.profile(),
            &communication_id,
        ))
    })
    .await
}

/// Logs every call (method, route, status; never a header, so never the key) and keeps the
/// Knock-side ones in the request log with their bodies.
async fn record_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let sandbox = req.app_data::<web::Data<Sandbox>>().cloned();
    let req_sandbox = sandbox.clone();
    // Only a write changes records worth keeping (a read's log line is kept with the next).
    let writes = req.method() != actix_web::http::Method::GET;
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let query = req.query_string().to_owned();
    let control = path == "/_sandbox" || path.starts_with("/_sandbox/");
    let body = if control {
        None
    } else {
        let bytes = req.extract::<web::Bytes>().await?;
        req.set_payload(Payload::from(bytes.clone()));
        Some(bytes)
    };
    let response = next.call(req).await?;
    let status = response.status();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(no route)".to_owned());
    tracing::info!(%method, %route, status = status.as_u16(), "knock sandbox call");
    if let (Some(sandbox), Some(body)) = (sandbox, body) {
        let body = (!body.is_empty()).then(|| {
            Json::new(
                &serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            )
        });
        let at = sandbox.now();
        sandbox.state().record_request(RequestRecord {
            at,
            method,
            path,
            query,
            status: status.as_u16(),
            body,
        });
    }
    if let Some(sandbox) = req_sandbox.filter(|_| writes) {
        sandbox.save_soon();
    }
    Ok(response)
}
