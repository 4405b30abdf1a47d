//! GET /staff with no query: the Today board. What needs attention first (with a count), then
//! each community's tours of today in its own time, then its next days, as rows a phone opens
//! with one tap. The full list and its search stay at `/staff?view=list` (any query).
use actix_session::Session;
use actix_web::HttpResponse;
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::auth::{self, SignedIn};
use super::labels::{
    delivery_status, local_moment, local_time, row_state, state_label, DeliveryStatus, STATES,
};
use super::tours::{
    bookings_for, CommunityOption, Filters, SignInLine, StateOption, SIGN_INS_SHOWN,
};
use crate::booking::Booking;
use crate::config::Community;
use crate::outbox::OutboxJob;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

/// One tour as a row: everything in it but the phone opens the booking.
pub(super) struct TourRow {
    pub id: String,
    /// The start as an instant, for `<time datetime>`.
    pub datetime: String,
    pub time: String,
    pub name: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub door_opened: Option<String>,
    pub delivery: DeliveryStatus,
    pub phone: String,
    pub tel: String,
}

impl TourRow {
    pub(super) fn new(b: &Booking, jobs: &[OutboxJob], tz: Tz) -> Self {
        let (state, state_label) = row_state(b);
        Self {
            id: b.id.to_string(),
            datetime: b.slot_start().to_rfc3339(),
            time: local_time(b.slot_start(), tz),
            name: format!("{} {}", b.first_name, b.last_name),
            state,
            state_label,
            door_opened: b.first_access_at.map(|t| local_time(t, tz)),
            delivery: delivery_status(b, jobs),
            phone: b.phone.to_string(),
            tel: b.phone.as_e164().to_string(),
        }
    }
}

struct BoardDay {
    /// YYYY-MM-DD in the community's zone.
    date: NaiveDate,
    heading: String,
    rows: Vec<TourRow>,
}

struct BoardCommunity<'a> {
    community: &'a Community,
    today_date: NaiveDate,
    today_heading: String,
    today: Vec<TourRow>,
    upcoming: Vec<BoardDay>,
}

/// One line of the strip, linking to its booking.
struct AttentionLine {
    booking_id: String,
    code: &'static str,
    what: &'static str,
    name: String,
    when: String,
    community: String,
}

#[derive(Template)]
#[template(path = "staff_today.html")]
struct TodayPage<'a> {
    me: &'a str,
    knock_down: Option<&'a str>,
    csrf_token: String,
    attention: Vec<AttentionLine>,
    communities: Vec<BoardCommunity<'a>>,
    community_options: Vec<CommunityOption<'a>>,
    state_options: Vec<StateOption>,
    sign_ins: Vec<SignInLine>,
}

pub async fn board(
    state: &AppState,
    me: &SignedIn,
    session: &Session,
) -> Result<HttpResponse, WebError> {
    let now = Utc::now();
    let filters = Filters::parse("", now.date_naive())?;
    let visible = me.staff.visible(&state.settings.communities);
    let mut attention = Vec::new();
    let mut communities = Vec::with_capacity(visible.len());
    for c in &visible {
        let tz = c.timezone;
        let items = state
            .staff
            .attention(&me.staff, &c.slug, now)
            .await?
            .ok_or(WebError::NotFound)?;
        attention.extend(items.into_iter().map(|i| AttentionLine {
            booking_id: i.booking.id.to_string(),
            code: i.why.as_str(),
            what: i.why.label(),
            name: format!("{} {}", i.booking.first_name, i.booking.last_name),
            when: local_moment(i.booking.slot_start(), tz),
            community: c.name.clone(),
        }));
        let bookings = bookings_for(state, me, c, &filters, now).await?;
        let jobs = state.staff.deliveries(&bookings).await?;
        communities.push(board_of(c, &bookings, &jobs, now));
    }
    let page = TodayPage {
        me: &me.staff.email,
        knock_down: me.knock_down.as_deref(),
        csrf_token: csrf::token(session)?,
        attention,
        community_options: visible
            .iter()
            .map(|c| CommunityOption {
                slug: &c.slug,
                name: &c.name,
                selected: false,
            })
            .collect(),
        state_options: STATES
            .iter()
            .map(|s| StateOption {
                value: s.as_str(),
                label: state_label(*s),
                selected: false,
            })
            .collect(),
        communities,
        sign_ins: state
            .staff
            .recent_sign_ins(&me.staff, SIGN_INS_SHOWN)
            .await?
            .into_iter()
            .map(SignInLine::from)
            .collect(),
    };
    Ok(auth::page(page.render()?))
}

/// Today's rows and the next days' for one community, each day as the community counts it.
fn board_of<'a>(
    c: &'a Community,
    bookings: &[Booking],
    jobs: &[OutboxJob],
    now: DateTime<Utc>,
) -> BoardCommunity<'a> {
    let tz = c.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let mut board = BoardCommunity {
        community: c,
        today_date: today,
        today_heading: now.with_timezone(&tz).format("%A, %B %-d").to_string(),
        today: Vec::new(),
        upcoming: Vec::new(),
    };
    let mut last: Option<NaiveDate> = None;
    for b in bookings {
        let local = b.slot_start().with_timezone(&tz);
        let date = local.date_naive();
        let row = TourRow::new(b, jobs, tz);
        if date == today {
            board.today.push(row);
        } else if date > today {
            if last != Some(date) {
                board.upcoming.push(BoardDay {
                    date,
                    heading: local.format("%A, %B %-d").to_string(),
                    rows: Vec::new(),
                });
                last = Some(date);
            }
            if let Some(day) = board.upcoming.last_mut() {
                day.rows.push(row);
            }
        }
    }
    board
}
