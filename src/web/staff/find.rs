//! GET /staff/find?reference=MPL-4K7Q-9TZB: a booking by the short reference a renter reads
//! out on the phone. One match opens its page; none (or another community's) says so.
use actix_session::Session;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::auth::{self, SignedIn};
use crate::booking::slots::describe;
use crate::booking::Booking;
use crate::domain::BookingReference;
use crate::web::csrf;
use crate::web::error::WebError;
use crate::web::AppState;

#[derive(Deserialize)]
struct FindQuery {
    #[serde(default)]
    reference: String,
}

struct Match {
    id: String,
    name: String,
    when: String,
    community: String,
}

#[derive(Template)]
#[template(path = "staff_find.html")]
struct FindPage<'a> {
    me: &'a str,
    knock_down: Option<&'a str>,
    csrf_token: String,
    typed: &'a str,
    problem: Option<String>,
    matches: Vec<Match>,
}

pub async fn find(
    state: web::Data<AppState>,
    me: SignedIn,
    session: Session,
    req: HttpRequest,
) -> Result<HttpResponse, WebError> {
    // A query that does not parse is treated as an empty one.
    let q: FindQuery = serde_urlencoded::from_str(req.query_string()).unwrap_or(FindQuery {
        reference: String::new(),
    });
    let typed = q.reference.trim();
    let (problem, matches, status) = if typed.is_empty() {
        (None, Vec::new(), StatusCode::OK)
    } else {
        match BookingReference::parse(typed) {
            None => (
                Some(
                    "That is not a booking reference. References look like MPL-4K7Q-9TZB."
                        .to_string(),
                ),
                Vec::new(),
                StatusCode::BAD_REQUEST,
            ),
            Some(reference) => {
                let communities: Vec<String> = state
                    .settings
                    .communities
                    .all()
                    .iter()
                    .filter(|c| c.reference_prefix.as_str() == reference.prefix())
                    .map(|c| c.slug.clone())
                    .collect();
                let found = state
                    .staff
                    .find_by_reference(&me.staff, &communities, &reference)
                    .await?;
                if let [one] = found.as_slice() {
                    return Ok(HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, format!("/staff/bookings/{}", one.id)))
                        .insert_header(("Cache-Control", "no-store"))
                        .finish());
                }
                let matches: Vec<Match> = found.iter().map(|b| to_match(&state, b)).collect();
                if matches.is_empty() {
                    (
                        Some(format!(
                            "No booking in your communities has the reference {reference}."
                        )),
                        matches,
                        StatusCode::NOT_FOUND,
                    )
                } else {
                    (None, matches, StatusCode::OK)
                }
            }
        }
    };
    let page = FindPage {
        me: &me.staff.email,
        knock_down: me.knock_down.as_deref(),
        csrf_token: csrf::token(&session)?,
        typed,
        problem,
        matches,
    };
    let mut response = auth::page(page.render()?);
    *response.status_mut() = status;
    Ok(response)
}

fn to_match(state: &AppState, b: &Booking) -> Match {
    let c = state.settings.communities.get(&b.community_slug);
    Match {
        id: b.id.to_string(),
        name: format!("{} {}", b.first_name, b.last_name),
        when: c
            .map(|c| describe(b.slot_start(), c.timezone))
            .unwrap_or_default(),
        community: c.map(|c| c.name.clone()).unwrap_or_default(),
    }
}
