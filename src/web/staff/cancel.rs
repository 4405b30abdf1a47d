//! Staff actions on one booking: cancelling a tour (a confirmation step with a reason),
//! retrying a dead Knock delivery, resending the access e-mail. All scoped like every staff
//! page: another community's booking is a 404.
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::auth::{self, CsrfForm, SignedIn, StaffForm};
use crate::booking::slots::describe;
use crate::booking::{Booking, BookingId, BookingState};
use crate::booking::{CancelOutcome, Canceller};
use crate::config::Community;
use crate::outbox::JobState;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

const REASON_MAX_CHARS: usize = 500;

#[derive(Template)]
#[template(path = "staff_cancel.html")]
struct CancelPage<'a> {
    me: &'a str,
    knock_down: Option<&'a str>,
    csrf_token: String,
    community: &'a Community,
    booking: &'a Booking,
    when: String,
    reason: &'a str,
    message: Option<&'a str>,
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
    csrf_token: Option<String>,
}

impl CsrfForm for CancelForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// A button's form: nothing but the token.
#[derive(Deserialize)]
pub struct RetryForm {
    csrf_token: Option<String>,
}

impl CsrfForm for RetryForm {
    fn csrf_token(&self) -> Option<&str> {
        self.csrf_token.as_deref()
    }
}

/// The booking behind `raw`, when this staff member may see it.
pub(super) async fn visible_booking<'a>(
    state: &'a AppState,
    me: &SignedIn,
    raw: &str,
) -> Result<(Booking, &'a Community), WebError> {
    let id = BookingId::parse(raw).ok_or(WebError::NotFound)?;
    let booking = state
        .staff
        .booking(&me.staff, &id)
        .await?
        .ok_or(WebError::NotFound)?;
    let c = state
        .settings
        .communities
        .get(&booking.community_slug)
        .ok_or(WebError::NotFound)?;
    Ok((booking, c))
}

fn to_booking(id: &BookingId) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/staff/bookings/{id}")))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

fn render(
    me: &SignedIn,
    session: &Session,
    c: &Community,
    b: &Booking,
    reason: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let html = CancelPage {
        me: &me.staff.email,
        knock_down: me.knock_down.as_deref(),
        csrf_token: csrf::token(session)?,
        community: c,
        booking: b,
        when: describe(b.slot_start(), c.timezone),
        reason,
        message,
    }
    .render()?;
    let mut res = auth::page(html);
    *res.status_mut() = status;
    Ok(res)
}

/// GET /staff/bookings/{id}/cancel: the confirmation step.
pub async fn form(
    state: web::Data<AppState>,
    me: SignedIn,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (b, c) = visible_booking(&state, &me, &path).await?;
    if !matches!(b.state, BookingState::Requesting | BookingState::Confirmed) {
        return Ok(to_booking(&b.id));
    }
    render(&me, &session, c, &b, "", None, StatusCode::OK)
}

/// POST /staff/bookings/{id}/cancel with a `reason`.
#[tracing::instrument(skip_all)]
pub async fn submit(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    StaffForm(me, form): StaffForm<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let (b, c) = visible_booking(&state, &me, &path).await?;
    let reason = form.reason.trim();
    let problem = if reason.is_empty() {
        Some("Give a reason: it is kept in the booking's history.")
    } else if reason.chars().count() > REASON_MAX_CHARS {
        Some("Keep the reason under 500 characters.")
    } else if reason
        .chars()
        .any(|ch| ch.is_control() && ch != '\n' && ch != '\r')
    {
        Some("The reason has characters that cannot be kept. Type it again.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return render(
            &me,
            &session,
            c,
            &b,
            &form.reason,
            Some(problem),
            StatusCode::BAD_REQUEST,
        );
    }
    let by = Canceller::Staff {
        email: &me.staff.email,
        reason,
    };
    match state.bookings.cancel(&b.id, by, Utc::now()).await? {
        CancelOutcome::Cancelled { .. } => {
            tracing::info!(booking = %b.id, staff = %me.staff.email, "staff cancelled a tour");
            Ok(to_booking(&b.id))
        }
        CancelOutcome::AlreadyCancelled => Ok(to_booking(&b.id)),
        CancelOutcome::NotCancellable(_) => Err(WebError::Conflict(
            "This tour can no longer be cancelled: it has started or is over.",
        )),
        CancelOutcome::UnknownBooking => Err(WebError::NotFound),
        CancelOutcome::ChangeInProgress => {
            Err(WebError::Busy(crate::web::bookings::CHANGE_IN_PROGRESS))
        }
    }
}

/// POST /staff/outbox/{job}/retry: a dead Knock delivery goes back to pending, due now.
#[tracing::instrument(skip_all)]
pub async fn retry(
    state: web::Data<AppState>,
    path: web::Path<String>,
    StaffForm(me, _): StaffForm<RetryForm>,
) -> Result<HttpResponse, WebError> {
    let job_id = crate::domain::job::parse_job_id(&path).ok_or(WebError::NotFound)?;
    // The job's booking decides who may act on it.
    let (job, b) = state
        .staff
        .job(&me.staff, job_id)
        .await?
        .ok_or(WebError::NotFound)?;
    if job.state == JobState::Dead {
        state
            .staff
            .retry_dead(&me.staff, job_id, Utc::now())
            .await?;
    }
    Ok(to_booking(&b.id))
}

/// POST /staff/bookings/{id}/resend-access: the access instructions again, now (a renter who
/// lost the mail). Only for a tour still ahead or under way.
pub async fn resend_access(
    state: web::Data<AppState>,
    path: web::Path<String>,
    StaffForm(me, _): StaffForm<RetryForm>,
) -> Result<HttpResponse, WebError> {
    let (b, _) = visible_booking(&state, &me, &path).await?;
    if !state.staff.resend_access(&me.staff, &b, Utc::now()).await? {
        return Err(WebError::Conflict(
            "Only a confirmed tour has access instructions to resend.",
        ));
    }
    Ok(to_booking(&b.id))
}
