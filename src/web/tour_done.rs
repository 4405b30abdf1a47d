//! POST /bookings/{token}/done: the renter says, on the booking page, that they have finished
//! touring (SPEC.md "States": the renter's "done"). Their booking becomes completed and its
//! one visit, with the homes they ticked, goes to Knock through the outbox.
use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::bookings::{load_for_post, to_booking};
use super::error::WebError;
use super::AppState;
use crate::booking::RenterDone;
use crate::config::Community;

/// The homes ticked, each one of the community's; anything else is a stale or forged form.
fn units_seen(c: &Community, form: &[(String, String)]) -> Result<Vec<String>, WebError> {
    let mut seen: Vec<String> = Vec::new();
    for (_, unit) in form.iter().filter(|(k, _)| k == "unit") {
        if !c.units.contains(unit) {
            return Err(WebError::BadRequest(
                "Choose only from the homes listed on your booking page. Go back, reload it and try again.".into(),
            ));
        }
        if !seen.contains(unit) {
            seen.push(unit.clone());
        }
    }
    Ok(seen)
}

#[tracing::instrument(skip_all)]
pub async fn finished(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let submitted = form
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str());
    let (booking, c) = load_for_post(&state, &req, &session, &path, submitted).await?;
    let units = units_seen(c, &form)?;
    match state
        .bookings
        .complete_by_renter(&booking.id, units, Utc::now())
        .await?
    {
        RenterDone::Completed => {
            tracing::info!(booking = %booking.id, "the renter finished the tour");
            Ok(to_booking(&booking))
        }
        RenterDone::AlreadyCompleted => Ok(to_booking(&booking)),
        RenterDone::NotInProgress(_) => Err(WebError::Conflict(
            "This tour is not under way: the door has not opened for it, or it is over.",
        )),
        RenterDone::UnknownBooking => Err(WebError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn community() -> Community {
        crate::config::Communities::demo().all()[0].clone()
    }

    #[test]
    fn only_the_communitys_homes_are_taken_once_each() {
        let c = community();
        let first = c.units[0].clone();
        let seen = units_seen(
            &c,
            &form(&[("csrf_token", "x"), ("unit", &first), ("unit", &first)]),
        )
        .unwrap();
        assert_eq!(seen, [first]);
        assert!(units_seen(&c, &form(&[])).unwrap().is_empty());
        assert!(matches!(
            units_seen(&c, &form(&[("unit", "Penthouse 99")])),
            Err(WebError::BadRequest(_))
        ));
    }
}
