//! GET /staff with a query (`?view=list`, or any filter): all tours by community and day, in
//! each community's own time, with the filters. Without a query `/staff` is the Today board
//! (`today.rs`).

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::auth::{self, SignedIn};
use super::labels::{delivery_status, local_time, row_state, state_label, DeliveryStatus, STATES};
use crate::booking::{Booking, BookingState};
use crate::config::Community;
use crate::domain::StaffDate;
use crate::outbox::OutboxJob;
use crate::staff::AuditEntry;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

/// Days shown after today when no range is asked for.
const DEFAULT_DAYS: i64 = 14;
/// The widest range one page may ask for.
const MAX_DAYS: i64 = 92;
/// Bookings this recent are listed whatever their date, so a new one is always seen.
const RECENT: Duration = Duration::hours(24);
pub(super) const SIGN_INS_SHOWN: i64 = 5;

#[derive(Deserialize, Default)]
struct ToursQuery {
    community: Option<String>,
    from: Option<String>,
    to: Option<String>,
    state: Option<String>,
}

/// Longest a filter value may be: the longest is a community slug.
const MAX_VALUE_CHARS: usize = 100;

/// The query as parsed at the edge.
pub(super) struct Filters {
    community: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    state: Option<BookingState>,
}

impl Filters {
    /// `today` (UTC) anchors the years a date may be in and the range a lone To makes.
    pub(super) fn parse(query: &str, today: NaiveDate) -> Result<Self, WebError> {
        let q: ToursQuery = serde_urlencoded::from_str(query)
            .map_err(|_| WebError::BadRequest("The filters could not be read.".into()))?;
        let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let date = |v: Option<String>, what: &str| -> Result<Option<NaiveDate>, WebError> {
            given(v)
                .map(|s| {
                    StaffDate::parse(&s, today)
                        .map(StaffDate::date)
                        .map_err(|e| WebError::BadRequest(format!("The {what} date {e}.")))
                })
                .transpose()
        };
        let from = date(q.from, "From")?;
        let to = date(q.to, "To")?;
        if let Some(t) = to {
            // Without a From the list starts today.
            let f = from.unwrap_or(today);
            if from.is_some() && t < f {
                return Err(WebError::BadRequest(
                    "The To date is before the From date.".into(),
                ));
            }
            if (t - f).num_days() >= MAX_DAYS {
                return Err(WebError::BadRequest(format!(
                    "Ask for at most {MAX_DAYS} days at a time."
                )));
            }
        }
        let state = given(q.state)
            .map(|s| {
                BookingState::parse(&s)
                    .ok_or_else(|| WebError::BadRequest("That state is not one we know.".into()))
            })
            .transpose()?;
        let community = given(q.community);
        if community
            .as_deref()
            .is_some_and(|c| c.chars().count() > MAX_VALUE_CHARS)
        {
            // No community has such a slug: the same answer as any unknown one.
            return Err(WebError::NotFound);
        }
        Ok(Self {
            community,
            from,
            to,
            state,
        })
    }

    /// The default view: no dates asked for.
    fn default_range(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// The first and last day for a community whose today is `today`.
    fn days(&self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let from = self.from.unwrap_or(today);
        let to = self
            .to
            .unwrap_or(from + Duration::days(DEFAULT_DAYS))
            .max(from);
        (from, to)
    }
}

/// The first instant of a local day. Where midnight does not exist (a DST change at
/// midnight), the day starts at the first local time that does.
fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    (0..=3)
        .filter_map(|h| date.and_hms_opt(h, 0, 0))
        .find_map(|t| tz.from_local_datetime(&t).earliest())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| date.and_time(chrono::NaiveTime::MIN).and_utc())
}

struct Row {
    id: String,
    time: String,
    renter: String,
    state: &'static str,
    state_label: &'static str,
    source: String,
    delivery: DeliveryStatus,
    phone: String,
    tel: String,
}

struct TourDay {
    heading: String,
    rows: Vec<Row>,
}

struct CommunityTours<'a> {
    community: &'a Community,
    days: Vec<TourDay>,
}

pub(super) struct StateOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub(super) struct CommunityOption<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "staff_tours.html")]
struct ToursPage<'a> {
    me: &'a str,
    knock_down: Option<&'a str>,
    csrf_token: String,
    community_options: Vec<CommunityOption<'a>>,
    state_options: Vec<StateOption>,
    from: String,
    to: String,
    default_range: bool,
    communities: Vec<CommunityTours<'a>>,
    sign_ins: Vec<SignInLine>,
}

pub(super) struct SignInLine {
    pub at: String,
    pub what: &'static str,
    pub detail: String,
}

impl From<AuditEntry> for SignInLine {
    fn from(e: AuditEntry) -> Self {
        Self {
            at: e.at.format("%Y-%m-%d %H:%M UTC").to_string(),
            what: if e.action == "sign_in" {
                "Signed in"
            } else {
                "Refused"
            },
            detail: e.detail,
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    req: HttpRequest,
    session: Session,
) -> Result<HttpResponse, WebError> {
    if req.query_string().is_empty() {
        return super::today::board(&state, &me, &session).await;
    }
    let filters = Filters::parse(req.query_string(), Utc::now().date_naive())?;
    let visible = me.staff.visible(&state.settings.communities);
    let shown: Vec<&Community> = match &filters.community {
        // Unknown and not granted look the same.
        Some(slug) => vec![*visible
            .iter()
            .find(|c| &c.slug == slug)
            .ok_or(WebError::NotFound)?],
        None => visible.clone(),
    };
    let now = Utc::now();
    let mut communities = Vec::with_capacity(shown.len());
    for c in shown {
        let bookings = bookings_for(&state, &me, c, &filters, now).await?;
        let jobs = state.staff.deliveries(&bookings).await?;
        communities.push(CommunityTours {
            community: c,
            days: by_day(&bookings, &jobs, c.timezone),
        });
    }
    let sign_ins = state
        .staff
        .recent_sign_ins(&me.staff, SIGN_INS_SHOWN)
        .await?
        .into_iter()
        .map(SignInLine::from)
        .collect();
    let page = ToursPage {
        me: &me.staff.email,
        knock_down: me.knock_down.as_deref(),
        csrf_token: csrf::token(&session)?,
        community_options: visible
            .iter()
            .map(|c| CommunityOption {
                slug: &c.slug,
                name: &c.name,
                selected: filters.community.as_deref() == Some(c.slug.as_str()),
            })
            .collect(),
        state_options: STATES
            .iter()
            .map(|s| StateOption {
                value: s.as_str(),
                label: state_label(*s),
                selected: filters.state == Some(*s),
            })
            .collect(),
        from: filters.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filters.to.map(|d| d.to_string()).unwrap_or_default(),
        default_range: filters.default_range(),
        communities,
        sign_ins,
    };
    Ok(auth::page(page.render()?))
}

pub(super) async fn bookings_for(
    state: &AppState,
    me: &SignedIn,
    c: &Community,
    filters: &Filters,
    now: DateTime<Utc>,
) -> Result<Vec<Booking>, WebError> {
    let today = now.with_timezone(&c.timezone).date_naive();
    let (from, to) = filters.days(today);
    let start = day_start(c.timezone, from);
    let end = day_start(c.timezone, to + Duration::days(1));
    let recent = filters.default_range().then(|| now - RECENT);
    let mut bookings = state
        .staff
        .tours(&me.staff, &c.slug, (start, end), recent)
        .await?
        .ok_or(WebError::NotFound)?;
    if let Some(s) = filters.state {
        bookings.retain(|b| b.state == s);
    }
    Ok(bookings)
}

fn by_day(bookings: &[Booking], jobs: &[OutboxJob], tz: Tz) -> Vec<TourDay> {
    let mut days: Vec<(NaiveDate, TourDay)> = Vec::new();
    for b in bookings {
        let local = b.slot_start().with_timezone(&tz);
        let date = local.date_naive();
        if days.last().map(|(d, _)| *d) != Some(date) {
            days.push((
                date,
                TourDay {
                    heading: local.format("%A, %B %-d, %Y").to_string(),
                    rows: Vec::new(),
                },
            ));
        }
        let (state, state_label) = row_state(b);
        if let Some((_, day)) = days.last_mut() {
            day.rows.push(Row {
                id: b.id.to_string(),
                time: local_time(b.slot_start(), tz),
                renter: format!("{} {}", b.first_name, b.last_name),
                state,
                state_label,
                source: b.source_title.to_string(),
                delivery: delivery_status(b, jobs),
                phone: b.phone.to_string(),
                tel: b.phone.as_e164().to_string(),
            });
        }
    }
    days.into_iter().map(|(_, d)| d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Filters {
        /// As on 2026-11-20.
        fn parse_on(query: &str) -> Result<Self, WebError> {
            Self::parse(query, NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
        }
    }

    #[test]
    fn a_day_starts_at_local_midnight_in_its_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(day_start(tz, d).to_rfc3339(), "2026-11-24T05:00:00+00:00");
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            day_start(kolkata, d).to_rfc3339(),
            "2026-11-23T18:30:00+00:00"
        );
    }

    #[test]
    fn a_day_without_a_midnight_starts_at_its_first_hour() {
        // Santiago springs forward at 00:00 on the first Sunday of September.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = day_start(tz, d).with_timezone(&tz);
        assert_eq!(start.date_naive(), d);
        assert_eq!(start.format("%H:%M").to_string(), "01:00");
    }

    #[test]
    fn filters_refuse_bad_dates_reversed_ranges_and_unknown_states() {
        assert!(Filters::parse_on("from=24-11-2026").is_err());
        assert!(Filters::parse_on("from=2026-11-24&to=2026-11-23").is_err());
        assert!(Filters::parse_on("from=2026-01-01&to=2026-12-31").is_err());
        assert!(Filters::parse_on("state=lost").is_err());
        let f = Filters::parse_on("community=&from=&to=2026-11-30&state=confirmed").unwrap();
        assert!(f.community.is_none());
        assert_eq!(f.state, Some(BookingState::Confirmed));
        assert!(!f.default_range());
        assert!(Filters::parse_on("").unwrap().default_range());
    }

    fn refusal(query: &str) -> String {
        match Filters::parse_on(query) {
            Err(WebError::BadRequest(why)) => why,
            Err(other) => panic!("{query}: {other}"),
            Ok(_) => panic!("{query}: accepted"),
        }
    }

    #[test]
    fn dates_outside_five_years_or_chronos_range_are_a_plain_refusal() {
        assert_eq!(
            refusal("from=%2B262142-12-25"),
            "The From date must look like 2026-11-24."
        );
        assert_eq!(
            refusal("to=2032-01-01"),
            "The To date must be in a year from 2021 to 2031."
        );
        assert_eq!(
            refusal("from=2020-12-31"),
            "The From date must be in a year from 2021 to 2031."
        );
        // A lone To counts from today: the widest range holds without a From too.
        assert_eq!(
            refusal("to=2027-06-01"),
            "Ask for at most 92 days at a time."
        );
        assert!(Filters::parse_on("to=2027-01-31").is_ok());
        assert!(matches!(
            Filters::parse_on(&format!("community={}", "a".repeat(101))),
            Err(WebError::NotFound)
        ));
    }

    #[test]
    fn without_dates_the_range_is_today_and_two_weeks_on() {
        let f = Filters::parse_on("").unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(
            f.days(today),
            (today, NaiveDate::from_ymd_opt(2026, 12, 8).unwrap())
        );
    }
}
