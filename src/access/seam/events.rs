//! Seam's events (PROVIDERS.md §1.6), as webhooks deliver them (the bare event object) and as
//! `/events/list` returns them, turned into normalized [`AccessEvent`]s.
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::access::event::{AccessEvent, EntryMethod, InboundEvent};
use crate::access::AccessCode;

#[derive(Deserialize)]
struct Raw {
    event_id: String,
    event_type: String,
    occurred_at: DateTime<Utc>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    access_code_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    reason: Option<Value>,
    #[serde(default)]
    access_code_errors: Option<Vec<Value>>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a Seam event: {0}")]
pub struct NotAnEvent(pub String);

const MAX_ID: usize = 255;

/// One event. Unknown types are `Ignored`, not refused: Seam adds types, and an endpoint that
/// answers 4xx would be retried for a day.
pub fn parse(v: &Value) -> Result<InboundEvent, NotAnEvent> {
    let raw: Raw = Raw::deserialize(v).map_err(|e| NotAnEvent(e.to_string()))?;
    if raw.event_id.is_empty() || raw.event_id.len() > MAX_ID {
        return Err(NotAnEvent(format!(
            "event_id must be 1 to {MAX_ID} characters"
        )));
    }
    let grant = || {
        raw.access_code_id
            .clone()
            .filter(|g| !g.is_empty() && g.len() <= MAX_ID)
            .ok_or_else(|| NotAnEvent(format!("{} without access_code_id", raw.event_type)))
    };
    let lock = || {
        raw.device_id
            .clone()
            .filter(|d| !d.is_empty() && d.len() <= MAX_ID)
            .ok_or_else(|| NotAnEvent(format!("{} without device_id", raw.event_type)))
    };
    let first_error = || {
        raw.access_code_errors
            .as_ref()
            .and_then(|errs| errs.first())
            .and_then(|e| e.get("error_code").and_then(Value::as_str))
            .map(str::to_string)
    };
    let event = match raw.event_type.as_str() {
        "access_code.scheduled_on_device" => AccessEvent::GrantScheduled { grant: grant()? },
        "access_code.set_on_device" => AccessEvent::GrantActive { grant: grant()? },
        "access_code.delay_in_setting_on_device" => AccessEvent::GrantDelayed {
            grant: grant()?,
            detail: first_error().unwrap_or_else(|| "delay_in_setting_on_device".into()),
        },
        "access_code.failed_to_set_on_device" => AccessEvent::GrantFailed {
            grant: grant()?,
            reason: first_error().unwrap_or_else(|| "failed_to_set_on_device".into()),
        },
        "access_code.removed_from_device" | "access_code.deleted" => {
            AccessEvent::GrantRemoved { grant: grant()? }
        }
        "access_code.failed_to_remove_from_device" => AccessEvent::RevokeFailed {
            grant: grant()?,
            reason: first_error().unwrap_or_else(|| "failed_to_remove_from_device".into()),
        },
        "lock.unlocked" => AccessEvent::Entry {
            lock: lock()?,
            grant: raw.access_code_id.clone().filter(|g| !g.is_empty()),
            code: raw
                .code
                .clone()
                .filter(|c| !c.is_empty() && c.len() <= 32)
                .map(AccessCode::new),
            method: match raw.method.as_deref() {
                Some("keycode") => EntryMethod::Keycode,
                _ => EntryMethod::Other,
            },
        },
        "lock.access_denied" => AccessEvent::Denied {
            lock: lock()?,
            reason: raw
                .reason
                .as_ref()
                .and_then(|r| r.get("reason_code"))
                .and_then(Value::as_str)
                .map(str::to_string),
        },
        other => AccessEvent::Ignored {
            kind: other.chars().take(80).collect(),
        },
    };
    Ok(InboundEvent {
        id: raw.event_id,
        occurred_at: raw.occurred_at,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unlock_by_keypad_names_the_code_and_never_shows_it() {
        let e = parse(&json!({"event_id": "e1", "event_type": "lock.unlocked",
            "workspace_id": "w", "device_id": "d1", "method": "keycode",
            "access_code_id": "ac1", "code": "123456", "access_code_is_managed": true,
            "occurred_at": "2026-12-03T10:02:00.000Z", "created_at": "2026-12-03T10:02:01Z"}))
        .unwrap();
        assert_eq!(e.id, "e1");
        let AccessEvent::Entry {
            lock,
            grant,
            code,
            method,
        } = &e.event
        else {
            panic!("{:?}", e.event)
        };
        assert_eq!((lock.as_str(), grant.as_deref()), ("d1", Some("ac1")));
        assert_eq!(code.as_ref().unwrap().reveal(), "123456");
        assert_eq!(*method, EntryMethod::Keycode);
        assert!(!format!("{e:?}").contains("123456"));
    }

    #[test]
    fn code_lifecycle_events_map_and_failures_carry_their_error_code() {
        let base = |t: &str| {
            json!({"event_id": "e", "event_type": t, "access_code_id": "ac",
            "device_id": "d", "occurred_at": "2026-12-03T10:00:00Z",
            "access_code_errors": [{"error_code": "no_space_for_access_code_on_device"}]})
        };
        assert!(matches!(
            parse(&base("access_code.set_on_device")).unwrap().event,
            AccessEvent::GrantActive { .. }
        ));
        assert!(matches!(
            parse(&base("access_code.scheduled_on_device"))
                .unwrap()
                .event,
            AccessEvent::GrantScheduled { .. }
        ));
        let AccessEvent::GrantFailed { reason, .. } =
            parse(&base("access_code.failed_to_set_on_device"))
                .unwrap()
                .event
        else {
            panic!()
        };
        assert_eq!(reason, "no_space_for_access_code_on_device");
        assert!(matches!(
            parse(&base("access_code.failed_to_remove_from_device"))
                .unwrap()
                .event,
            AccessEvent::RevokeFailed { .. }
        ));
        assert!(matches!(
            parse(&base("device.low_battery")).unwrap().event,
            AccessEvent::Ignored { .. }
        ));
        assert!(parse(&json!({"event_type": "lock.unlocked"})).is_err());
        assert!(parse(
            &json!({"event_id": "e", "event_type": "access_code.set_on_device",
            "occurred_at": "2026-12-03T10:00:00Z"})
        )
        .is_err());
    }
}
