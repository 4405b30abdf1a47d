//! The renter's booking page and calendar file, reached by the booking's capability token.
use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::csrf;
use super::error::WebError;
use super::flash::{self, Flash};
use super::AppState;
use crate::access::{self, EmailProof, PROOF_COOKIE, PROOF_PARAM};
use crate::booking::slots::{describe, describe_time, group_by_day, Day, Slot};
use crate::booking::{Booking, BookingState, RescheduleResult};
use crate::booking::{CancelOutcome, Canceller};
use crate::booking::{MailSent, ManageLinkQueued};
use crate::calendar::{self, CalendarEvent, CalendarMethod, Outlook};
use crate::config::{Community, Confirmation};
use crate::domain::{
    BookingReference, BookingToken, GrantState, MailKind, Review, TourFeedback, TourRating,
};

/// What a renter (or staff member) is told when another change to the tour holds it.
pub(super) const CHANGE_IN_PROGRESS: &str =
    "Another change to this tour is on its way. Wait a moment, then reload this page.";

#[derive(Template)]
#[template(path = "booking.html")]
struct BookingPage<'a> {
    community: &'a Community,
    booking: &'a Booking,
    when: String,
    ends: String,
    /// The door code, once due (never before `shown_before` the start).
    access_code: Option<String>,
    /// Units whose own lock has a PIN of its own: (unit, code), shown with the door code.
    unit_codes: Vec<(String, String)>,
    access_until: String,
    /// When the code will appear, while it is not shown yet.
    code_appears: Option<String>,
    /// The tour is live, its community wants proof of e-mail before the code, and this
    /// browser has not opened a link from our mail: the page says how to.
    needs_proof: bool,
    /// The code is due but withheld for want of that proof.
    code_withheld: bool,
    /// When the door first let the renter in (the lock's own time), while the tour is under
    /// way: said, and its instant for machines.
    arrived: Option<(String, String)>,
    /// The code is due and may be seen, but the lock (a provider that sets codes on the
    /// device some time after we ask) does not have it yet: why, in a word for tests.
    code_waits: Option<CodeWait>,
    /// The renter's address as the page may show it to whoever holds the link: `g***@example.com`.
    masked_email: String,
    /// Demo mode with mail written to files: the page points to the demo mailbox.
    demo_mailbox: bool,
    /// What the last "send the link again" did.
    notice: Option<&'static str>,
    /// What the post before this view did (booked, moved, cancelled), or that staff cancelled.
    status_notice: Option<StatusNotice>,
    /// The short reference for phone calls, `MPL-4K7Q-9TZB`.
    reference: BookingReference,
    /// "Add to calendar" links, for a confirmed tour.
    calendar: Option<CalendarLinks>,
    cancelled_by_staff: bool,
    /// For the "I have finished", "send the link again" and "How was your tour?" forms.
    csrf_token: String,
    /// The tour's window is on (its code opens the door, or the renter is inside): the
    /// office's number is always in view (`tour_help.html`).
    in_window: bool,
    /// The renter's answer on the finished-tour page, once given (`tour_next_step.html`).
    feedback: Option<TourFeedback>,
    /// The window ended unverified (its lock reports no entries) recently enough that the
    /// renter may still say they toured (`rules::renter_may_finish_unverified`).
    may_finish: bool,
    ratings: [TourRating; 4],
}

/// Why a due code is not shown yet on an outside lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeWait {
    /// Asked of the lock, not on it yet.
    Setting,
    /// The lock could not take it (offline too long, full, refused): staff were alerted.
    NotSet,
}

impl CodeWait {
    fn kind(self) -> &'static str {
        match self {
            Self::Setting => "setting",
            Self::NotSet => "not_set",
        }
    }
}

/// A one-line notice at the top of the booking card; `kind` for tests and styling.
struct StatusNotice {
    kind: &'static str,
    text: String,
}

struct CalendarLinks {
    google: String,
    outlook: String,
    office: String,
}

/// The calendar event's texts for a booking, shared by the .ics file and the links.
struct EventText {
    uid: String,
    summary: String,
    description: String,
    url: Option<String>,
}

fn event_text(state: &AppState, booking: &Booking, c: &Community) -> EventText {
    let url = state
        .settings
        .public_url
        .join(&format!("bookings/{}", booking.token))
        .map(|u| u.to_string())
        .ok();
    EventText {
        uid: format!("{}@tourgate", booking.id),
        summary: format!("Self-guided tour: {}", c.name),
        description: format!(
            "Your self-guided tour of {} ({} minutes). Your door code appears on your booking page shortly before the tour. Reference {}.",
            c.name,
            c.tour_minutes,
            BookingReference::of(&c.reference_prefix, &booking.id)
        ),
        url,
    }
}

fn event<'a>(
    t: &'a EventText,
    booking: &Booking,
    c: &'a Community,
    method: CalendarMethod,
) -> CalendarEvent<'a> {
    CalendarEvent {
        uid: &t.uid,
        sequence: 0,
        method,
        start: booking.slot_start(),
        end: booking.slot_end,
        timezone: c.timezone,
        summary: &t.summary,
        location: &c.address,
        description: &t.description,
        url: t.url.as_deref(),
        organizer_email: None,
        attendee_email: None,
        stamp: booking.updated_at.min(Utc::now()),
    }
}

/// What the page says about what just happened. The mail sentence only when we sent that
/// mail (or it is on its way); in a community where Knock confirms, our first mail is the
/// link to this page, not a second confirmation (README "One confirmation").
async fn status_notice(
    state: &AppState,
    booking: &Booking,
    c: &Community,
    flash: Option<Flash>,
    cancelled_by_staff: bool,
) -> Result<Option<StatusNotice>, WebError> {
    let to = mask_email(booking.email.as_str());
    let mailed = |sent: MailSent, what: &str| match sent {
        MailSent::Sent => format!(" We e-mailed {what} to {to}."),
        MailSent::Sending => format!(" We are e-mailing {what} to {to} now."),
    };
    let notice = match (flash, booking.state) {
        (Some(Flash::Booked), BookingState::Confirmed) => {
            let sent = state
                .bookings
                .renter_mail(&booking.id, MailKind::Confirmation)
                .await?;
            let mail = match (sent, c.confirmation) {
                (None, _) => String::new(),
                (Some(s), Confirmation::Tourgate) => mailed(s, "your confirmation"),
                (Some(s), Confirmation::Knock) => format!(
                    "{} {} sends your confirmation in its own e-mail.",
                    mailed(s, "the link to this page"),
                    c.name
                ),
            };
            Some(StatusNotice {
                kind: "booked",
                text: format!("Your tour is booked.{mail}"),
            })
        }
        (Some(Flash::Moved { from }), BookingState::Confirmed) => {
            let sent = state
                .bookings
                .renter_mail(&booking.id, MailKind::Reschedule)
                .await?;
            let mail = sent.map(|s| mailed(s, "the new time")).unwrap_or_default();
            Some(StatusNotice {
                kind: "moved",
                text: format!(
                    "Your tour has moved from {} to {}.{mail}",
                    describe(from, c.timezone),
                    describe(booking.slot_start(), c.timezone)
                ),
            })
        }
        (_, BookingState::Cancelled) if cancelled_by_staff => Some(StatusNotice {
            kind: "cancelled_by_staff",
            text: format!(
                "The leasing office at {} cancelled your tour of {}.",
                c.name,
                describe(booking.slot_start(), c.timezone)
            ),
        }),
        (Some(Flash::Cancelled), BookingState::Cancelled) => Some(StatusNotice {
            kind: "cancelled",
            text: format!(
                "You cancelled your tour of {}. The leasing office has been told.",
                describe(booking.slot_start(), c.timezone)
            ),
        }),
        _ => None,
    };
    Ok(notice)
}

/// How long a browser keeps its proof of e-mail: longer than any booking lives.
const PROOF_KEPT_DAYS: i64 = 400;

/// `grace@example.com` as `g***@example.com`: enough for the renter to know which inbox to
/// look in, not enough to tell a stranger holding the link whose it is.
fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// The `proof` the links in our mails carry, if this request has one.
fn presented_proof(req: &HttpRequest) -> Option<String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == PROOF_PARAM)
        .map(|(_, v)| v.into_owned())
}

/// Whether this browser proved, by opening a link from our mail, that it reads the renter's
/// e-mail (a cookie scoped to the booking's page holds the proof).
fn browser_proved(req: &HttpRequest, proof: &EmailProof, booking: &Booking) -> bool {
    req.cookies().is_ok_and(|cookies| {
        cookies
            .iter()
            .any(|k| k.name() == PROOF_COOKIE && proof.verify(&booking.id, k.value()))
    })
}

/// A renter's form post on their booking: from our own page (CSRF, else 403), then the
/// booking behind the link (else 404).
pub(super) async fn load_for_post<'a>(
    state: &'a AppState,
    req: &HttpRequest,
    session: &Session,
    token: &str,
    csrf_token: Option<&str>,
) -> Result<(Booking, &'a Community), WebError> {
    csrf::verify(req, session, csrf_token, &state.settings.public_url)?;
    load(state, token).await
}

pub(super) async fn load<'a>(
    state: &'a AppState,
    token: &str,
) -> Result<(Booking, &'a Community), WebError> {
    // Junk never reaches the database; unknown and malformed look the same.
    let token = BookingToken::parse(token).map_err(|_| WebError::NotFound)?;
    let booking = state
        .bookings
        .by_token(&token)
        .await?
        .ok_or(WebError::NotFound)?;
    let community = state
        .settings
        .communities
        .get(&booking.community_slug)
        .ok_or(WebError::NotFound)?;
    Ok((booking, community))
}

/// GET /bookings/{token}. A link from our mail (`?proof=...`) leaves its proof in a cookie
/// scoped to this page and redirects to the page's own address, so that the proof is not left
/// in the address bar or the history. Nothing else changes on a GET (mail scanners follow
/// links: a cookie in a scanner's jar is harmless).
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) = load(&state, &path).await?;
    let proof = EmailProof::new(state.settings.secret_key.expose());
    if let Some(presented) = presented_proof(&req) {
        let mut res = HttpResponse::SeeOther();
        res.insert_header((header::LOCATION, format!("/bookings/{}", booking.token)))
            .insert_header(("Cache-Control", "no-store"));
        // A wrong proof (an old key, a mangled link) just lands on the page without one.
        if proof.verify(&booking.id, &presented) {
            let cookie = Cookie::build(PROOF_COOKIE, presented)
                .path(format!("/bookings/{}", booking.token))
                .http_only(true)
                .secure(state.settings.public_url.scheme() == "https")
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(PROOF_KEPT_DAYS))
                .finish();
            res.cookie(cookie);
        }
        return Ok(res.finish());
    }
    let proved = !c.door_code_needs_email_proof || browser_proved(&req, &proof, &booking);
    booking_page(&state, &session, &booking, c, proved, None, StatusCode::OK).await
}

async fn booking_page(
    state: &AppState,
    session: &Session,
    booking: &Booking,
    c: &Community,
    proved: bool,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let now = Utc::now();
    let live = booking.state.is_live();
    let shown_from = booking.slot_start() - c.access.shown_before;
    let until = *access::window(c, booking).end();
    let due = live && now >= shown_from && now <= until;
    // The code is computed only for a browser that may see it: one ask of the provider gives
    // the code, or why it is not shown yet.
    let (grant, code_waits) = match due && proved {
        true => match state.bookings.access_grant(c, booking).await {
            Ok(g) => (Some(g), None),
            Err(e) => (None, code_wait(state, c, &e)),
        },
        false => (None, None),
    };
    let needs_proof = live && !proved;
    let in_window = booking.state == BookingState::InProgress
        || (live && access::window(c, booking).contains(&now));
    let completed = booking.state == BookingState::Completed;
    let feedback = match completed {
        true => state.bookings.feedback(&booking.id).await?,
        false => None,
    };
    let asks_feedback = completed && feedback.is_none();
    let may_finish = booking.state == BookingState::Unverified
        && crate::domain::rules::renter_may_finish_unverified(now, booking.slot_end);
    let flash = flash::take(session, &booking.id);
    let cancelled_by_staff = booking.state == BookingState::Cancelled
        && state.bookings.cancelled_by_staff(&booking.id).await?;
    let status_notice = status_notice(state, booking, c, flash, cancelled_by_staff).await?;
    let calendar = (booking.state == BookingState::Confirmed).then(|| {
        let text = event_text(state, booking, c);
        let e = event(&text, booking, c, CalendarMethod::Publish);
        CalendarLinks {
            google: calendar::google_link(&e),
            outlook: calendar::outlook_link(&e, Outlook::Personal),
            office: calendar::outlook_link(&e, Outlook::Work),
        }
    });
    let page = BookingPage {
        in_window,
        ratings: TourRating::ALL,
        status_notice,
        reference: BookingReference::of(&c.reference_prefix, &booking.id),
        calendar,
        cancelled_by_staff,
        community: c,
        when: describe(booking.slot_start(), c.timezone),
        ends: describe_time(booking.slot_end, c.timezone),
        unit_codes: grant
            .as_ref()
            .map(|g| {
                g.unit_codes
                    .iter()
                    .map(|u| (u.unit.clone(), u.code.reveal().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        access_code: grant
            .and_then(|g| g.code)
            .map(|code| code.reveal().to_string()),
        access_until: describe_time(until, c.timezone),
        code_appears: (live && now < shown_from).then(|| describe(shown_from, c.timezone)),
        needs_proof,
        code_withheld: due && !proved,
        code_waits,
        arrived: booking
            .first_access_at
            .filter(|_| booking.state == BookingState::InProgress)
            .map(|at| {
                (
                    describe_time(at, c.timezone),
                    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                )
            }),
        masked_email: mask_email(booking.email.as_str()),
        demo_mailbox: state.settings.demo() && state.settings.smtp_url.is_none(),
        notice,
        feedback,
        may_finish,
        csrf_token: if booking.state == BookingState::InProgress
            || needs_proof
            || asks_feedback
            || may_finish
        {
            csrf::token(session)?
        } else {
            String::new()
        },
        booking,
    };
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        // The page changes as Knock answers; never serve a stale state from a cache.
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

/// A due code that is not shown: on a lock that sets codes some time after the ask, whether it
/// is on its way or could not be set (the access provider's own word for the grant's state).
fn code_wait(state: &AppState, c: &Community, why: &access::AccessError) -> Option<CodeWait> {
    if !state.bookings.access().capabilities(c).async_provisioning {
        return None;
    }
    match why {
        access::AccessError::NotReady(s)
            if GrantState::parse(s).is_some_and(GrantState::needs_attention) =>
        {
            Some(CodeWait::NotSet)
        }
        _ => Some(CodeWait::Setting),
    }
}

/// POST /bookings/{token}/send-link: the booking's link (with its proof) e-mailed again to
/// the address on file, within the per-booking limit shared with the manage-link mail.
#[tracing::instrument(skip_all)]
pub async fn send_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    form: web::Form<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) =
        load_for_post(&state, &req, &session, &path, form.csrf_token.as_deref()).await?;
    let proof = EmailProof::new(state.settings.secret_key.expose());
    let proved = !c.door_code_needs_email_proof || browser_proved(&req, &proof, &booking);
    let (notice, status) = match state
        .bookings
        .send_booking_link(&booking.id, Utc::now())
        .await?
    {
        ManageLinkQueued::Queued => {
            tracing::info!(booking = %booking.id, "the booking link was sent again");
            (
                "We have e-mailed the link again. Open it from that e-mail on this phone or computer.",
                StatusCode::OK,
            )
        }
        ManageLinkQueued::RateLimited => (
            "We have sent the link several times in the last hour already. Look for it in your inbox and spam folder, or try again later.",
            StatusCode::TOO_MANY_REQUESTS,
        ),
        ManageLinkQueued::NotLive => return Ok(to_booking(&booking)),
    };
    booking_page(&state, &session, &booking, c, proved, Some(notice), status).await
}

pub async fn calendar_ics(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) = load(&state, &path).await?;
    let cancelled = matches!(
        booking.state,
        BookingState::Cancelled | BookingState::Failed
    );
    let method = if cancelled {
        CalendarMethod::Cancel
    } else {
        CalendarMethod::Publish
    };
    let text = event_text(&state, &booking, c);
    let ics = calendar::render(&event(&text, &booking, c, method));
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"tour.ics\""))
        .insert_header(("Cache-Control", "no-store"))
        .body(ics))
}

#[derive(Template)]
#[template(path = "booking_cancel.html")]
struct CancelPage<'a> {
    community: &'a Community,
    booking: &'a Booking,
    when: String,
    csrf_token: String,
}

#[derive(serde::Deserialize)]
pub struct CancelForm {
    csrf_token: Option<String>,
}

fn cancellable(b: &Booking) -> bool {
    b.state.is_cancellable()
}

pub(super) fn to_booking(booking: &Booking) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/bookings/{}", booking.token)))
        .finish()
}

/// GET /bookings/{token}/cancel: the confirmation step (GET changes nothing: mail scanners
/// follow links). A booking past cancelling goes back to its page.
pub async fn cancel_form(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) = load(&state, &path).await?;
    if !cancellable(&booking) {
        return Ok(to_booking(&booking));
    }
    let page = CancelPage {
        community: c,
        when: describe(booking.slot_start(), c.timezone),
        csrf_token: csrf::token(&session)?,
        booking: &booking,
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

/// POST /bookings/{token}/cancel. Cancelling twice lands on the same cancelled page.
#[tracing::instrument(skip_all)]
pub async fn cancel(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    form: web::Form<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let (booking, _) =
        load_for_post(&state, &req, &session, &path, form.csrf_token.as_deref()).await?;
    match state
        .bookings
        .cancel(&booking.id, Canceller::Renter, Utc::now())
        .await?
    {
        CancelOutcome::Cancelled { .. } => {
            tracing::info!(booking = %booking.id, "the renter cancelled");
            flash::leave(&session, &booking.id, Flash::Cancelled);
            Ok(to_booking(&booking))
        }
        CancelOutcome::AlreadyCancelled => Ok(to_booking(&booking)),
        CancelOutcome::NotCancellable(_) => Err(WebError::Conflict(
            "This tour can no longer be cancelled: it has started or is over.",
        )),
        CancelOutcome::UnknownBooking => Err(WebError::NotFound),
        CancelOutcome::ChangeInProgress => Err(WebError::Busy(CHANGE_IN_PROGRESS)),
    }
}

#[derive(Template)]
#[template(path = "booking_reschedule.html")]
struct ReschedulePage<'a> {
    community: &'a Community,
    booking: &'a Booking,
    when: String,
    days: Vec<std::sync::Arc<Day>>,
    tz_label: String,
    /// The first day's tab: the picker opens on it.
    open_day: String,
    /// Always empty: the page comes back only when the time picked is gone. A field because
    /// the shared picker compares against the booking form's `String`.
    chosen: String,
    csrf_token: String,
    message: Option<&'a str>,
}

#[derive(serde::Deserialize)]
pub struct RescheduleForm {
    #[serde(default)]
    start: String,
    csrf_token: Option<String>,
}

async fn reschedule_page(
    state: &AppState,
    session: &Session,
    c: &Community,
    booking: &Booking,
    message: Option<&str>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, WebError> {
    let slots = state.bookings.offered_slots(c).await?;
    let others: Vec<Slot> = slots
        .into_iter()
        .filter(|s| s.utc() != booking.slot_start())
        .collect();
    let days = group_by_day(&others, c.timezone);
    let page = ReschedulePage {
        community: c,
        when: describe(booking.slot_start(), c.timezone),
        open_day: days.first().map(|d| d.value.clone()).unwrap_or_default(),
        days,
        tz_label: super::tours::tz_label(c),
        chosen: String::new(),
        csrf_token: csrf::token(session)?,
        message,
        booking,
    };
    Ok(HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header(("Cache-Control", "no-store"))
        .body(page.render()?))
}

/// GET /bookings/{token}/reschedule: fresh times from Knock.
pub async fn reschedule_form(
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) = load(&state, &path).await?;
    if !booking.state.is_movable() {
        return Ok(to_booking(&booking));
    }
    reschedule_page(
        &state,
        &session,
        c,
        &booking,
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

/// POST /bookings/{token}/reschedule with the new `start`.
#[tracing::instrument(skip_all)]
pub async fn reschedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    form: web::Form<RescheduleForm>,
) -> Result<HttpResponse, WebError> {
    let (booking, c) =
        load_for_post(&state, &req, &session, &path, form.csrf_token.as_deref()).await?;
    let Some(slot) = Slot::parse(&form.start) else {
        return reschedule_page(
            &state,
            &session,
            c,
            &booking,
            Some("Choose one of the times offered."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let result = state.bookings.reschedule(c, &booking, slot).await?;
    match result {
        RescheduleResult::Moved(b) => {
            tracing::info!(booking = %b.id, "the renter moved the tour");
            let from = booking.slot_start();
            flash::leave(&session, &b.id, Flash::Moved { from });
            Ok(to_booking(&b))
        }
        RescheduleResult::NotMovable => Ok(to_booking(&booking)),
        RescheduleResult::SlotUnavailable => {
            reschedule_page(&state, &session, c, &booking, Some("That time was just taken or is no longer available. Your tour is unchanged; please choose another time."), StatusCode::CONFLICT).await
        }
        RescheduleResult::Refused(_) => {
            reschedule_page(&state, &session, c, &booking, Some("The leasing office could not take that time. Your tour is unchanged; please choose another time."), StatusCode::CONFLICT).await
        }
        RescheduleResult::KnockUnavailable(e) => Err(WebError::CalendarDown(e)),
        // Not the picker again: drawing it would ask Knock for times while the other change
        // is still waiting for Knock.
        RescheduleResult::ChangeInProgress => Err(WebError::Busy(CHANGE_IN_PROGRESS)),
    }
}
