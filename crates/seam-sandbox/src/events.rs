//! Seam's event objects (PROVIDERS.md §1.6): the common fields, and one record per event
//! that `/events/list`, webhooks and the Rust API all read.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::devices::seeds;
use super::wire::{new_id, seam_time};

/// One event, as `/events/list` returns it and a webhook delivers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeamEvent {
    pub event_id: String,
    pub event_type: String,
    pub device_id: Option<String>,
    pub access_code_id: Option<String>,
    /// When it happened on the lock.
    pub occurred_at: DateTime<Utc>,
    /// When Seam learned of it (later than `occurred_at` when a lock reports late).
    pub created_at: DateTime<Utc>,
    /// The whole event object, as sent on the wire.
    pub body: Value,
}

/// What an event is about, besides its type-specific fields.
#[derive(Debug, Clone, Default)]
pub struct Subject<'a> {
    pub device_id: Option<&'a str>,
    pub connected_account_id: Option<&'a str>,
    pub access_code_id: Option<&'a str>,
}

impl SeamEvent {
    /// An event with the common fields and `extra` (type-specific fields).
    pub fn new(
        event_type: &str,
        subject: Subject<'_>,
        extra: Map<String, Value>,
        occurred_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
    ) -> Self {
        let event_id = new_id();
        let mut body = Map::new();
        body.insert("event_id".into(), json!(event_id));
        body.insert("event_type".into(), json!(event_type));
        body.insert("workspace_id".into(), json!(seeds::WORKSPACE));
        if let Some(device_id) = subject.device_id {
            body.insert("device_id".into(), json!(device_id));
        }
        if let Some(account) = subject.connected_account_id {
            body.insert("connected_account_id".into(), json!(account));
        }
        if let Some(code_id) = subject.access_code_id {
            body.insert("access_code_id".into(), json!(code_id));
        }
        for (key, value) in extra {
            body.insert(key, value);
        }
        body.insert("occurred_at".into(), json!(seam_time(occurred_at)));
        body.insert("created_at".into(), json!(seam_time(created_at)));
        Self {
            event_id,
            event_type: event_type.to_owned(),
            device_id: subject.device_id.map(str::to_owned),
            access_code_id: subject.access_code_id.map(str::to_owned),
            occurred_at,
            created_at,
            body: Value::Object(body),
        }
    }

    /// A field of the wire object (`method`, `code`, …).
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.body.get(key)
    }
}

/// The event types the emulator emits or accepts in webhook filters (SPEC `events/*`).
pub const KNOWN_EVENT_TYPES: &[&str] = &[
    "access_code.created",
    "access_code.changed",
    "access_code.scheduled_on_device",
    "access_code.set_on_device",
    "access_code.removed_from_device",
    "access_code.delay_in_setting_on_device",
    "access_code.failed_to_set_on_device",
    "access_code.deleted",
    "access_code.delay_in_removing_from_device",
    "access_code.failed_to_remove_from_device",
    "access_code.modified_external_to_seam",
    "access_code.deleted_external_to_seam",
    "access_code.backup_access_code_pulled",
    "access_code.unmanaged.converted_to_managed",
    "access_code.unmanaged.created",
    "access_code.unmanaged.removed",
    "lock.locked",
    "lock.unlocked",
    "lock.access_denied",
    "device.connected",
    "device.disconnected",
    "device.removed",
    "device.added",
    "device.low_battery",
    "device.battery_status_changed",
    "device.tampered",
    "device.converted_to_unmanaged",
    "device.unmanaged.converted_to_managed",
    "device.connection_became_flaky",
    "device.connection_stabilized",
    "device.accessory_keypad_connected",
    "device.accessory_keypad_disconnected",
    "connected_account.connected",
    "connected_account.disconnected",
    "connected_account.created",
    "connected_account.deleted",
    "action_attempt.lock_door.succeeded",
    "action_attempt.lock_door.failed",
    "action_attempt.unlock_door.succeeded",
    "action_attempt.unlock_door.failed",
    "action_attempt.simulate_keypad_code_entry.succeeded",
    "action_attempt.simulate_keypad_code_entry.failed",
    "action_attempt.simulate_manual_lock_via_keypad.succeeded",
    "action_attempt.simulate_manual_lock_via_keypad.failed",
];

/// Whether a webhook filter entry names events: `*`, an exact type, or `prefix.*`.
pub fn filter_matches(filter: &str, event_type: &str) -> bool {
    filter == "*"
        || filter == event_type
        || filter.strip_suffix(".*").is_some_and(|prefix| {
            event_type.starts_with(prefix) && event_type[prefix.len()..].starts_with('.')
        })
}

pub fn is_known_filter(filter: &str) -> bool {
    filter == "*"
        || KNOWN_EVENT_TYPES.contains(&filter)
        || filter.strip_suffix(".*").is_some_and(|prefix| {
            KNOWN_EVENT_TYPES
                .iter()
                .any(|t| t.starts_with(&format!("{prefix}.")))
        })
}
