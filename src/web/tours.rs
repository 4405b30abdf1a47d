//! The Doorway landing page and the booking form: GET and POST /tours/{community}.
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use actix_session::Session;
use actix_web::http::header::{self, ContentType};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::booking_form::{self, FieldErrors, FormValues, RawBookingForm};
use super::csrf;
use super::error::{WebError, CALENDAR_DOWN};
use super::flash::{self, Flash};
use super::pieces;
use super::AppState;
use crate::booking::slots::Day;
use crate::booking::{
    may_text, BookError, BookOutcome, ClientLimit, OfferedDays, SMS_CONSENT_TEXT,
};
use crate::config::Community;
use crate::domain::{Bedrooms, Phone, SourceTitle};

#[derive(Template)]
#[template(path = "tour.html")]
struct TourPage<'a> {
    community: &'a Community,
    tz_label: String,
    days: &'a [Arc<Day>],
    /// The slot picker, rendered (`slot_picker_fragment.html`); with no time chosen, an outline
    /// with a [`pieces::HOLE`] for each day's times, shared by every view of a cached answer.
    picker: &'a str,
    knock_unavailable: bool,
    notice: Option<&'a Notice<'a>>,
    errors: FieldErrors,
    form: FormValues,
    action: String,
    self_url: String,
    sms_consent_text: &'a str,
    /// The renter ticked the SMS box for a number Knock will not text.
    sms_not_mobile: bool,
    bedrooms: [Bedrooms; 4],
}

/// The slot picker alone, rendered once per cached answer for the plain page view.
#[derive(Template)]
#[template(path = "slot_picker_fragment.html")]
struct PickerFragment<'a> {
    days: &'a [Arc<Day>],
    /// The day tab checked: the chosen time's day, else the day the renter had open.
    open_day: &'a String,
    chosen: &'a String,
}

impl TourPage<'_> {
    /// Where the form's tokens go: filled for each answer, around a page that is kept.
    fn hole(&self) -> &'static str {
        pieces::HOLE
    }
}

impl PickerFragment<'_> {
    /// Where a day's times go when none is chosen: they are sent as the day keeps them
    /// ([`day_times`]), not copied into each page.
    fn hole(&self) -> &'static str {
        pieces::HOLE
    }
}

/// The day's times with none chosen, rendered once per day: kept while the day is, and
/// shared by every page that shows it.
fn day_times(day: &Day) -> Bytes {
    day.times_html
        .get_or_init(|| DayTimes { day }.render().unwrap_or_default().into())
        .clone()
}

/// The holes for the form's tokens (CSRF, then the form key), first in the page.
const TOKENS: usize = 2;

/// One day's times with none chosen (`slot_picker_day.html`).
#[derive(Template)]
#[template(path = "slot_picker_day.html")]
struct DayTimes<'a> {
    day: &'a Day,
}

/// The day to show open: the chosen time's, else the one posted (if still offered), else the
/// first.
fn open_day(days: &[Arc<Day>], form: &FormValues) -> String {
    days.iter()
        .find(|d| d.has(&form.start))
        .or_else(|| days.iter().find(|d| d.value == form.day))
        .or_else(|| days.first())
        .map(|d| d.value.clone())
        .unwrap_or_default()
}

/// The answer to a client that made its bookings for the hour.
#[derive(Template)]
#[template(path = "too_many_bookings.html")]
struct TooManyBookings<'a> {
    community: &'a Community,
    per_hour: u32,
    minutes: u64,
    local_time: String,
}

/// What a post with a key this session was not issued is told.
pub const FORM_EXPIRED: &str = "This form has expired; reload the page.";

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
            // Written only when it changes: an unchanged session sends no new cookie.
            Ok(t)
                if session
                    .get::<String>(&source_key(c))
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(t.as_str()) => {}
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
        None,
        FormValues::default(),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// The address a booking limit is charged to: the peer, or what a trusted proxy says the
/// client is; counted by its rate key (an IPv6 client by its /64).
fn client_key(req: &HttpRequest, trusted: &[IpAddr]) -> String {
    let peer = req
        .peer_addr()
        .map(|a| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    // Several X-Forwarded-For headers are one list, in order.
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = forwarded.join(",");
    let ip = crate::staff::client_ip(
        peer,
        (!forwarded.is_empty()).then_some(joined.as_str()),
        trusted,
    );
    crate::staff::rate_key(ip).to_string()
}

/// What a dropped bot post is answered (the honeypot, a form posted faster than a person
/// fills it): the landing page again, as if nothing happened.
fn dropped(c: &Community) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/tours/{}", c.slug)))
        .finish()
}

fn to_booking(token: &impl std::fmt::Display) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/bookings/{token}")))
        .finish()
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
        return Ok(dropped(c));
    }
    // The form's key, bound to this session: another session's post of the same key finds
    // nothing here, and needs a key of its own.
    let key = &form.idempotency_key;
    let bound = booking_form::bound_key(&session, &c.slug, key);
    let Some(shown_at) = booking_form::shown_at(&session, &c.slug, key) else {
        // Not issued to this session (or forgotten since): a resubmission of a booking this
        // session made still lands on it.
        if let Some(bound) = &bound {
            if let Some(b) = state.bookings.by_submission(bound).await? {
                return Ok(to_booking(&b.token));
            }
        }
        tracing::info!(community = %c.slug, "booking form with a key not issued to this session");
        return Err(WebError::BadRequest(FORM_EXPIRED.to_string()));
    };
    let Some(bound) = bound else {
        return Err(WebError::BadRequest(FORM_EXPIRED.to_string()));
    };
    let min_age = chrono::Duration::seconds(i64::from(state.settings.min_form_seconds));
    if Utc::now() - shown_at < min_age {
        tracing::info!(community = %c.slug, "form posted faster than a person fills it: request dropped quietly");
        return Ok(dropped(c));
    }
    // Posted: never given out again (the form shown again gets a fresh key).
    booking_form::forget(&session, &c.slug, key)?;
    let today = Utc::now().with_timezone(&c.timezone).date_naive();
    let values = FormValues::from(&*form);
    let parsed = match booking_form::parse(&form, today) {
        Ok(p) => p,
        Err(errors) => {
            return render_form(
                &state,
                c,
                &session,
                Some(shown_at),
                values,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let limit = ClientLimit {
        client: client_key(&req, &state.settings.trusted_proxies),
        per_window: state.settings.bookings_per_hour,
    };
    let outcome = state
        .bookings
        .book(
            c,
            parsed.renter,
            source_title(&session, c),
            parsed.slot,
            bound,
            &limit,
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
                shown_at,
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
                Some(shown_at),
                values,
                FieldErrors::default(),
                Some(&Notice::error(ALREADY_BOOKED)),
                StatusCode::CONFLICT,
            )
            .await;
        }
        Ok(BookOutcome::Limited { retry_after }) => {
            return too_many_bookings(c, state.settings.bookings_per_hour, retry_after);
        }
        Ok(BookOutcome::Refused(_)) => {
            return pick_again(&state, c, &session, shown_at, values, "The leasing office could not book that time. Nothing was booked. Please choose another time.").await;
        }
        // The form again, the renter's details kept, rather than the bare error page.
        Err(BookError::KnockUnavailable(e)) => {
            tracing::warn!(community = %c.slug, error = %e, "Knock unavailable while booking");
            let notice = format!("{CALENDAR_DOWN} Your details are kept below.");
            return render_form(
                &state,
                c,
                &session,
                Some(shown_at),
                values,
                FieldErrors::default(),
                Some(&Notice::info(&notice)),
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await;
        }
        Err(e @ BookError::Store(_)) => return Err(e.into()),
    };
    flash::leave(&session, &booking.id, Flash::Booked);
    Ok(to_booking(&booking.token))
}

/// 429: this address made its bookings for the hour. Nothing was written or sent to Knock.
fn too_many_bookings(
    c: &Community,
    per_hour: u32,
    retry_after: Duration,
) -> Result<HttpResponse, WebError> {
    let seconds = retry_after.as_secs().max(1);
    let at = Utc::now() + chrono::Duration::seconds(i64::try_from(seconds).unwrap_or(3600));
    let page = TooManyBookings {
        community: c,
        per_hour,
        minutes: seconds.div_ceil(60),
        local_time: at
            .with_timezone(&c.timezone)
            .format("%-I:%M %p")
            .to_string(),
    };
    Ok(HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
        .content_type(ContentType::html())
        .insert_header((header::RETRY_AFTER, seconds.to_string()))
        .body(page.render()?))
}

/// The form again with the renter's details kept and fresh slots: their time is gone.
async fn pick_again(
    state: &AppState,
    c: &Community,
    session: &Session,
    shown_at: DateTime<Utc>,
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
        Some(shown_at),
        values,
        errors,
        None,
        StatusCode::CONFLICT,
    )
    .await
}

/// The form, with a key issued to this session. `shown_at`: the first showing when it comes
/// back after a post (a fresh key); None for a page view (the session's unposted key for the
/// community if it has one, else a fresh one shown now).
#[allow(clippy::too_many_arguments)]
async fn render_form(
    state: &AppState,
    c: &Community,
    session: &Session,
    shown_at: Option<DateTime<Utc>>,
    form: FormValues,
    errors: FieldErrors,
    notice: Option<&Notice<'_>>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let offered = match state.bookings.offered_days(c).await {
        Ok(days) => Some(days),
        Err(e) => {
            tracing::warn!(community = %c.slug, error = %e, "could not load available times");
            None
        }
    };
    let days = offered.as_ref().map(|o| o.days()).unwrap_or(&[]);
    let mut form = form;
    if !days.iter().any(|d| d.has(&form.start)) {
        form.start.clear();
    }
    let status = if offered.is_none() && status == StatusCode::OK {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        status
    };
    // The page's holes, in order: the form's two tokens ([`TOKENS`], when it has a form), then
    // each day's times when no time is chosen.
    let tokens = [
        csrf::token(session)?,
        match shown_at {
            Some(at) => booking_form::issue(session, &c.slug, at)?,
            None => booking_form::for_view(session, &c.slug, Utc::now())?,
        },
    ]
    .map(|t| Bytes::from(askama::MarkupDisplay::new_unsafe(t, askama::Html).to_string()));
    let times = |start: &str| -> Vec<Bytes> {
        if start.is_empty() {
            days.iter().map(|d| day_times(d)).collect()
        } else {
            Vec::new()
        }
    };
    let send = |body| {
        HttpResponse::build(status)
            .content_type(ContentType::html())
            .body(body)
    };
    let page = Outline {
        community: c,
        offered: offered.as_ref(),
        form,
        errors,
        notice,
    };
    // A plain view (nothing typed, nothing to say) is the same page for everyone who sees this
    // answer, but for the form's two tokens: made once per answer with the days' times in it,
    // and kept cut at the tokens' holes (web/pieces.rs).
    match offered.as_ref().map(|o| o.shared()) {
        Some(offer) if page.is_plain() => {
            // Rendered before it is kept: a page that failed to render is an error, not kept.
            let text = match offer.plain_page.get() {
                Some(text) => text,
                None => {
                    let times = times(&page.form.start);
                    let text = pieces::fill_after(&pieces::cut(page.render()?), TOKENS, times);
                    offer.plain_page.get_or_init(|| text)
                }
            };
            Ok(send(pieces::fill(text, tokens)))
        }
        _ => {
            let fillings = tokens.into_iter().chain(times(&page.form.start));
            Ok(send(pieces::filled(page.render()?, fillings)))
        }
    }
}

/// What a booking page says around its holes.
struct Outline<'a> {
    community: &'a Community,
    offered: Option<&'a OfferedDays>,
    form: FormValues,
    errors: FieldErrors,
    notice: Option<&'a Notice<'a>>,
}

impl Outline<'_> {
    fn is_plain(&self) -> bool {
        self.notice.is_none() && self.errors.is_empty() && self.form.is_blank()
    }

    fn render(self) -> Result<String, WebError> {
        let c = self.community;
        let days = self.offered.map(|o| o.days()).unwrap_or(&[]);
        let form = self.form;
        let open = open_day(days, &form);
        let first_open = days.first().is_none_or(|d| d.value == open);
        let fresh_picker;
        let picker: &str = match self.offered.map(|o| o.shared()) {
            // Nothing chosen and the first day open: the outline every view of this answer
            // shares.
            Some(offer) if form.start.is_empty() && first_open => {
                offer.picker_html.get_or_init(|| {
                    PickerFragment {
                        days,
                        open_day: &open,
                        chosen: &String::new(),
                    }
                    .render()
                    .unwrap_or_default()
                })
            }
            _ => {
                fresh_picker = PickerFragment {
                    days,
                    open_day: &open,
                    chosen: &form.start,
                }
                .render()?;
                &fresh_picker
            }
        };
        let sms_not_mobile =
            form.sms_consent && Phone::parse(&form.phone).is_ok_and(|p| !may_text(c, &p));
        let page = TourPage {
            community: c,
            tz_label: tz_label(c),
            days,
            picker,
            knock_unavailable: self.offered.is_none(),
            notice: self.notice,
            errors: self.errors,
            form,
            action: format!("/tours/{}", c.slug),
            self_url: format!("/tours/{}", c.slug),
            sms_consent_text: SMS_CONSENT_TEXT,
            sms_not_mobile,
            bedrooms: Bedrooms::ALL,
        };
        let mut outline = String::with_capacity(TourPage::SIZE_HINT + picker.len());
        page.render_into(&mut outline)?;
        Ok(outline)
    }
}

/// "in Pacific time (America/Los_Angeles, PST)": the zone named, with today's abbreviation.
pub(super) fn tz_label(c: &Community) -> String {
    let abbrev = Utc::now()
        .with_timezone(&c.timezone)
        .format("%Z")
        .to_string();
    format!("local time at {} ({}, {abbrev})", c.name, c.timezone.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::slots::{group_by_day, without_slot, Slot};

    /// The whole picker rendered in one go, as before days kept their times.
    #[derive(Template)]
    #[template(
        source = r#"{% import "slot_picker.html" as picker %}{% call picker::days(days, open_day, chosen) %}"#,
        ext = "html"
    )]
    struct WholePicker<'a> {
        days: &'a [Arc<Day>],
        open_day: &'a String,
        chosen: &'a String,
    }

    /// The picker as a page sends it (its outline filled with the days' kept times, when no
    /// time is chosen), and the picker rendered whole.
    async fn both(days: &[Arc<Day>], chosen: &str) -> (String, String) {
        let open = days[0].value.clone();
        let chosen = chosen.to_string();
        let outline = PickerFragment {
            days,
            open_day: &open,
            chosen: &chosen,
        }
        .render()
        .unwrap();
        let times: Vec<Bytes> = if chosen.is_empty() {
            days.iter().map(|d| day_times(d)).collect()
        } else {
            Vec::new()
        };
        let sent = actix_web::body::to_bytes(pieces::filled(outline, times))
            .await
            .unwrap();
        let whole = WholePicker {
            days,
            open_day: &open,
            chosen: &chosen,
        }
        .render()
        .unwrap();
        (String::from_utf8(sent.to_vec()).unwrap(), whole)
    }

    #[actix_web::test]
    async fn the_picker_from_kept_days_is_the_picker_rendered_whole() {
        let tz: chrono_tz::Tz = "America/Chicago".parse().unwrap();
        let slots: Vec<Slot> = (0..3)
            .flat_map(|d| (9..20).map(move |h| format!("2026-12-0{}T{h:02}:30:00-06:00", d + 2)))
            .map(|v| Slot::parse(&v).unwrap())
            .collect();
        let days = group_by_day(&slots, tz);
        let (kept, whole) = both(&days, "").await;
        assert_eq!(kept, whole);
        assert!(kept.contains(r#"value="2026-12-03T15:30:00-06:00">3:30<b> PM</b>"#));
        // A booking makes its day anew; the others keep their rendering and the whole agrees.
        let fewer = without_slot(&days, "2026-12-03T15:30:00-06:00");
        assert!(Arc::ptr_eq(&fewer[0], &days[0]) && !Arc::ptr_eq(&fewer[1], &days[1]));
        let (kept, whole) = both(&fewer, "").await;
        assert_eq!(kept, whole);
        assert!(!kept.contains("2026-12-03T15:30:00-06:00"));
        // A time chosen is checked, as in the whole.
        let (kept, whole) = both(&fewer, "2026-12-04T10:30:00-06:00").await;
        assert_eq!(kept, whole);
        assert!(kept.contains(r#"value="2026-12-04T10:30:00-06:00" checked>"#));
    }
}
