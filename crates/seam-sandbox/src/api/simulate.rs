//! Door and device simulation (S-SIM; SPEC), remote lock/unlock, action attempts, workspace.
//! INF: Seam's sandbox simulates keypad entry on August devices only; the emulator simulates
//! it on every lock so that unattributed brands can be tested too.
use chrono::TimeDelta;
use serde_json::{json, Map, Value};

use super::{object, Call};
use crate::devices::seeds;
use crate::errors::{SeamError, Validation};
use crate::lifecycle::fields;
use crate::params::Params;
use crate::rate::RateClass;
use crate::state::State;

fn device_id(p: &Params, extra: &[&str]) -> Result<String, SeamError> {
    let mut v = Validation::default();
    let mut allowed = vec!["device_id"];
    allowed.extend_from_slice(extra);
    p.only(&allowed, &mut v);
    let id = p.required_str("device_id", &mut v);
    v.finish()?;
    Ok(id.unwrap_or_default())
}

pub fn keypad_code_entry(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["device_id", "code"], &mut v);
    let id = p.required_str("device_id", &mut v);
    let pin = p.required_str("code", &mut v);
    v.finish()?;
    let id = id.unwrap_or_default();
    state.keypad_entry(&id, &pin.unwrap_or_default(), call.now)?;
    let attempt = simulation_attempt(state, "SIMULATE_KEYPAD_CODE_ENTRY", &id, call);
    Ok(object(vec![("action_attempt", attempt)]))
}

/// The action attempt of a simulation, and its `action_attempt.*.succeeded` event.
fn simulation_attempt(
    state: &mut State,
    action_type: &str,
    device_id: &str,
    call: &Call<'_>,
) -> Value {
    let attempt = state.action_attempt(action_type, json!({}), None);
    let event_type = format!("action_attempt.{}.succeeded", action_type.to_lowercase());
    state.emit(
        &event_type,
        Some(device_id),
        None,
        fields(&[
            ("action_attempt_id", attempt["action_attempt_id"].clone()),
            ("action_type", json!(action_type)),
            ("status", json!("success")),
        ]),
        call.now,
        call.now,
    );
    attempt
}

pub fn manual_lock(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let id = device_id(p, &[])?;
    state.manual_lock(&id, call.now)?;
    let attempt = simulation_attempt(state, "SIMULATE_MANUAL_LOCK_VIA_KEYPAD", &id, call);
    Ok(object(vec![("action_attempt", attempt)]))
}

pub fn connection(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
    online: bool,
) -> Result<Map<String, Value>, SeamError> {
    let id = device_id(p, &[])?;
    state.set_online(&id, online, call.now)?;
    Ok(Map::new())
}

pub fn remove(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
) -> Result<Map<String, Value>, SeamError> {
    let id = device_id(p, &[])?;
    state.remove_device(&id, call.now)?;
    Ok(Map::new())
}

/// `/locks/unlock_door` and `/locks/lock_door`: remote, rate-limited per device; an offline
/// lock fails the action attempt (INF: error type `device_offline`).
pub fn unlock_door(
    state: &mut State,
    p: &Params,
    call: &Call<'_>,
    unlock: bool,
) -> Result<Map<String, Value>, SeamError> {
    let id = device_id(p, &["sync"])?;
    let device = state.device(&id)?.clone();
    let (class, action_type, event_type, slug) = if unlock {
        (
            RateClass::Unlock,
            "UNLOCK_DOOR",
            "lock.unlocked",
            "unlock_door",
        )
    } else {
        (RateClass::Lock, "LOCK_DOOR", "lock.locked", "lock_door")
    };
    if state.rate_limits {
        state
            .rate
            .admit(&id, class, call.now)
            .map_err(SeamError::rate_limited)?;
    }
    if !device.online {
        let attempt = state.action_attempt(
            action_type,
            Value::Null,
            Some(json!({"type": "device_offline", "message": "Device is offline"})),
        );
        state.emit(
            &format!("action_attempt.{slug}.failed"),
            Some(&id),
            None,
            fields(&[("action_attempt_id", attempt["action_attempt_id"].clone())]),
            call.now,
            call.now,
        );
        return Ok(object(vec![("action_attempt", attempt)]));
    }
    let attempt = state.action_attempt(action_type, json!({"was_confirmed_by_device": true}), None);
    let attempt_id = attempt["action_attempt_id"].clone();
    if let Ok(d) = state.device_mut(&id) {
        d.locked = !unlock;
        if unlock {
            if let Some(secs) = d.auto_relock_seconds {
                state
                    .relocks
                    .push((id.clone(), call.now + TimeDelta::seconds(secs)));
            }
        }
    }
    state.emit(
        event_type,
        Some(&id),
        None,
        fields(&[
            ("method", json!("remote")),
            ("action_attempt_id", attempt_id.clone()),
        ]),
        call.now,
        call.now,
    );
    state.emit(
        &format!("action_attempt.{slug}.succeeded"),
        Some(&id),
        None,
        fields(&[("action_attempt_id", attempt_id)]),
        call.now,
        call.now,
    );
    Ok(object(vec![("action_attempt", attempt)]))
}

pub fn action_attempt(state: &mut State, p: &Params) -> Result<Map<String, Value>, SeamError> {
    let mut v = Validation::default();
    p.only(&["action_attempt_id"], &mut v);
    let id = p.required_str("action_attempt_id", &mut v);
    v.finish()?;
    let id = id.unwrap_or_default();
    let attempt = state
        .action_attempts
        .iter()
        .find(|a| a["action_attempt_id"].as_str() == Some(&id))
        .cloned()
        .ok_or_else(|| SeamError::not_found("Action attempt"))?;
    Ok(object(vec![("action_attempt", attempt)]))
}

pub fn workspace() -> Map<String, Value> {
    object(vec![(
        "workspace",
        json!({
            "workspace_id": seeds::WORKSPACE,
            "name": seeds::WORKSPACE_NAME,
            "is_sandbox": true,
            "connect_partner_name": "Tourgate",
            "company_name": "Tourgate",
            "is_suspended": false,
        }),
    )])
}
