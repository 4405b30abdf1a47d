//! After an appointment request whose answer was lost, what does Knock hold for the prospect?
//! Knock has no idempotency key and no way to list a prospect's appointments, but its events
//! feed lists `APPOINTMENT_CREATED` with the start time and tour type (API.md §8.3). A request
//! we made for this booking's slot shows there; its id usually does not (Knock's example has
//! none), so the caller may learn only that it exists.
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::domain::Booking;
use crate::knock::types::{AppointmentStatus, ProspectEvent, ProspectId};
use crate::knock::{KnockClient, KnockError};

/// Events read per page, and pages at most: a prospect's feed is short, and the lookup runs
/// inside one attempt's lease.
const PAGE: u32 = 50;
const MAX_PAGES: usize = 10;
/// Clocks differ: an event a little before our booking's creation may still be ours.
const CLOCK_SKEW: Duration = Duration::minutes(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Knock holds a live self-guided appointment at this booking's start, created since the
    /// booking was; with its id when the event names one.
    Found {
        appointment_id: Option<String>,
        detail: String,
    },
    /// The feed was read to its end and holds no such appointment.
    NotFound,
    /// The feed could not be read: nothing can be said.
    Unknown(KnockError),
}

/// Looks through the prospect's events for the appointment this booking asked for.
pub async fn look_for_request(knock: &KnockClient, prospect: &str, b: &Booking) -> Lookup {
    let prospect = match ProspectId::parse(prospect) {
        Ok(p) => p,
        Err(e) => {
            return Lookup::Unknown(KnockError::Config(format!("stored prospect id: {e}")));
        }
    };
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = match knock
            .prospect_events(&prospect, PAGE, after.as_deref())
            .await
        {
            Ok(page) => page,
            Err(e) => return Lookup::Unknown(e),
        };
        events.extend(page.events);
        match (page.has_next_page, page.end_cursor) {
            (true, Some(cursor)) => after = Some(cursor),
            _ => return matching(&events, b.slot_start(), b.created_at - CLOCK_SKEW),
        }
    }
    Lookup::Unknown(KnockError::Contract {
        endpoint: "prospect_events",
        detail: format!("more than {MAX_PAGES} pages of events"),
    })
}

/// Creations of a self-guided appointment at `start` since `since`, less the cancellations
/// of one at that start: more creations than cancellations means one is live.
fn matching(events: &[ProspectEvent], start: DateTime<Utc>, since: DateTime<Utc>) -> Lookup {
    let at_start = |e: &ProspectEvent| {
        e.data
            .get("startTime")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .is_some_and(|t| t.with_timezone(&Utc) == start)
    };
    let self_guided = |e: &ProspectEvent| match e.data.get("tourType").and_then(Value::as_str) {
        None => true,
        Some(t) => t.eq_ignore_ascii_case("SELF_GUIDED"),
    };
    let recent = |e: &ProspectEvent| {
        e.event_time
            .or(e.created_at)
            .is_none_or(|t| t.with_timezone(&Utc) >= since)
    };
    let mut created = Vec::new();
    let mut cancelled = 0;
    for e in events
        .iter()
        .filter(|e| at_start(e) && self_guided(e) && recent(e))
    {
        let kind = e.kind.as_deref().unwrap_or("");
        let status = e
            .data
            .get("status")
            .and_then(Value::as_str)
            .map(AppointmentStatus::parse);
        if kind.to_ascii_uppercase().contains("CANCEL")
            || status == Some(AppointmentStatus::Cancelled)
        {
            cancelled += 1;
        } else if kind == "APPOINTMENT_CREATED" {
            created.push(e);
        }
    }
    if created.len() <= cancelled {
        return Lookup::NotFound;
    }
    let last = created[created.len() - 1];
    let appointment_id = ["appointmentId", "id"]
        .iter()
        .find_map(|k| match last.data.get(*k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
    let when = last
        .event_time
        .or(last.created_at)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "an unknown time".into());
    Lookup::Found {
        detail: format!(
            "Knock's events show a self-guided appointment at {} created at {when}{}",
            start.to_rfc3339(),
            match &appointment_id {
                Some(id) => format!(" (appointment {id})"),
                None => ", without its id".to_string(),
            }
        ),
        appointment_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn event(kind: &str, data: Value, at: DateTime<Utc>) -> ProspectEvent {
        serde_json::from_value(json!({
            "type": kind, "eventTime": at.to_rfc3339(), "data": data
        }))
        .unwrap()
    }

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 18, 0, 0).unwrap()
    }

    fn created(at: DateTime<Utc>) -> ProspectEvent {
        event(
            "APPOINTMENT_CREATED",
            json!({"startTime": "2026-12-03T10:00:00-08:00", "status": "confirmed", "tourType": "SELF_GUIDED"}),
            at,
        )
    }

    #[test]
    fn a_creation_at_our_start_is_found_without_an_id() {
        let now = start() - Duration::days(1);
        let found = matching(&[created(now)], start(), now - CLOCK_SKEW);
        assert!(
            matches!(
                found,
                Lookup::Found {
                    appointment_id: None,
                    ..
                }
            ),
            "{found:?}"
        );
    }

    #[test]
    fn an_id_in_the_event_is_taken() {
        let now = start() - Duration::days(1);
        let e = event(
            "APPOINTMENT_CREATED",
            json!({"startTime": "2026-12-03T18:00:00Z", "appointmentId": 77}),
            now,
        );
        assert!(matches!(
            matching(&[e], start(), now - CLOCK_SKEW),
            Lookup::Found { appointment_id: Some(id), .. } if id == "77"
        ));
    }

    #[test]
    fn another_start_an_in_person_tour_an_old_event_or_a_cancelled_one_is_not_ours() {
        let now = start() - Duration::days(1);
        let since = now - CLOCK_SKEW;
        let other_time = event(
            "APPOINTMENT_CREATED",
            json!({"startTime": "2026-12-03T19:00:00Z"}),
            now,
        );
        let in_person = event(
            "APPOINTMENT_CREATED",
            json!({"startTime": "2026-12-03T18:00:00Z", "tourType": "IN_PERSON"}),
            now,
        );
        let old = created(since - Duration::hours(1));
        for events in [vec![other_time], vec![in_person], vec![old]] {
            assert_eq!(matching(&events, start(), since), Lookup::NotFound);
        }
        let cancel = event(
            "APPOINTMENT_CANCELLED",
            json!({"startTime": "2026-12-03T18:00:00Z", "status": "cancelled"}),
            now,
        );
        assert_eq!(
            matching(&[created(now), cancel.clone()], start(), since),
            Lookup::NotFound
        );
        // Booked again after a cancel: live once more.
        assert!(matches!(
            matching(&[created(now), cancel, created(now)], start(), since),
            Lookup::Found { .. }
        ));
    }
}
