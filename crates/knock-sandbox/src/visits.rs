//! Recording visits (API.md §7).
use chrono::{DateTime, Utc};
use serde_json::json;

use super::records::VisitRecord;
use super::requests::VisitRequest;
use super::rules::{event_types, Rejection};
use super::state::{IdKind, State};
use super::wire::knock_time;

/// Units compare ignoring case and spaces (DOC, K-SGA/K-SGV).
fn unit_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The community's names of the units named, each once; unknown names are dropped.
pub(super) fn match_units(community_units: &[String], named: &[String]) -> Vec<String> {
    let mut matched: Vec<String> = Vec::new();
    for name in named {
        let key = unit_key(name);
        if let Some(unit) = community_units.iter().find(|u| unit_key(u) == key) {
            if !matched.contains(unit) {
                matched.push(unit.clone());
            }
        }
    }
    matched
}

impl State {
    /// POST /visit: always recorded once valid, with or without matching units; a repeat is a
    /// second visit (no idempotency, API.md §7).
    pub fn record_visit(
        &mut self,
        request: VisitRequest,
        now: DateTime<Utc>,
    ) -> Result<String, Rejection> {
        let index = self.prospect_index(&request.prospect_id)?;
        let prospect = self.prospects[index].clone();
        let visit_time = request.visit_time.with_timezone(&Utc);
        if visit_time > now {
            return Err(Rejection::FutureVisitTime);
        }
        if let Some(appointment_id) = &request.appointment_id {
            let appointment = self
                .appointments
                .iter()
                .find(|a| &a.id == appointment_id)
                .ok_or_else(|| Rejection::UnknownAppointment(appointment_id.clone()))?;
            if appointment.prospect_id != prospect.id {
                return Err(Rejection::ForeignAppointment {
                    appointment_id: appointment_id.clone(),
                    prospect_id: prospect.id.clone(),
                });
            }
        }
        let units = self
            .community(&prospect.community_id)
            .map(|c| c.units.clone())
            .unwrap_or_default();
        let matched_units = match_units(&units, &request.unit_names);
        let visit = VisitRecord {
            id: self.next_id(IdKind::Visit).to_string(),
            prospect_id: prospect.id.clone(),
            appointment_id: request.appointment_id,
            visit_time,
            is_self_guided: request.is_self_guided,
            source_title: request.source_title,
            unit_names: request.unit_names,
            matched_units,
            recorded_at: now,
        };
        let mut event = self.prospect_event(
            &prospect,
            event_types::VISIT,
            "The prospect visited the community",
            json!({
                "visitId": visit.id,
                "visitTime": knock_time(visit.visit_time),
                "appointmentId": visit.appointment_id,
                "isSelfGuided": visit.is_self_guided,
                "unitNames": visit.matched_units,
            }),
            now,
        );
        event.event_time = visit_time;
        if visit.source_title.is_some() {
            event.source_title.clone_from(&visit.source_title);
        }
        self.push_event(event);
        let id = visit.id.clone();
        self.visits.push(visit);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_match_ignoring_case_and_spaces_and_unknown_ones_drop() {
        let units = vec!["Unit 5A".to_owned(), "123".to_owned()];
        let named = vec![
            "unit5a".to_owned(),
            " 1 2 3 ".to_owned(),
            "UNIT 5A".to_owned(),
            "999".to_owned(),
        ];
        assert_eq!(match_units(&units, &named), ["Unit 5A", "123"]);
    }
}
