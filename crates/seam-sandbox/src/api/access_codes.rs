//! `/access_codes/create|get|list|update|delete` (S-CREATE, S-GET, S-UPDATE, S-DELETE, S-OFFLINE,
//! S-IGLOO; PROVIDERS.md §1.3, §1.4, §1.8, §4.4 items 4, 5, 12).
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{object, paginate, Call};
use crate::codes::{AccessCodeRecord, CodeStatus};
use crate::devices::SeamDevice;
use crate::errors::{SeamError, Validation};
use crate::params::Params;
use crate::rate::RateClass;
use crate::state::State;
use crate::wire::new_id;

const CREATE_KEYS: &[&str] = &[
    "device_id",
    "name",
    "code",
    "starts_at",
    "ends_at",
    "prefer_native_scheduling",
    "preferred_code_length",
    "is_offline_access_code",
    "is_one_time_use",
    "max_time_rounding",
    "attempt_for_offline_device",
    "use_backup_access_code_pool",
    "allow_external_modification",
    "is_external_modification_allowed",
    "common_code_key",
    "use_offline_access_code",
    "sync",
];

const UPDATE_KEYS: &[&str] = &[
    "access_code_id",
    "device_id",
    "name",
    "code",
    "starts_at",
    "ends_at",
    "type",
    "prefer_native_scheduling",
    "preferred_code_length",
    "is_offline_access_code",
    "is_one_time_use",
    "max_time_rounding",
    "attempt_for_offline_device",
    "use_backup_access_code_pool",
    "allow_external_modification",
    "is_external_modification_allowed",
    "is_managed",
    "use_offline_access_code",
    "sync",
];

/// Seam's longest window for an hourly-bound algoPIN (S-IGLOO: 1–672 h).
const OFFLINE_MAX_HOURS: i64 = 672;
/// A daily-bound algoPIN lasts at most this many days (S-IGLOO: 29–367 days).
const OFFLINE_MAX_DAYS: i64 = 367;

/// The window fields of a create or update, checked against each other and the clock.
fn window(
    starts: Option<DateTime<Utc>>,
    ends: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    v: &mut Validation,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    match (starts, ends) {
        (Some(s), Some(e)) => {
            if e <= s {
                v.add("ends_at", "ends_at must be after starts_at");
            } else if e <= now {
                v.add("ends_at", "ends_at must be in the future");
            }
            Some((s, e))
        }
        (Some(_), None) => {
            v.add(
                "ends_at",
                "Both starts_at and ends_at must be provided if one is",
            );
            None
        }
        (None, Some(_)) => {
            v.add(
                "starts_at",
                "Both starts_at and ends_at must be provided if one is",
            );
            None
        }
        (None, None) => None,
    }
}

/// A PIN's form: digits only, of a length the lock supports.
fn check_pin(pin: &str, device: &SeamDevice, v: &mut Validation) {
    if !pin.bytes().all(|b| b.is_ascii_digit()) || pin.is_empty() {
        v.add("code", "Code must contain only digits");
    } else if !device.supported_code_lengths.contains(&pin.len()) {
        v.add(
            "code",
            format!(
                "Code length {} is not supported by this device (supported: {:?})",
                pin.len(),
                device.supported_code_lengths
            ),
        );
    }
}

/// A constraint of the lock the PIN breaks (the device's `code_constraints`).
fn broken_constraint(pin: &str) -> Option<&'static str> {
    let first = pin.bytes().next()?;
    pin.bytes()
        .all(|b| b == first)
        .then_some("The code cannot be all the same digit (no_all_same_digits)")
}

/// A PIN of `length` no live code on the device uses and no constraint forbids.
fn generated_pin(state: &State, device_id: &str, length: usize) -> String {
    let mut rng = rand::thread_rng();
    loop {
        let pin: String = (0..length)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        if broken_constraint(&pin).is_none() && !state.duplicate_of(device_id, &pin, None, None) {
            return pin;
        }
    }
}

/// The rules for an offline (algoPIN) code's window (S-OFFLINE, S-IGLOO).
fn check_offline_window(
    window: (DateTime<Utc>, DateTime<Utc>),
    rounding: Option<&str>,
    device: &SeamDevice,
    v: &mut Validation,
) {
    let (s, e) = window;
    let local_s = s.with_timezone(&device.timezone);
    let local_e = e.with_timezone(&device.timezone);
    let on_the_hour =
        |t: &DateTime<chrono_tz::Tz>| t.minute() == 0 && t.second() == 0 && t.nanosecond() == 0;
    if !on_the_hour(&local_s) || !on_the_hour(&local_e) {
        v.add(
            "starts_at",
            "Offline access codes must start and end on the hour",
        );
        return;
    }
    let hours = (e - s).num_hours();
    match rounding {
        Some("1d") | Some("1day") => {
            if local_s.time() != local_e.time() {
                v.add(
                    "ends_at",
                    "A daily-bound offline access code must end at the time of day it starts",
                );
            } else if hours / 24 > OFFLINE_MAX_DAYS {
                v.add(
                    "ends_at",
                    format!(
                        "A daily-bound offline access code lasts at most {OFFLINE_MAX_DAYS} days"
                    ),
                );
            }
        }
        _ => {
            if !(1..=OFFLINE_MAX_HOURS).contains(&hours) {
                v.add(
                    "ends_at",
                    format!(
                        "An hourly-bound offline access code lasts 1 to {OFFLINE_MAX_HOURS} hours; use max_time_rounding \"1d\" for longer"
                    ),
                );
            }
        }
    }
}

pub fn create(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let now = call.now;
    let mut v = Validation::default();
    p.only(CREATE_KEYS, &mut v);
    let device_id = p.required_str("device_id", &mut v);
    let name = p.str("name", &mut v);
    let pin = p.str("code", &mut v);
    let starts = p.time("starts_at", &mut v);
    let ends = p.time("ends_at", &mut v);
    let prefer_native = p.bool("prefer_native_scheduling", &mut v).unwrap_or(true);
    let preferred_length = p.uint("preferred_code_length", &mut v);
    let offline = p.bool("is_offline_access_code", &mut v).unwrap_or(false)
        || p.bool("use_offline_access_code", &mut v).unwrap_or(false);
    let one_time = p.bool("is_one_time_use", &mut v).unwrap_or(false);
    let rounding = p.str("max_time_rounding", &mut v);
    for key in [
        "attempt_for_offline_device",
        "use_backup_access_code_pool",
        "allow_external_modification",
        "is_external_modification_allowed",
        "sync",
    ] {
        p.bool(key, &mut v);
    }
    p.str("common_code_key", &mut v);
    if let Some(r) = rounding.as_deref() {
        if !["1hour", "1day", "1h", "1d"].contains(&r) {
            v.add("max_time_rounding", "Expected one of 1hour, 1day, 1h, 1d");
        }
    }
    if name.as_deref().is_some_and(str::is_empty) {
        v.add("name", "Name must not be empty");
    }
    let window = window(starts, ends, now, &mut v);
    v.finish()?;
    let device_id = device_id.unwrap_or_default();
    let device = state.device(&device_id)?.clone();

    let mut v = Validation::default();
    if let Some(pin) = pin.as_deref() {
        check_pin(pin, &device, &mut v);
    }
    if let Some(length) = preferred_length {
        if !device.supported_code_lengths.contains(&(length as usize)) {
            v.add(
                "preferred_code_length",
                format!(
                    "Length {length} is not supported by this device (supported: {:?})",
                    device.supported_code_lengths
                ),
            );
        }
    }
    if offline {
        if !device.offline_codes {
            v.add(
                "is_offline_access_code",
                "This device cannot program offline access codes",
            );
        }
        if pin.is_some() {
            v.add(
                "code",
                "A custom code cannot be set for an offline access code",
            );
        }
        match window {
            None => v.add(
                "starts_at",
                "Offline access codes need starts_at and ends_at",
            ),
            Some(w) => check_offline_window(w, rounding.as_deref(), &device, &mut v),
        }
    } else if !device.online_codes {
        // INF: the type is not documented for this refusal.
        v.add(
            "device_id",
            "This device cannot program online access codes; use is_offline_access_code",
        );
    }
    if one_time && !offline {
        v.add(
            "is_one_time_use",
            "Only offline access codes can be one-time use",
        );
    }
    v.finish()?;

    if state.rate_limits {
        state
            .rate
            .admit(&device_id, RateClass::CreateCode, now)
            .map_err(SeamError::rate_limited)?;
    }
    if let Some(pin) = pin.as_deref() {
        if state.duplicate_of(&device_id, pin, window, None) {
            return Err(SeamError::duplicate_access_code());
        }
    }
    let pin = if offline {
        None
    } else {
        Some(pin.unwrap_or_else(|| {
            let length = preferred_length
                .map(|l| l as usize)
                .unwrap_or_else(|| default_length(&device));
            generated_pin(state, &device_id, length)
        }))
    };
    let native = (device.brand.schedules_natively() && prefer_native) || offline;
    let mut record = AccessCodeRecord {
        access_code_id: new_id(),
        device_id: device_id.clone(),
        name,
        code: pin.clone(),
        window,
        status: if window.is_some() || offline {
            CodeStatus::Unset
        } else {
            CodeStatus::Setting
        },
        is_scheduled_on_device: false,
        is_offline_access_code: offline,
        is_one_time_use: one_time,
        native_scheduling: native,
        errors: Vec::new(),
        warnings: Vec::new(),
        created_at: now,
        on_device: false,
        first_failure_at: None,
        delete_requested: false,
        removed_at: None,
        used: false,
    };
    if let Some(reason) = pin.as_deref().and_then(broken_constraint) {
        record.add_error("code_constraints_violated", reason, now);
    }
    if offline && window.is_some_and(|(s, e)| e - s > TimeDelta::hours(24)) {
        record.add_warning(
            "igloo_algopin_must_be_used_within_24_hours",
            "This code must be used for the first time within 24 hours of its start",
            now,
        );
    }
    let id = record.access_code_id.clone();
    let json = record.to_json();
    state.codes.push(record);
    state.emit(
        "access_code.created",
        Some(&device_id),
        Some(&id),
        Map::new(),
        now,
        now,
    );
    let mut attempt =
        state.action_attempt("CREATE_ACCESS_CODE", json!({ "access_code": json }), None);
    // The answer shows the attempt as it was when the call returned (S-CREATEG); a later
    // `/action_attempts/get` shows it finished.
    attempt["status"] = json!("pending");
    attempt["result"] = Value::Null;
    Ok(object(vec![
        ("access_code", json),
        ("action_attempt", attempt),
    ]))
}

fn default_length(device: &SeamDevice) -> usize {
    if device.supported_code_lengths.contains(&6) {
        6
    } else {
        device.supported_code_lengths.first().copied().unwrap_or(6)
    }
}

pub fn get(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["access_code_id", "device_id", "code"], &mut v);
    let id = p.str("access_code_id", &mut v);
    let device_id = p.str("device_id", &mut v);
    let pin = p.str("code", &mut v);
    if id.is_none() && (device_id.is_none() || pin.is_none()) && v.is_empty() {
        v.add(
            "access_code_id",
            "Either access_code_id, or device_id and code, must be provided",
        );
    }
    v.finish()?;
    let code = match id {
        Some(id) => &state.codes[state.code_index(&id)?],
        None => {
            let device_id = device_id.unwrap_or_default();
            state.device(&device_id)?;
            let pin = pin.unwrap_or_default();
            state
                .codes
                .iter()
                .find(|c| {
                    c.is_live() && c.device_id == device_id && c.code.as_deref() == Some(&pin)
                })
                .ok_or_else(|| SeamError::access_code_not_found(&pin))?
        }
    };
    Ok(object(vec![("access_code", code.to_json())]))
}

pub fn list(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(
        &[
            "device_id",
            "access_code_ids",
            "search",
            "customer_key",
            "user_identifier_key",
            "access_grant_id",
            "limit",
            "page_cursor",
        ],
        &mut v,
    );
    let device_id = p.str("device_id", &mut v);
    let ids = p.str_list("access_code_ids", &mut v);
    let search = p.str("search", &mut v).map(|s| s.to_lowercase());
    p.str("customer_key", &mut v);
    p.str("user_identifier_key", &mut v);
    p.str("access_grant_id", &mut v);
    if device_id.is_none() && ids.is_none() && v.is_empty() {
        v.add(
            "device_id",
            "Either device_id or access_code_ids must be provided",
        );
    }
    if let Some(id) = device_id.as_deref() {
        if v.is_empty() {
            state.device(id)?;
        }
    }
    let codes: Vec<Value> = state
        .codes
        .iter()
        .filter(|c| c.is_live())
        .filter(|c| device_id.as_ref().is_none_or(|d| &c.device_id == d))
        .filter(|c| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&c.access_code_id))
        })
        .filter(|c| {
            search.as_deref().is_none_or(|s| {
                c.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(s))
                    || c.code.as_deref().is_some_and(|pin| pin.contains(s))
                    || c.access_code_id.contains(s)
            })
        })
        .map(AccessCodeRecord::to_json)
        .collect();
    let (page, pagination) = paginate(codes, p, &mut v, call, 500);
    v.finish()?;
    Ok(object(vec![
        ("access_codes", json!(page)),
        ("pagination", pagination),
    ]))
}

/// INF: Seam's type for refusing to change an offline code is undocumented.
fn offline_code_refusal(action: &str) -> SeamError {
    SeamError::new(
        actix_web::http::StatusCode::BAD_REQUEST,
        "offline_access_code_not_modifiable",
        format!("Offline access codes cannot be {action} through the API; revoke it at the lock over Bluetooth"),
    )
}

pub fn update(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let now = call.now;
    let mut v = Validation::default();
    p.only(UPDATE_KEYS, &mut v);
    let id = p.required_str("access_code_id", &mut v);
    let device_id = p.str("device_id", &mut v);
    let name = p.str("name", &mut v);
    let pin = p.str("code", &mut v);
    let starts = p.time("starts_at", &mut v);
    let ends = p.time("ends_at", &mut v);
    let kind = p.str("type", &mut v);
    let prefer_native = p.bool("prefer_native_scheduling", &mut v);
    for key in [
        "is_offline_access_code",
        "is_one_time_use",
        "attempt_for_offline_device",
        "use_backup_access_code_pool",
        "allow_external_modification",
        "is_external_modification_allowed",
        "is_managed",
        "use_offline_access_code",
        "sync",
    ] {
        p.bool(key, &mut v);
    }
    p.uint("preferred_code_length", &mut v);
    p.str("max_time_rounding", &mut v);
    if let Some(k) = kind.as_deref() {
        if k != "ongoing" && k != "time_bound" {
            v.add("type", "Expected ongoing or time_bound");
        }
    }
    if name.as_deref().is_some_and(str::is_empty) {
        v.add("name", "Name must not be empty");
    }
    v.finish()?;
    let index = state.code_index(&id.unwrap_or_default())?;
    let current = state.codes[index].clone();
    if device_id.as_ref().is_some_and(|d| d != &current.device_id) {
        return Err(SeamError::access_code_not_found(&current.access_code_id));
    }
    if current.is_offline_access_code {
        return Err(offline_code_refusal("updated"));
    }
    let device = state.device(&current.device_id)?.clone();

    let mut v = Validation::default();
    let new_window = if kind.as_deref() == Some("ongoing") {
        if starts.is_some() || ends.is_some() {
            v.add("type", "An ongoing code has no starts_at or ends_at");
        }
        None
    } else {
        let s = starts.or(current.starts_at());
        let e = ends.or(current.ends_at());
        if kind.as_deref() == Some("time_bound") && (s.is_none() || e.is_none()) {
            v.add("ends_at", "A time_bound code needs starts_at and ends_at");
        }
        if starts.is_some() || ends.is_some() {
            window(s, e, now, &mut v)
        } else {
            current.window
        }
    };
    if let Some(pin) = pin.as_deref() {
        check_pin(pin, &device, &mut v);
    }
    v.finish()?;
    if state.rate_limits {
        state
            .rate
            .admit(&device.device_id, RateClass::UpdateCode, now)
            .map_err(SeamError::rate_limited)?;
    }
    let new_pin = pin.or(current.code.clone());
    if let Some(pin) = new_pin.as_deref() {
        if state.duplicate_of(
            &device.device_id,
            pin,
            new_window,
            Some(&current.access_code_id),
        ) {
            return Err(SeamError::duplicate_access_code());
        }
    }
    let reprogram = new_pin != current.code || new_window != current.window;
    let c = &mut state.codes[index];
    if let Some(name) = name {
        c.name = Some(name);
    }
    if let Some(native) = prefer_native {
        c.native_scheduling = device.brand.schedules_natively() && native;
    }
    if reprogram {
        c.code = new_pin.clone();
        c.window = new_window;
        // The changed code goes through the lifecycle again (programmed on the next pass).
        c.on_device = false;
        c.is_scheduled_on_device = false;
        c.first_failure_at = None;
        c.errors.clear();
        c.warnings.clear();
        c.status = if new_window.is_some() {
            CodeStatus::Unset
        } else {
            CodeStatus::Setting
        };
        if let Some(reason) = new_pin.as_deref().and_then(broken_constraint) {
            c.add_error("code_constraints_violated", reason, now);
        }
    }
    let access_code_id = c.access_code_id.clone();
    state.emit(
        "access_code.changed",
        Some(&device.device_id),
        Some(&access_code_id),
        Map::new(),
        now,
        now,
    );
    let attempt = state.action_attempt(
        "UPDATE_ACCESS_CODE",
        json!({ "access_code": state.codes[index].to_json() }),
        None,
    );
    Ok(object(vec![("action_attempt", attempt)]))
}

pub fn delete(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let now = call.now;
    let mut v = Validation::default();
    p.only(&["access_code_id", "device_id", "sync"], &mut v);
    let id = p.required_str("access_code_id", &mut v);
    let device_id = p.str("device_id", &mut v);
    p.bool("sync", &mut v);
    v.finish()?;
    let id = id.unwrap_or_default();
    let index = state.code_index(&id)?;
    let code = state.codes[index].clone();
    if device_id.as_ref().is_some_and(|d| d != &code.device_id) {
        return Err(SeamError::access_code_not_found(&id));
    }
    if code.is_offline_access_code {
        return Err(offline_code_refusal("deleted"));
    }
    if state.rate_limits {
        state
            .rate
            .admit(&code.device_id, RateClass::DeleteCode, now)
            .map_err(SeamError::rate_limited)?;
    }
    state.codes[index].delete_requested = true;
    state.advance(now);
    let attempt = state.action_attempt("DELETE_ACCESS_CODE", json!({}), None);
    Ok(object(vec![("action_attempt", attempt)]))
}
