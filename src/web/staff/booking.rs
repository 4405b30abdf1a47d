//! GET /staff/bookings/{id}: one booking, its history and what staff did to it.
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;

use super::auth::{self, SignedIn};
use super::auth::{CsrfForm, StaffForm};
use super::cancel::{visible_booking, RetryForm};
use super::labels::{
    delivery_label, delivery_status, history_kind, job_state, local_moment, localize_instants,
    row_state, DeliveryStatus,
};
use crate::booking::slots::{describe, describe_time};
use crate::booking::{Booking, BookingId, BookingState, Resolution, ResolveOutcome};
use crate::config::Community;
use crate::domain::{GrantState, Review};
use crate::knock::types::AppointmentId;
use crate::outbox::JobState;
use crate::staff::BookingRecord;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// One Knock delivery from the outbox, with a retry button when it is dead.
struct DeliveryLine {
    id: i64,
    what: String,
    state: String,
    attempts: i32,
    dead: bool,
}

/// One line of history in plain words, in the community's time (`datetime` keeps the instant).
struct HistoryLine {
    at: String,
    datetime: String,
    actor: String,
    kind: String,
    what: String,
    detail: String,
}

impl HistoryLine {
    fn new(at: DateTime<Utc>, actor: &str, kind: String, detail: &str, tz: chrono_tz::Tz) -> Self {
        Self {
            at: local_moment(at, tz),
            datetime: at.to_rfc3339(),
            actor: actor_label(actor),
            what: history_kind(&kind),
            kind,
            detail: localize_instants(detail, tz),
        }
    }
}

/// Who did it, as staff say it (a staff member is their e-mail).
fn actor_label(actor: &str) -> String {
    match actor {
        "renter" => "Renter",
        "knock" => "Knock",
        "system" => "Tourgate",
        "access" => "The lock",
        other => other,
    }
    .to_string()
}

/// The booking's code on one outside lock, for staff.
struct LockLine {
    /// "Building" or "Unit 101".
    lock: String,
    device_id: String,
    /// `access_grants.state`, for tests and styling.
    state: &'static str,
    label: &'static str,
    problem: Option<String>,
    opened: Option<String>,
}

/// A grant's state in plain words.
fn grant_label(s: GrantState) -> &'static str {
    match s {
        GrantState::Issuing => "Being sent to the lock",
        GrantState::Unset | GrantState::Setting => "Waiting for the lock",
        GrantState::Scheduled => "On the lock (scheduled)",
        GrantState::Set => "On the lock",
        GrantState::Failed => "Could not be set",
        GrantState::Revoking => "Being removed",
        GrantState::Removed => "Removed",
        GrantState::RevokeFailed => "Could not be removed: may still open the door",
    }
}

#[derive(Template)]
#[template(path = "staff_booking.html")]
struct BookingPage<'a> {
    me: &'a str,
    knock_down: Option<&'a str>,
    csrf_token: String,
    community: &'a Community,
    booking: &'a Booking,
    state_label: &'static str,
    when: String,
    ends: String,
    knock: DeliveryStatus,
    /// When a request is tried again.
    next_try: Option<String>,
    door_opened: Option<String>,
    created: String,
    created_at: String,
    history: Vec<HistoryLine>,
    cancellable: bool,
    deliveries: Vec<DeliveryLine>,
    /// Why the appointment id entered to adopt was refused.
    adopt_problem: Option<&'a str>,
    /// The renter's answer to "How was your tour?" (`staff_feedback.html`), and when, in
    /// community time.
    feedback: Option<crate::domain::TourFeedback>,
    feedback_at: String,
    /// The short reference renters read out on the phone.
    reference: crate::domain::BookingReference,
    /// Its code on each outside lock (the building's, then its units').
    locks: Vec<LockLine>,
}

pub async fn show(
    state: web::Data<AppState>,
    me: SignedIn,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    render(&state, &me, &session, &path, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    me: &SignedIn,
    session: &Session,
    path: &str,
    adopt_problem: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    // Malformed, unknown and another community's booking all answer the same 404.
    let id = BookingId::parse(path).ok_or(WebError::NotFound)?;
    let BookingRecord {
        booking,
        events,
        staff_actions,
        jobs,
        feedback,
    } = state
        .staff
        .record(&me.staff, &id)
        .await?
        .ok_or(WebError::NotFound)?;
    let c = state
        .settings
        .communities
        .get(&booking.community_slug)
        .ok_or(WebError::NotFound)?;
    let tz = c.timezone;
    let mut history: Vec<(DateTime<Utc>, HistoryLine)> = events
        .into_iter()
        .map(|e| {
            (
                e.at,
                HistoryLine::new(e.at, &e.actor, e.kind, &e.detail, tz),
            )
        })
        .collect();
    history.extend(staff_actions.into_iter().map(|a| {
        (
            a.at,
            HistoryLine::new(a.at, &a.actor, a.action, &a.detail, tz),
        )
    }));
    // Stable: events of the same instant keep their recorded order.
    history.sort_by_key(|(at, _)| *at);
    let deliveries = jobs
        .iter()
        .map(|j| DeliveryLine {
            id: j.id,
            what: delivery_label(j),
            state: job_state(j, tz),
            attempts: j.attempts,
            dead: j.state == JobState::Dead,
        })
        .collect();
    let locks = state
        .bookings
        .store()
        .access_grants(&booking.id)
        .await?
        .into_iter()
        .map(|g| LockLine {
            lock: match &g.unit {
                None => "Building".to_string(),
                Some(u) => format!("Unit {u}"),
            },
            device_id: g.device_id,
            state: g.state.as_str(),
            label: grant_label(g.state),
            problem: g.problem,
            opened: g.opened_at.map(|t| local_moment(t, tz)),
        })
        .collect();
    let feedback_at = feedback
        .as_ref()
        .map(|f| local_moment(f.answered_at, tz))
        .unwrap_or_default();
    let page = BookingPage {
        feedback,
        feedback_at,
        me: &me.staff.email,
        knock_down: me.knock_down.as_deref(),
        csrf_token: csrf::token(session)?,
        community: c,
        state_label: row_state(&booking).1,
        when: describe(booking.slot_start(), tz),
        ends: describe_time(booking.slot_end, tz),
        knock: delivery_status(&booking, &jobs),
        next_try: match booking.state {
            BookingState::Requesting => booking.next_attempt_at.map(|t| local_moment(t, tz)),
            _ => None,
        },
        door_opened: booking.first_access_at.map(|t| local_moment(t, tz)),
        deliveries,
        created: local_moment(booking.created_at, tz),
        created_at: booking.created_at.to_rfc3339(),
        history: history.into_iter().map(|(_, h)| h).collect(),
        cancellable: booking.state.is_cancellable(),
        adopt_problem,
        reference: crate::domain::BookingReference::of(&c.reference_prefix, &booking.id),
        booking: &booking,
        locks,
    };
    let mut response = auth::page(page.render()?);
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Deserialize)]
pub struct AdoptForm {
    csrf_token: Option<String>,
    #[serde(default)]
    appointment_id: String,
}

impl CsrfForm for AdoptForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// POST /staff/bookings/{id}/adopt: the appointment Knock holds for a request whose answer
/// was lost, read off Knock's calendar by staff.
pub async fn adopt(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    StaffForm(me, form): StaffForm<AdoptForm>,
) -> Result<HttpResponse, WebError> {
    // Knock's ids are short numeric strings (API.md §2); anything else is a typing slip.
    let typed = form.appointment_id.trim();
    let plausible = (1..=64).contains(&typed.len())
        && typed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let id = AppointmentId::parse(typed.to_string())
        .ok()
        .filter(|_| plausible);
    let Some(appointment) = id else {
        let problem = "Enter the appointment's id as Knock's calendar shows it (digits).";
        return render(
            &state,
            &me,
            &session,
            &path,
            Some(problem),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    resolve(&state, &me, &path, Resolution::Adopt(appointment)).await
}

/// POST /staff/bookings/{id}/confirm: the office confirmed a request Knock answered as pending.
pub async fn office_confirmed(
    state: web::Data<AppState>,
    path: web::Path<String>,
    StaffForm(me, _): StaffForm<RetryForm>,
) -> Result<HttpResponse, WebError> {
    resolve(&state, &me, &path, Resolution::OfficeConfirmed).await
}

async fn resolve(
    state: &AppState,
    me: &SignedIn,
    path: &str,
    resolution: Resolution,
) -> Result<HttpResponse, WebError> {
    let (b, c) = visible_booking(state, me, path).await?;
    let id = b.id;
    let outcome = state
        .bookings
        .resolve(c, &id, resolution, &me.staff.email, Utc::now())
        .await?;
    match outcome {
        ResolveOutcome::Confirmed => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/staff/bookings/{id}")))
            .insert_header(("Cache-Control", "no-store"))
            .finish()),
        ResolveOutcome::NotWaiting => Err(WebError::Conflict(
            "This booking does not wait for that any more: reload its page.",
        )),
        ResolveOutcome::UnknownBooking => Err(WebError::NotFound),
    }
}
