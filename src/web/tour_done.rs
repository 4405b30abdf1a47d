//! POST /bookings/{token}/done: the renter says, on the booking page, that they have finished
//! touring (SPEC.md "States": the renter's "done"). Their booking becomes completed and its
//! one visit, with the homes they ticked, goes to Knock through the outbox.
//!
//! The finished-tour page (the booking page once completed, `tour_next_step.html`) then offers
//! the next step and one question, "How was your tour?": POST /bookings/{token}/feedback.
use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::bookings::{load_for_post, to_booking};
use super::error::WebError;
use super::AppState;
use crate::booking::{FeedbackOutcome, RenterDone};
use crate::config::Community;
use crate::domain::TourFeedback;

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

#[derive(serde::Deserialize)]
pub struct FeedbackForm {
    csrf_token: Option<String>,
    rating: Option<String>,
    comment: Option<String>,
}

/// POST /bookings/{token}/feedback: the renter's one answer, then back to the page, which shows
/// it. Answerable once: the same answer again lands on the page as before, another is 409.
#[tracing::instrument(skip_all)]
pub async fn feedback(
    state: web::Data<AppState>,
    req: HttpRequest,
    session: Session,
    path: web::Path<String>,
    form: web::Form<FeedbackForm>,
) -> Result<HttpResponse, WebError> {
    let (booking, _) =
        load_for_post(&state, &req, &session, &path, form.csrf_token.as_deref()).await?;
    let now = Utc::now();
    let answer = TourFeedback::parse(form.rating.as_deref(), form.comment.as_deref(), now)
        .map_err(|e| WebError::BadRequest(format!("{e} Go back and try again.")))?;
    match state
        .bookings
        .record_feedback(&booking.id, &answer, now)
        .await?
    {
        FeedbackOutcome::Saved => {
            tracing::info!(booking = %booking.id, rating = answer.rating.as_str(), "the renter said how the tour was");
            Ok(to_booking(&booking))
        }
        FeedbackOutcome::SameAgain => Ok(to_booking(&booking)),
        FeedbackOutcome::AlreadyAnswered => Err(WebError::Conflict(
            "You have already told us how your tour went, and your first answer stands. Thank you!",
        )),
        FeedbackOutcome::NotFinished(_) => Err(WebError::Conflict(
            "You can say how your tour went once it is finished.",
        )),
        FeedbackOutcome::UnknownBooking => Err(WebError::NotFound),
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
