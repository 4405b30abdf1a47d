//! GET /staff/bookings/{id}: one booking, its history and what staff did to it.
use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use super::auth::{self, SignedIn};
use super::labels::{delivery_label, job_state, knock_delivery, state_label};
use crate::booking::slots::{describe, describe_time};
use crate::booking::{Booking, BookingId};
use crate::config::Community;
use crate::outbox::JobState;
use crate::staff::BookingRecord;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

/// One Knock delivery from the outbox, with a retry button when it is dead.
struct DeliveryLine {
    id: i64,
    what: String,
    state: String,
    attempts: i32,
    dead: bool,
}

struct HistoryLine {
    at: String,
    actor: String,
    what: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "staff_booking.html")]
struct BookingPage<'a> {
    me: &'a str,
    csrf_token: String,
    community: &'a Community,
    booking: &'a Booking,
    state_label: &'static str,
    when: String,
    ends: String,
    knock: String,
    created: String,
    history: Vec<HistoryLine>,
    cancellable: bool,
    deliveries: Vec<DeliveryLine>,
}

pub async fn show(
    state: web::Data<AppState>,
    me: SignedIn,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    // Malformed, unknown and another community's booking all answer the same 404.
    let id = BookingId::parse(&path).ok_or(WebError::NotFound)?;
    let BookingRecord {
        booking,
        events,
        staff_actions,
        jobs,
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
    let local = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
    };
    let mut history: Vec<(chrono::DateTime<chrono::Utc>, HistoryLine)> = events
        .into_iter()
        .map(|e| {
            (
                e.at,
                HistoryLine {
                    at: local(e.at),
                    actor: e.actor,
                    what: e.kind,
                    detail: e.detail,
                },
            )
        })
        .collect();
    history.extend(staff_actions.into_iter().map(|a| {
        (
            a.at,
            HistoryLine {
                at: local(a.at),
                actor: a.actor,
                what: a.action,
                detail: a.detail,
            },
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
    let page = BookingPage {
        me: &me.staff.email,
        csrf_token: csrf::token(&session)?,
        community: c,
        state_label: state_label(booking.state),
        when: describe(booking.slot_start(), tz),
        ends: describe_time(booking.slot_end, tz),
        knock: knock_delivery(&booking, &jobs, tz),
        deliveries,
        created: local(booking.created_at),
        history: history.into_iter().map(|(_, h)| h).collect(),
        cancellable: matches!(
            booking.state,
            crate::booking::BookingState::Requesting | crate::booking::BookingState::Confirmed
        ),
        booking: &booking,
    };
    Ok(auth::page(page.render()?))
}
