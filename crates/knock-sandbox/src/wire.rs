//! The JSON the sandbox answers with, shaped as Knock's (API.md §2, §4, §8).
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;

use super::records::{
    AppointmentRecord, AppointmentStatus, Bedrooms, EventRecord, Json, ProspectRecord,
    ProspectStatus, TourType,
};
use super::rules;

/// Knock's output date-time (API.md §2): UTC with "+00:00", as Python's `isoformat()` writes
/// it, microseconds present unless zero ("2021-10-14T18:10:34.515181+00:00",
/// "2022-01-18T20:00:00+00:00").
pub(super) fn knock_time(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// An `acceptableTimes` entry: RFC 3339 in the community's own offset (API.md §3).
pub(super) fn local_time(t: &DateTime<Tz>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppointmentBody<'a> {
    id: &'a str,
    status: AppointmentStatus,
    start_time: String,
    end_time: String,
    tour_type: TourType,
    prospect_id: &'a str,
}

#[derive(Serialize)]
struct AppointmentEnvelope<'a> {
    appointment: AppointmentBody<'a>,
}

/// `{"appointment": {...}}` (API.md §4 recommended shape, §5).
pub(super) fn appointment(a: &AppointmentRecord) -> Value {
    serde_json::to_value(AppointmentEnvelope {
        appointment: AppointmentBody {
            id: &a.id,
            status: a.status,
            start_time: knock_time(a.start),
            end_time: knock_time(a.end),
            tour_type: a.tour_type,
            prospect_id: &a.prospect_id,
        },
    })
    .unwrap_or(Value::Null)
}

#[derive(Serialize)]
struct Username<'a> {
    username: &'a str,
}

#[derive(Serialize)]
struct Title<'a> {
    title: &'a str,
}

/// The K-GP body, every documented member present (API.md §8.2).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProspectBody<'a> {
    prospect_id: &'a str,
    community_id: &'a str,
    email: Option<&'a str>,
    phone: Option<String>,
    agent: Option<Username<'a>>,
    address: Option<&'a str>,
    unit: Option<&'a str>,
    city: Option<&'a str>,
    state: Option<&'a str>,
    zip: Option<&'a str>,
    source: Option<Title<'a>>,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    move_date: Option<String>,
    bedrooms: Option<&'a [Bedrooms]>,
    /// Never known: pets are sent as `[]` and read back as null (API.md §10).
    pets: Option<()>,
    occupants: Option<u32>,
    lease_term_months: Option<u32>,
    min_budget: Option<u32>,
    max_budget: Option<u32>,
    sms_consent: bool,
    is_deleted: bool,
    not_prospect: bool,
    created_at: String,
    updated_at: String,
    first_contact_type: Option<&'a str>,
    status: ProspectStatus,
}

pub(super) fn prospect(p: &ProspectRecord) -> Value {
    serde_json::to_value(ProspectBody {
        prospect_id: &p.id,
        community_id: &p.community_id,
        email: p.email.as_deref(),
        phone: p.phone.as_deref().map(rules::e164),
        agent: p
            .agent_username
            .as_deref()
            .map(|username| Username { username }),
        address: p.address.as_deref(),
        unit: p.unit.as_deref(),
        city: p.city.as_deref(),
        state: p.state.as_deref(),
        zip: p.zip.as_deref(),
        source: p.source_title.as_deref().map(|title| Title { title }),
        first_name: p.first_name.as_deref(),
        last_name: p.last_name.as_deref(),
        move_date: p.move_date.map(|d| d.format("%Y-%m-%d").to_string()),
        bedrooms: p.bedrooms.as_deref(),
        pets: None,
        occupants: p.occupants,
        lease_term_months: p.lease_term_months,
        min_budget: p.min_budget,
        max_budget: p.max_budget,
        sms_consent: p.sms_consent,
        is_deleted: false,
        not_prospect: false,
        created_at: knock_time(p.created_at),
        updated_at: knock_time(p.updated_at),
        first_contact_type: p.first_contact_type.as_deref(),
        status: p.status,
    })
    .unwrap_or(Value::Null)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventNode<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    description: &'a str,
    event_time: String,
    created_at: String,
    source: Option<Title<'a>>,
    agent: Option<Username<'a>>,
    data: &'a Json,
}

/// One `node` of GET /prospect/{id}/events (API.md §8.3).
pub(super) fn event_node(e: &EventRecord) -> Value {
    serde_json::to_value(EventNode {
        event_type: &e.event_type,
        description: &e.description,
        event_time: knock_time(e.event_time),
        created_at: knock_time(e.created_at),
        source: e.source_title.as_deref().map(|title| Title { title }),
        agent: e
            .agent_username
            .as_deref()
            .map(|username| Username { username }),
        data: &e.data,
    })
    .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_times_follow_knocks_isoformat() {
        let whole = DateTime::parse_from_rfc3339("2022-01-18T15:00:00-05:00")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(knock_time(whole), "2022-01-18T20:00:00+00:00");
        let fraction = DateTime::parse_from_rfc3339("2021-10-14T18:10:34.515181789Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(knock_time(fraction), "2021-10-14T18:10:34.515181+00:00");
    }
}
