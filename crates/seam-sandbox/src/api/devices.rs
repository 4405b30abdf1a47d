//! `/devices/list|get`, `/locks/list|get` (SPEC; PROVIDERS.md §1.2).
use serde_json::{json, Map, Value};

use super::{object, paginate, Call};
use crate::errors::{SeamError, Validation};
use crate::params::Params;
use crate::state::State;

const LIST_KEYS: &[&str] = &[
    "device_ids",
    "device_type",
    "device_types",
    "manufacturer",
    "connected_account_id",
    "connected_account_ids",
    "customer_key",
    "space_id",
    "search",
    "limit",
    "page_cursor",
];

pub fn list(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
    locks_only: bool,
) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(LIST_KEYS, &mut v);
    let ids = p.str_list("device_ids", &mut v);
    let types = p.one_or_many("device_type", "device_types", &mut v);
    let manufacturer = p.str("manufacturer", &mut v);
    let accounts = p.one_or_many("connected_account_id", "connected_account_ids", &mut v);
    let search = p.str("search", &mut v).map(|s| s.to_lowercase());
    let devices: Vec<Value> = state
        .devices
        .iter()
        .filter(|d| !d.removed && (!locks_only || d.is_lock()))
        .filter(|d| ids.as_ref().is_none_or(|ids| ids.contains(&d.device_id)))
        .filter(|d| {
            types
                .as_ref()
                .is_none_or(|t| t.iter().any(|t| t == d.brand.device_type()))
        })
        .filter(|d| {
            manufacturer
                .as_deref()
                .is_none_or(|m| m == d.brand.manufacturer())
        })
        .filter(|d| {
            accounts
                .as_ref()
                .is_none_or(|a| a.contains(&d.connected_account_id))
        })
        .filter(|d| {
            search
                .as_deref()
                .is_none_or(|s| d.display_name.to_lowercase().contains(s))
        })
        .map(|d| d.to_json(call.now))
        .collect();
    let (page, pagination) = paginate(devices, p, &mut v, call, 500);
    v.finish()?;
    let key = if locks_only { "locks" } else { "devices" };
    let mut out = object(vec![(key, json!(page)), ("pagination", pagination)]);
    if locks_only {
        // The lock routes answer under both names (SPEC).
        out.insert("devices".into(), out[key].clone());
    }
    Ok(out)
}

pub fn get(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
    key: &str,
) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["device_id", "name"], &mut v);
    let id = p.str("device_id", &mut v);
    let name = p.str("name", &mut v);
    if id.is_none() && name.is_none() && v.is_empty() {
        v.add("device_id", "Either device_id or name is required");
    }
    v.finish()?;
    let device = match (id, name) {
        (Some(id), _) => state.device(&id)?,
        (None, Some(name)) => state
            .devices
            .iter()
            .find(|d| !d.removed && d.display_name == name)
            .ok_or_else(|| SeamError::device_not_found(&name))?,
        (None, None) => return Err(SeamError::bad_input("device_id is required")),
    };
    let json = device.to_json(call.now);
    Ok(object(vec![(key, json.clone()), ("device", json)]))
}
