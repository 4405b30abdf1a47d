//! `/events/list|get` (SPEC; PROVIDERS.md §1.6 "Catch-up path", §4.4 item 10). INF: events are
//! listed oldest first by `created_at` (Seam does not document the order).
use serde_json::{json, Map, Value};

use super::object;
use crate::errors::{SeamError, Validation};
use crate::params::Params;
use crate::state::State;

pub fn list(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(
        &[
            "since",
            "between",
            "device_id",
            "device_ids",
            "access_code_id",
            "access_code_ids",
            "event_type",
            "event_types",
            "connected_account_id",
            "event_ids",
            "limit",
            "unstable_offset",
        ],
        &mut v,
    );
    let since = p.time("since", &mut v);
    let between = p.time_list("between", &mut v);
    let devices = p.one_or_many("device_id", "device_ids", &mut v);
    let codes = p.one_or_many("access_code_id", "access_code_ids", &mut v);
    let types = p.one_or_many("event_type", "event_types", &mut v);
    let account = p.str("connected_account_id", &mut v);
    let ids = p.str_list("event_ids", &mut v);
    let limit = p.uint("limit", &mut v).unwrap_or(500).max(1) as usize;
    let offset = p.uint("unstable_offset", &mut v).unwrap_or(0) as usize;
    if !p.has("since") && !p.has("between") && !p.has("event_ids") {
        v.add("since", "Either since or between must be provided");
    }
    let range = match between.as_deref() {
        Some([from, to]) if from <= to => Some((*from, *to)),
        Some([_, _]) => {
            v.add("between", "The first time must not be after the second");
            None
        }
        Some(_) => {
            v.add("between", "Expected exactly two date-times");
            None
        }
        None => None,
    };
    v.finish()?;
    let mut events: Vec<&crate::events::SeamEvent> = state
        .events
        .iter()
        .filter(|e| since.is_none_or(|s| e.created_at >= s))
        .filter(|e| range.is_none_or(|(from, to)| from <= e.created_at && e.created_at <= to))
        .filter(|e| {
            devices
                .as_ref()
                .is_none_or(|d| e.device_id.as_ref().is_some_and(|id| d.contains(id)))
        })
        .filter(|e| {
            codes
                .as_ref()
                .is_none_or(|c| e.access_code_id.as_ref().is_some_and(|id| c.contains(id)))
        })
        .filter(|e| types.as_ref().is_none_or(|t| t.contains(&e.event_type)))
        .filter(|e| {
            account.as_ref().is_none_or(|a| {
                e.field("connected_account_id").and_then(Value::as_str) == Some(a.as_str())
            })
        })
        .filter(|e| ids.as_ref().is_none_or(|ids| ids.contains(&e.event_id)))
        .collect();
    events.sort_by_key(|e| e.created_at);
    let page: Vec<Value> = events
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|e| e.body.clone())
        .collect();
    Ok(object(vec![("events", json!(page))]))
}

pub fn get(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["event_id", "event_type", "device_id"], &mut v);
    let id = p.str("event_id", &mut v);
    let kind = p.str("event_type", &mut v);
    let device = p.str("device_id", &mut v);
    if id.is_none() && kind.is_none() && device.is_none() && v.is_empty() {
        v.add("event_id", "Required");
    }
    v.finish()?;
    let event = state
        .events
        .iter()
        .rev()
        .find(|e| {
            id.as_ref().is_none_or(|id| &e.event_id == id)
                && kind.as_ref().is_none_or(|k| &e.event_type == k)
                && device
                    .as_ref()
                    .is_none_or(|d| e.device_id.as_ref() == Some(d))
        })
        .ok_or_else(|| SeamError::not_found("Event"))?;
    Ok(object(vec![("event", event.body.clone())]))
}
