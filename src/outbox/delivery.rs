//! Delivering one job to Knock, per kind.
//!
//! Visits are the delicate kind: Knock has no idempotency key, so a POST whose answer we never
//! heard (time-out, 5xx, unreadable 2xx, a worker that died mid-call) may have been recorded.
//! Before posting such a visit again we read the prospect's events and take a visit event for
//! this appointment as the delivery. README "Visits and Knock time-outs" has the reasoning
//! and the risk that remains.
use std::time::Instant;

use serde_json::Value;

use super::jobs::{AppointmentCancelJob, EmailLogJob, Job, VisitJob};
use crate::knock::types::{Agent, AppointmentId, EmailLog, ProspectId, VisitRequest};
use crate::knock::{KnockClient, KnockError};

/// Events read per page, and pages read at most, when looking for an earlier visit.
const EVENTS_PAGE: u32 = 50;
const EVENTS_MAX_PAGES: usize = 20;

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
    }
}

fn delivered(knock_result: impl Into<String>) -> Delivery {
    Delivery::Delivered {
        knock_result: Some(knock_result.into()),
        found_earlier: false,
    }
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
            Ok(Some(visit_id)) => {
                tracing::warn!(prospect = %prospect, appointment = %appointment,
                    "Knock recorded the visit on an earlier try whose answer was lost: not posting again");
                return Delivery::Delivered {
                    knock_result: visit_id,
                    found_earlier: true,
                };
            }
            Ok(None) => {}
            Err(Some(e)) => return Delivery::Failed(e),
            Err(None) => return Delivery::OutOfTime,
        }
    }
    if Instant::now() >= deadline {
        return Delivery::OutOfTime;
    }
    let request = VisitRequest {
        prospect_id: prospect,
        visit_time: v.visit_time,
        appointment_id: Some(appointment),
        is_self_guided: v.is_self_guided,
        source_title: Some(v.source_title),
        unit_names: v.unit_names,
    };
    match knock.post_visit(&request).await {
        Ok(visit_id) => delivered(visit_id.as_str()),
        Err(e) => Delivery::Failed(e),
    }
}

/// Reads the prospect's events for a visit on `appointment`. `Ok(Some(id))`: found (with
/// Knock's visitId when the event carries it); `Err(None)`: out of time.
async fn find_earlier_visit(
    knock: &KnockClient,
    prospect: &ProspectId,
    appointment: &AppointmentId,
    deadline: Instant,
) -> Result<Option<Option<String>>, Option<KnockError>> {
    let mut after: Option<String> = None;
    for _ in 0..EVENTS_MAX_PAGES {
        if Instant::now() >= deadline {
            return Err(None);
        }
        let page = knock
            .prospect_events(prospect, EVENTS_PAGE, after.as_deref())
            .await
            .map_err(Some)?;
        if let Some(found) = page
            .events
            .iter()
            .find_map(|e| visit_for(e.kind.as_deref(), &e.data, appointment))
        {
            return Ok(Some(found));
        }
        match page.end_cursor {
            Some(cursor) if page.has_next_page => after = Some(cursor),
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Knock documents no visit event type (API.md §8.3), so an event counts as our visit when it
/// names our appointment and looks like a visit: a `visitId` or `visitTime` in its data, or a
/// type that says visit or walk-in. Returns the visitId when there is one.
fn visit_for(
    kind: Option<&str>,
    data: &Value,
    appointment: &AppointmentId,
) -> Option<Option<String>> {
    let names_ours = data
        .get("appointmentId")
        .and_then(Value::as_str)
        .is_some_and(|id| id == appointment.as_str());
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
        Ok(appointment) => delivered(appointment.id.as_str()),
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
        Ok(id) => delivered(id.as_str()),
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
    fn a_visit_typed_event_without_an_id_still_counts() {
        let data = json!({"appointmentId": "3"});
        assert_eq!(
            visit_for(Some("self_guided_visit"), &data, &appt("3")),
            Some(None)
        );
    }
}
