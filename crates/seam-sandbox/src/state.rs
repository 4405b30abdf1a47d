//! The emulator's memory. One `State` sits behind one mutex, so each call is checked and
//! applied atomically; every change that Seam would report goes through `emit`, which logs the
//! event and queues its webhook deliveries.
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::codes::AccessCodeRecord;
use super::devices::SeamDevice;
use super::errors::SeamError;
use super::events::{SeamEvent, Subject};
use super::faults::FaultQueue;
use super::rate::RateLimiter;
use super::webhooks::{self, Delivery, DeliveryKnobs, WebhookEndpoint};
use super::wire::new_id;

/// An event a disconnected lock keeps until it is back online (then reported late:
/// `created_at` after `occurred_at`).
#[derive(Debug, Clone)]
pub struct HeldReport {
    pub event_type: String,
    pub device_id: String,
    pub access_code_id: Option<String>,
    pub extra: Map<String, Value>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct State {
    pub devices: Vec<SeamDevice>,
    pub codes: Vec<AccessCodeRecord>,
    pub events: Vec<SeamEvent>,
    pub webhooks: Vec<WebhookEndpoint>,
    pub deliveries: Vec<Delivery>,
    pub action_attempts: Vec<Value>,
    pub rate: RateLimiter,
    pub rate_limits: bool,
    pub knobs: DeliveryKnobs,
    pub faults: FaultQueue,
    /// Locks that relock themselves at a time (`lock.locked`, method `automatic`).
    pub relocks: Vec<(String, DateTime<Utc>)>,
    pub held_reports: Vec<HeldReport>,
    next_seq: u64,
}

impl State {
    pub fn new(devices: Vec<SeamDevice>, rate_limits: bool) -> Self {
        Self {
            devices,
            rate_limits,
            ..Self::default()
        }
    }

    /// A device Seam still knows.
    pub fn device(&self, device_id: &str) -> Result<&SeamDevice, SeamError> {
        self.devices
            .iter()
            .find(|d| d.device_id == device_id && !d.removed)
            .ok_or_else(|| SeamError::device_not_found(device_id))
    }

    pub fn device_mut(&mut self, device_id: &str) -> Result<&mut SeamDevice, SeamError> {
        self.devices
            .iter_mut()
            .find(|d| d.device_id == device_id && !d.removed)
            .ok_or_else(|| SeamError::device_not_found(device_id))
    }

    /// A live code's index.
    pub fn code_index(&self, access_code_id: &str) -> Result<usize, SeamError> {
        self.codes
            .iter()
            .position(|c| c.access_code_id == access_code_id && c.is_live())
            .ok_or_else(|| SeamError::access_code_not_found(access_code_id))
    }

    /// Records an event now and queues its deliveries.
    pub fn emit(
        &mut self,
        event_type: &str,
        device_id: Option<&str>,
        access_code_id: Option<&str>,
        extra: Map<String, Value>,
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let account = device_id
            .and_then(|id| self.devices.iter().find(|d| d.device_id == id))
            .map(|d| d.connected_account_id.clone());
        let event = SeamEvent::new(
            event_type,
            Subject {
                device_id,
                connected_account_id: account.as_deref(),
                access_code_id,
            },
            extra,
            occurred_at,
            now,
        );
        let planned = webhooks::plan(
            &event,
            &self.webhooks,
            &mut self.knobs,
            now,
            &mut self.next_seq,
        );
        self.deliveries.extend(planned);
        if self.knobs.reorder_batch > 0 && self.knobs.held_events >= self.knobs.reorder_batch {
            self.release_held(now);
        }
        self.events.push(event);
    }

    /// Sends the deliveries the reorder knob holds, last held first.
    pub fn release_held(&mut self, now: DateTime<Utc>) {
        webhooks::release_held(&mut self.deliveries, now, &mut self.next_seq);
        self.knobs.reorder_batch = 0;
        self.knobs.held_events = 0;
    }

    /// An event from the lock itself: reported now if the lock is online, else held until it
    /// reconnects.
    pub fn lock_reports(
        &mut self,
        event_type: &str,
        device_id: &str,
        access_code_id: Option<&str>,
        extra: Map<String, Value>,
        occurred_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) {
        let online = self.device(device_id).map(|d| d.online).unwrap_or(false);
        if online {
            self.emit(
                event_type,
                Some(device_id),
                access_code_id,
                extra,
                occurred_at,
                now,
            );
        } else {
            self.held_reports.push(HeldReport {
                event_type: event_type.to_owned(),
                device_id: device_id.to_owned(),
                access_code_id: access_code_id.map(str::to_owned),
                extra,
                occurred_at,
            });
        }
    }

    /// A lock back online reports what it held.
    pub fn flush_reports(&mut self, device_id: &str, now: DateTime<Utc>) {
        let (theirs, others): (Vec<HeldReport>, Vec<HeldReport>) =
            std::mem::take(&mut self.held_reports)
                .into_iter()
                .partition(|r| r.device_id == device_id);
        self.held_reports = others;
        for r in theirs {
            self.emit(
                &r.event_type,
                Some(&r.device_id),
                r.access_code_id.as_deref(),
                r.extra,
                r.occurred_at,
                now,
            );
        }
    }

    /// Records an action attempt (already finished) and returns its object.
    pub fn action_attempt(
        &mut self,
        action_type: &str,
        result: Value,
        error: Option<Value>,
    ) -> Value {
        let attempt = json!({
            "action_attempt_id": new_id(),
            "action_type": action_type,
            "status": if error.is_some() { "error" } else { "success" },
            "result": if error.is_some() { Value::Null } else { result },
            "error": error.unwrap_or(Value::Null),
        });
        self.action_attempts.push(attempt.clone());
        attempt
    }

    /// Whether the device has room for one more code on the lock.
    pub fn has_space(&self, device: &SeamDevice, except: &str) -> bool {
        let on_lock = self
            .codes
            .iter()
            .filter(|c| {
                c.device_id == device.device_id
                    && c.is_live()
                    && c.on_device
                    && c.access_code_id != except
            })
            .count();
        !device.full && on_lock < device.max_active_codes
    }
}

impl State {
    /// The lock goes offline or comes back (`device.disconnected` / `device.connected`); back
    /// online, it reports what it held and the lifecycle catches up.
    pub fn set_online(
        &mut self,
        device_id: &str,
        online: bool,
        now: DateTime<Utc>,
    ) -> Result<(), SeamError> {
        let device = self.device_mut(device_id)?;
        if device.online == online {
            return Ok(());
        }
        device.online = online;
        let event_type = if online {
            "device.connected"
        } else {
            "device.disconnected"
        };
        self.emit(event_type, Some(device_id), None, Map::new(), now, now);
        if online {
            self.flush_reports(device_id, now);
        }
        self.advance(now);
        Ok(())
    }

    /// `fill_device`: the lock has (or no longer has) no room for another code.
    pub fn set_full(
        &mut self,
        device_id: &str,
        full: bool,
        now: DateTime<Utc>,
    ) -> Result<(), SeamError> {
        self.device_mut(device_id)?.full = full;
        self.advance(now);
        Ok(())
    }

    /// `/devices/simulate/remove`: the device leaves Seam (`device.removed`), codes with it.
    pub fn remove_device(&mut self, device_id: &str, now: DateTime<Utc>) -> Result<(), SeamError> {
        self.device_mut(device_id)?.removed = true;
        self.emit(
            "device.removed",
            Some(device_id),
            None,
            Map::new(),
            now,
            now,
        );
        self.advance(now);
        Ok(())
    }
}
