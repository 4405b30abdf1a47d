//! Prospects: create or update, read, timeline, logged e-mails (API.md §8).
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{json, Value};

use super::records::{EmailRecord, ProspectRecord, ProspectStatus};
use super::requests::{EmailLog, ProspectUpsert};
use super::rules::{self, Rejection};
use super::state::{IdKind, State};
use super::{wire, Profile};

/// A page request on a prospect's events: how many, and how many to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EventsPage {
    pub first: usize,
    pub after: usize,
}

/// A cursor is base64 of a position in the list (INF, API.md §8.3: "MQ==" is base64 of 1).
pub(super) fn encode_cursor(position: usize) -> String {
    BASE64.encode(position.to_string())
}

pub(super) fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = BASE64.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl State {
    /// POST /prospect: the matching prospect is updated on the K-AGT field list and keeps its
    /// id; otherwise a new one is created (API.md §8.1).
    pub fn upsert_prospect(
        &mut self,
        request: ProspectUpsert,
        now: DateTime<Utc>,
    ) -> Result<String, Rejection> {
        self.community(&request.community_id)?;
        let person = &request.person;
        let found = self.matching_prospect(
            &request.community_id,
            person.email.as_deref(),
            person.phone.as_deref(),
        );
        if let Some(index) = found {
            let prospect = &mut self.prospects[index];
            // DOC (K-AGT): exactly these fields are updated by a repeat post; absent ones stay.
            fn update<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
                if value.is_some() {
                    slot.clone_from(value);
                }
            }
            update(&mut prospect.agent_username, &request.agent_username);
            update(&mut prospect.first_name, &person.first_name);
            update(&mut prospect.last_name, &person.last_name);
            update(&mut prospect.phone, &person.phone);
            update(&mut prospect.email, &person.email);
            update(&mut prospect.move_date, &person.move_date);
            update(&mut prospect.lease_term_months, &person.lease_term_months);
            update(&mut prospect.bedrooms, &person.bedrooms);
            update(&mut prospect.occupants, &person.occupants);
            update(&mut prospect.min_budget, &person.min_budget);
            update(&mut prospect.max_budget, &person.max_budget);
            prospect.updated_at = now;
            return Ok(prospect.id.clone());
        }
        let id = self.next_id(IdKind::Prospect).to_string();
        let mut prospect = new_prospect(id.clone(), &request.community_id, now);
        prospect.first_name = person.first_name.clone();
        prospect.last_name = person.last_name.clone();
        prospect.email = person.email.clone();
        prospect.phone = person.phone.clone();
        prospect.move_date = person.move_date;
        prospect.bedrooms = person.bedrooms.clone();
        prospect.occupants = person.occupants;
        prospect.lease_term_months = person.lease_term_months;
        prospect.min_budget = person.min_budget;
        prospect.max_budget = person.max_budget;
        prospect.agent_username = request.agent_username;
        prospect.source_title = Some(request.source_title);
        prospect.address = request.address;
        prospect.unit = request.unit;
        prospect.city = request.city;
        prospect.state = request.state;
        prospect.zip = request.zip;
        prospect.first_contact_type = request.first_contact_type;
        prospect.sms_consent = request.sms_consent.unwrap_or(false);
        prospect.message = request.message;
        self.prospects.push(prospect);
        Ok(id)
    }

    /// GET /prospect/{id} (API.md §8.2).
    pub fn prospect_body(&self, raw_id: &str) -> Result<Value, Rejection> {
        let index = self.prospect_index(raw_id)?;
        Ok(wire::prospect(&self.prospects[index]))
    }

    /// GET /prospect/{id}/events, oldest first (API.md §8.3).
    /// Only the types the profile lists (`rules::lists_event`); cursors count those.
    pub fn events_page(
        &self,
        raw_id: &str,
        page: EventsPage,
        profile: Profile,
    ) -> Result<Value, Rejection> {
        let index = self.prospect_index(raw_id)?;
        let id = &self.prospects[index].id;
        let events: Vec<_> = self
            .events
            .iter()
            .filter(|e| &e.prospect_id == id && rules::lists_event(profile, &e.event_type))
            .collect();
        if page.after > events.len() {
            return Err(Rejection::invalid("after", "is not a cursor of this list"));
        }
        let nodes: Vec<Value> = events[page.after..]
            .iter()
            .take(page.first)
            .map(|e| json!({ "node": wire::event_node(e) }))
            .collect();
        let end = page.after + nodes.len();
        Ok(json!({
            "edges": nodes,
            "pageInfo": {
                "endCursor": (!nodes.is_empty()).then(|| encode_cursor(end)),
                "hasNextPage": end < events.len(),
            },
        }))
    }

    /// POST /prospect/{id}/email: logs it; an outbound e-mail is a first contact, so the
    /// prospect leaves `new` (API.md §8.4).
    pub fn log_email(
        &mut self,
        raw_id: &str,
        log: EmailLog,
        now: DateTime<Utc>,
    ) -> Result<String, Rejection> {
        let index = self.prospect_index(raw_id)?;
        let number = self.next_id(IdKind::Communication);
        let communication_id = format!("{}-{number}", random_tag());
        let prospect = &mut self.prospects[index];
        if log.email_type.is_outbound() && prospect.status == ProspectStatus::New {
            prospect.status = ProspectStatus::Open;
        }
        prospect.updated_at = now;
        let prospect = prospect.clone();
        let sent_time = log.sent_time.with_timezone(&Utc);
        let mut event = self.prospect_event(
            &prospect,
            log.email_type.as_knock(),
            log.subject.clone(),
            json!({ "communicationId": communication_id }),
            now,
        );
        event.event_time = sent_time;
        event.agent_username = Some(log.agent_username.clone());
        self.push_event(event);
        self.emails.push(EmailRecord {
            communication_id: communication_id.clone(),
            prospect_id: prospect.id,
            email_type: log.email_type,
            sent_time,
            agent_username: log.agent_username,
            subject: log.subject,
            body: log.body,
            logged_at: now,
        });
        Ok(communication_id)
    }
}

/// A prospect with nothing known yet but its id and community.
pub(super) fn new_prospect(id: String, community_id: &str, now: DateTime<Utc>) -> ProspectRecord {
    ProspectRecord {
        id,
        community_id: community_id.to_owned(),
        status: ProspectStatus::New,
        first_name: None,
        last_name: None,
        email: None,
        phone: None,
        agent_username: None,
        source_title: None,
        address: None,
        unit: None,
        city: None,
        state: None,
        zip: None,
        move_date: None,
        bedrooms: None,
        occupants: None,
        lease_term_months: None,
        min_budget: None,
        max_budget: None,
        sms_consent: false,
        first_contact_type: None,
        message: None,
        created_at: now,
        updated_at: now,
    }
}

/// Eight upper-case letters and digits, as in "4WXU6U2J-37444208" (API.md §8.4).
fn random_tag() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_positions() {
        assert_eq!(encode_cursor(1), "MQ==");
        assert_eq!(decode_cursor("MQ=="), Some(1));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(decode_cursor(&BASE64.encode("-1")), None);
    }

    #[test]
    fn communication_tags_are_eight_upper_alphanumerics() {
        let tag = random_tag();
        assert_eq!(tag.len(), 8);
        assert!(tag
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    }
}
