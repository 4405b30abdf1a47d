//! The Doorway landing page and the booking form: GET and POST /tours/{community}.
use actix_session::Session;
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::booking_form::{self, FieldErrors, FormValues, RawBookingForm};
use super::csrf;
use super::error::{WebError, CALENDAR_DOWN};
use super::AppState;
use crate::booking::slots::{group_by_day, Day};
use crate::booking::{BookError, BookOutcome, SMS_CONSENT_TEXT};
use crate::config::Community;
use crate::domain::{Bedrooms, SourceTitle};

#[derive(Template)]
#[template(path = "tour.html")]
struct TourPage<'a> {
    community: &'a Community,
    tz_label: String,
    days: Vec<Day>,
    knock_unavailable: bool,
    notice: Option<&'a Notice<'a>>,
    errors: FieldErrors,
    form: FormValues,
    csrf_token: String,
    idempotency_key: String,
    action: String,
    self_url: String,
    sms_consent_text: &'a str,
    bedrooms: [Bedrooms; 4],
}

/// What the page says when the renter (by e-mail or phone) has a tour at the community.
pub const ALREADY_BOOKED: &str = "A tour is already booked for this e-mail address or phone \
number. We have e-mailed the link to change or cancel it to the address we have on file.";

/// A message at the top of the page; `error` ones look like the form's error summary.
struct Notice<'a> {
    text: &'a str,
    error: bool,
}

impl<'a> Notice<'a> {
    fn info(text: &'a str) -> Self {
        Self { text, error: false }
    }

    fn error(text: &'a str) -> Self {
        Self { text, error: true }
    }
}

#[derive(Deserialize)]
pub struct LandingQuery {
    utm_knock_source_title: Option<String>,
}

fn community<'a>(state: &'a AppState, slug: &str) -> Result<&'a Community, WebError> {
    state
        .settings
        .communities
        .get(slug)
        .ok_or(WebError::NotFound)
}

fn source_key(c: &Community) -> String {
    format!("source:{}", c.slug)
}

/// The visitor's source title for this community: what Doorway sent, else the default.
fn source_title(session: &Session, c: &Community) -> SourceTitle {
    session
        .get::<String>(&source_key(c))
        .ok()
        .flatten()
        .and_then(|s| SourceTitle::parse(&s).ok())
        .unwrap_or_else(|| c.default_source_title.clone())
}

pub async fn landing(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<LandingQuery>,
    session: Session,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    if let Some(raw) = &query.utm_knock_source_title {
        // Kept exactly as received; an unusable value (control characters, too long) is
        // dropped in favour of the default rather than stopping a renter from booking.
        match SourceTitle::parse(raw) {
            Ok(t) => session
                .insert(source_key(c), t.as_str())
                .map_err(|e| WebError::internal("session", e))?,
            Err(e) => {
                tracing::warn!(community = %c.slug, error = %e, "ignored an unusable utm_knock_source_title")
            }
        }
    }
    render_form(
        &state,
        c,
        &session,
        FormValues::default(),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn book(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    session: Session,
    form: web::Form<RawBookingForm>,
) -> Result<HttpResponse, WebError> {
    let c = community(&state, &path)?;
    csrf::verify(
        &req,
        &session,
        form.csrf_token.as_deref(),
        &state.settings.public_url,
    )?;
    if !form.website.is_empty() {
        tracing::info!(community = %c.slug, "honeypot filled: request dropped quietly");
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/tours/{}", c.slug)))
            .finish());
    }
    let today = Utc::now().with_timezone(&c.timezone).date_naive();
    let values = FormValues::from(&*form);
    let parsed = match booking_form::parse(&form, today) {
        Ok(p) => p,
        Err(errors) => {
            return render_form(
                &state,
                c,
                &session,
                values,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let outcome = state
        .bookings
        .book(
            c,
            parsed.renter,
            source_title(&session, c),
            parsed.slot,
            parsed.idempotency_key,
        )
        .await;
    let booking = match outcome {
        Ok(
            BookOutcome::Confirmed(b) | BookOutcome::Pending(b) | BookOutcome::AlreadySubmitted(b),
        ) => b,
        Ok(BookOutcome::SlotUnavailable) => {
            return pick_again(
                &state,
                c,
                &session,
                values,
                "That time was just taken or is no longer available. Please choose another time.",
            )
            .await;
        }
        Ok(BookOutcome::AlreadyBooked) => {
            // Nothing about that booking: whoever typed the e-mail or phone may not be the
            // renter. The form keeps their values.
            return render_form(
                &state,
                c,
                &session,
                values,
                FieldErrors::default(),
                Some(&Notice::error(ALREADY_BOOKED)),
                StatusCode::CONFLICT,
            )
            .await;
        }
        Ok(BookOutcome::Refused(_)) => {
            return pick_again(&state, c, &session, values, "The leasing office could not book that time. Nothing was booked. Please choose another time.").await;
        }
        // The form again, the renter's details kept, rather than the bare error page.
        Err(BookError::KnockUnavailable(e)) => {
            tracing::warn!(community = %c.slug, error = %e, "Knock unavailable while booking");
            let notice = format!("{CALENDAR_DOWN} Your details are kept below.");
            return render_form(
                &state,
                c,
                &session,
                values,
                FieldErrors::default(),
                Some(&Notice::info(&notice)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
        Err(e @ BookError::Store(_)) => return Err(e.into()),
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/bookings/{}", booking.token)))
        .finish())
}

/// The form again with the renter's details kept and fresh slots: their time is gone.
async fn pick_again(
    state: &AppState,
    c: &Community,
    session: &Session,
    mut values: FormValues,
    message: &str,
) -> Result<HttpResponse, WebError> {
    values.start.clear();
    let mut errors = FieldErrors::default();
    errors.add("start", message);
    render_form(
        state,
        c,
        session,
        values,
        errors,
        None,
        StatusCode::CONFLICT,
    )
    .await
}

async fn render_form(
    state: &AppState,
    c: &Community,
    session: &Session,
    form: FormValues,
    errors: FieldErrors,
    notice: Option<&Notice<'_>>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (days, knock_unavailable) = match state.bookings.available_slots(c).await {
        Ok(slots) => (group_by_day(&slots, c.timezone), false),
        Err(e) => {
            tracing::warn!(community = %c.slug, error = %e, "could not load available times");
            (Vec::new(), true)
        }
    };
    let mut form = form;
    if !days
        .iter()
        .flat_map(|d| &d.slots)
        .any(|s| s.value == form.start)
    {
        form.start.clear();
    }
    let page = TourPage {
        community: c,
        tz_label: tz_label(c),
        days,
        knock_unavailable,
        notice,
        errors,
        form,
        csrf_token: csrf::token(session)?,
        idempotency_key: csrf::random_token(),
        action: format!("/tours/{}", c.slug),
        self_url: format!("/tours/{}", c.slug),
        sms_consent_text: SMS_CONSENT_TEXT,
        bedrooms: Bedrooms::ALL,
    };
    let status = if knock_unavailable && status == StatusCode::OK {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    };
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(page.render()?))
}

/// "in Pacific time (America/Los_Angeles, PST)": the zone named, with today's abbreviation.
pub(super) fn tz_label(c: &Community) -> String {
    let abbrev = Utc::now()
        .with_timezone(&c.timezone)
        .format("%Z")
        .to_string();
    format!("local time at {} ({}, {abbrev})", c.name, c.timezone.name())
}
