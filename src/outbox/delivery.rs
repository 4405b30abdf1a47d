//! Delivering one job to Knock, per kind.
//!
//! Visits are the delicate kind: Knock has no idempotency key, so a POST whose answer we never
//! heard (time-out, 5xx, cut-off answer, a worker that died mid-call) may have been recorded.
//! Before posting such a visit again we read the prospect's events and take a visit event for
//! this appointment as the delivery; when that check cannot run, the visit is posted again
//! (a rare duplicate over a lost visit). Any 2xx to a write is its delivery, whatever its
//! body. README "Visits and Knock time-outs" has the reasoning and the risk that remains.
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::jobs::{AppointmentCancelJob, EmailLogJob, Job, VisitJob};
use crate::knock::types::{Agent, AppointmentId, EmailLog, ProspectId, VisitRequest};
use crate::knock::{KnockClient, KnockError};

/// Events read per page, and pages read at most, when looking for an earlier visit.
const EVENTS_PAGE: u32 = 50;
const EVENTS_MAX_PAGES: usize = 20;

/// How far behind our clock a visit's time is kept at least: Knock refuses a visit time in
/// its future (API.md §7), and its clock is not ours.
pub(crate) const VISIT_TIME_SKEW: chrono::Duration = chrono::Duration::minutes(1);

/// What a cancel answered with a "cancelled already" refusal is recorded as.
pub(crate) const ALREADY_CANCELLED: &str = "already cancelled";

/// How a delivery came out.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Knock has it: our call succeeded (`found_earlier` false) or an earlier one did.
    Delivered {
        knock_result: Option<String>,
        found_earlier: bool,
    },
    Failed(KnockError),
    /// The stored payload cannot be sent (our bug or a hand-edited row): dead at once.
    Unsendable(String),
    /// The claim's time ran short before the POST: not sent, to be tried again.
    OutOfTime,
}

/// Delivers `job`. `uncertain`: an earlier try may have reached Knock. No Knock call is
/// started after `deadline`, so that the lease outlives every call made under it.
pub(crate) async fn deliver(
    knock: &KnockClient,
    job: Job,
    uncertain: bool,
    deadline: Instant,
) -> Delivery {
    match job {
        Job::Visit(v) => deliver_visit(knock, v, uncertain, deadline).await,
        Job::AppointmentCancel(c) => deliver_cancel(knock, c, deadline).await,
        Job::EmailLog(e) => deliver_email_log(knock, e, deadline).await,
        // The worker sends mail itself (`outbox::mail`); reaching here is a bug.
        Job::Email(_) => Delivery::Unsendable("an e-mail is not a Knock write".into()),
        // Lock writes and staff mail have their own paths in the worker.
        Job::AccessIssue(_) | Job::AccessRevoke(_) | Job::StaffAlert(_) => {
            Delivery::Unsendable("not a Knock write".into())
        }
    }
}

/// Our call succeeded; `knock_result` is the id Knock answered with, when it gave one.
fn delivered(knock_result: Option<String>) -> Delivery {
    Delivery::Delivered {
        knock_result,
        found_earlier: false,
    }
}

/// The visit time we send: as reported, but at least [`VISIT_TIME_SKEW`] behind `now`.
pub(crate) fn clamp_visit_time(visit_time: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    visit_time.min(now - VISIT_TIME_SKEW)
}

/// What the look for an earlier visit found.
#[derive(Debug)]
enum EarlierVisit {
    /// Knock has it (with its visitId when the event carries one).
    Found(Option<String>),
    NotFound,
    /// The check could not run (refused, failed, unreadable): post again.
    Unknown(KnockError),
    OutOfTime,
}

async fn deliver_visit(
    knock: &KnockClient,
    v: VisitJob,
    uncertain: bool,
    deadline: Instant,
) -> Delivery {
    let (prospect, appointment) = match (
        ProspectId::parse(v.prospect_id.as_str()),
        AppointmentId::parse(v.appointment_id.as_str()),
    ) {
        (Ok(p), Ok(a)) => (p, a),
        (Err(e), _) | (_, Err(e)) => return Delivery::Unsendable(e.to_string()),
    };
    if uncertain {
        match find_earlier_visit(knock, &prospect, &appointment, deadline).await {
            EarlierVisit::Found(visit_id) => {
                tracing::warn!(prospect = %prospect, appointment = %appointment,
                    "Knock recorded the visit on an earlier try whose answer was lost: not posting again");
                return Delivery::Delivered {
                    knock_result: visit_id,
                    found_earlier: true,
                };
            }
            EarlierVisit::NotFound => {}
            EarlierVisit::Unknown(e) => {
                tracing::warn!(prospect = %prospect, appointment = %appointment, error = %e,
                    "cannot check Knock for an earlier visit: posting again (a rare duplicate over a lost visit)");
            }
            EarlierVisit::OutOfTime => return Delivery::OutOfTime,
        }
    }
    if Instant::now() >= deadline {
        return Delivery::OutOfTime;
    }
    let now = Utc::now();
    let visit_time = clamp_visit_time(v.visit_time, now);
    if visit_time != v.visit_time {
        tracing::debug!(reported = %v.visit_time, sent = %visit_time,
            "visit time moved behind our clock: Knock refuses a future one");
    }
    let request = VisitRequest {
        prospect_id: prospect,
        visit_time,
        appointment_id: Some(appointment),
        is_self_guided: v.is_self_guided,
        source_title: Some(v.source_title),
        unit_names: v.unit_names,
    };
    match knock.post_visit(&request).await {
        Ok(visit_id) => delivered(visit_id.map(|id| id.to_string())),
        Err(e) => Delivery::Failed(e),
    }
}

/// Reads the prospect's events for a visit on `appointment`, every page.
async fn find_earlier_visit(
    knock: &KnockClient,
    prospect: &ProspectId,
    appointment: &AppointmentId,
    deadline: Instant,
) -> EarlierVisit {
    let mut after: Option<String> = None;
    for _ in 0..EVENTS_MAX_PAGES {
        if Instant::now() >= deadline {
            return EarlierVisit::OutOfTime;
        }
        let page = match knock
            .prospect_events(prospect, EVENTS_PAGE, after.as_deref())
            .await
        {
            Ok(page) => page,
            Err(e) => return EarlierVisit::Unknown(e),
        };
        if let Some(found) = page
            .events
            .iter()
            .find_map(|e| visit_for(e.kind.as_deref(), &e.data, appointment))
        {
            return EarlierVisit::Found(found);
        }
        match page.end_cursor {
            Some(cursor) if page.has_next_page => after = Some(cursor),
            _ => return EarlierVisit::NotFound,
        }
    }
    EarlierVisit::NotFound
}

/// Knock documents no visit event type (API.md §8.3), so an event counts as our visit when it
/// names our appointment and looks like a visit: a `visitId` or `visitTime` in its data, or a
/// type that says visit or walk-in. Returns the visitId when there is one.
fn visit_for(
    kind: Option<&str>,
    data: &Value,
    appointment: &AppointmentId,
) -> Option<Option<String>> {
    let names_ours = data.get("appointmentId").is_some_and(|id| match id {
        Value::String(s) => s == appointment.as_str(),
        Value::Number(n) => n.to_string() == appointment.as_str(),
        _ => false,
    });
    let kind = kind.unwrap_or("").to_ascii_uppercase();
    let visit_shaped = data.get("visitId").is_some()
        || data.get("visitTime").is_some()
        || kind.contains("VISIT")
        || kind.contains("WALK_IN");
    (names_ours && visit_shaped).then(|| {
        data.get("visitId").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    })
}

/// Cancelling is safe to repeat: a second cancel of the same appointment cancels nothing new.
/// Any 2xx is done; so is a refusal saying the appointment is cancelled already (Knock
/// cancels a prospect's earlier appointment itself when a new one is requested, API.md §4).
async fn deliver_cancel(
    knock: &KnockClient,
    c: AppointmentCancelJob,
    deadline: Instant,
) -> Delivery {
    let id = match AppointmentId::parse(c.appointment_id) {
        Ok(id) => id,
        Err(e) => return Delivery::Unsendable(e.to_string()),
    };
    if Instant::now() >= deadline {
        return Delivery::OutOfTime;
    }
    match knock.cancel_appointment(&id).await {
        Ok(answer) => delivered(Some(
            answer
                .appointment_id
                .map_or_else(|| "cancelled".to_owned(), |a| a.to_string()),
        )),
        Err(e) if e.says_already_cancelled() => {
            tracing::info!(appointment = %id, error = %e, "Knock had cancelled the appointment already");
            delivered(Some(ALREADY_CANCELLED.to_owned()))
        }
        Err(e) => Delivery::Failed(e),
    }
}

/// A logged e-mail posted twice shows twice on the guest card: a nuisance, accepted (no way to
/// look a logged e-mail up).
async fn deliver_email_log(knock: &KnockClient, e: EmailLogJob, deadline: Instant) -> Delivery {
    let prospect = match ProspectId::parse(e.prospect_id) {
        Ok(p) => p,
        Err(err) => return Delivery::Unsendable(err.to_string()),
    };
    if Instant::now() >= deadline {
        return Delivery::OutOfTime;
    }
    let log = EmailLog {
        kind: e.kind,
        sent_time: e.sent_time,
        agent: Agent {
            username: e.agent_username,
        },
        subject: e.subject,
        body: e.body,
    };
    match knock.log_email(&prospect, &log).await {
        Ok(id) => delivered(id.map(|id| id.to_string())),
        Err(err) => Delivery::Failed(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn appt(id: &str) -> AppointmentId {
        AppointmentId::parse(id).unwrap()
    }

    #[test]
    fn a_walk_in_event_for_our_appointment_is_our_visit() {
        let data =
            json!({"visitId": "7", "appointmentId": "3", "visitTime": "2026-11-22T18:40:00Z"});
        assert_eq!(
            visit_for(Some("WALK_IN"), &data, &appt("3")),
            Some(Some("7".to_string()))
        );
    }

    #[test]
    fn an_event_for_another_appointment_or_not_a_visit_is_not() {
        let visit = json!({"visitId": "7", "appointmentId": "4"});
        assert_eq!(visit_for(Some("WALK_IN"), &visit, &appt("3")), None);
        let created = json!({"appointmentId": "3", "startTime": "2026-11-22T18:00:00Z"});
        assert_eq!(
            visit_for(Some("APPOINTMENT_CREATED"), &created, &appt("3")),
            None
        );
    }

    #[test]
    fn a_numeric_appointment_id_in_an_event_is_ours_too() {
        let data = json!({"appointmentId": 3, "visitId": 7});
        assert_eq!(
            visit_for(Some("WALK_IN"), &data, &appt("3")),
            Some(Some("7".to_string()))
        );
        assert_eq!(visit_for(Some("WALK_IN"), &data, &appt("33")), None);
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_visit_time_is_kept_at_least_a_minute_behind_our_clock() {
        let now = at("2026-11-22T18:00:00Z");
        // Well in the past: as reported.
        let early = at("2026-11-22T17:40:00.214Z");
        assert_eq!(clamp_visit_time(early, now), early);
        // Exactly a minute behind: as reported.
        let edge = at("2026-11-22T17:59:00Z");
        assert_eq!(clamp_visit_time(edge, now), edge);
        // Within the last minute, now, or ahead (a provider's clock): a minute behind now.
        for late in [
            "2026-11-22T17:59:30Z",
            "2026-11-22T18:00:00Z",
            "2026-11-22T21:00:00Z",
        ] {
            assert_eq!(
                clamp_visit_time(at(late), now),
                at("2026-11-22T17:59:00Z"),
                "{late}"
            );
        }
    }

    #[test]
    fn a_visit_typed_event_without_an_id_still_counts() {
        let data = json!({"appointmentId": "3"});
        assert_eq!(
            visit_for(Some("self_guided_visit"), &data, &appt("3")),
            Some(None)
        );
    }
}
