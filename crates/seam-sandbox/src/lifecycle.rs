//! The clock-driven access-code lifecycle (S-LIFE, S-ACGUIDE; PROVIDERS.md §1.3, §4.4 items
//! 6–7), run before every call and on every `tick()`:
//!
//! - native scheduling (the brand supports it and `prefer_native_scheduling` is not false):
//!   `unset`; at `starts_at − 72 h` loaded on the lock (`is_scheduled_on_device`,
//!   `access_code.scheduled_on_device`); at `starts_at` `set` (`access_code.set_on_device`);
//! - just in time (other brands): at `starts_at − 60 min` `setting` then `set`
//!   (`access_code.set_on_device`); an ongoing code is set on the first pass after creation;
//! - at `ends_at`: `removing`, `access_code.removed_from_device`, then gone (404 on get);
//! - a lock offline when programming is due: `setting` (native: `unset` until `starts_at`),
//!   warning `delay_in_setting_on_device` and its event at once, then, after
//!   [`OFFLINE_FAILURE_AFTER`], error `failed_to_set_on_device` and its event (INF: Seam does
//!   not document the delay). The code is programmed when the lock reconnects;
//! - no room on the lock: error `no_space_for_access_code_on_device` and
//!   `access_code.failed_to_set_on_device`; programmed when room is made;
//! - a code breaking the lock's `code_constraints`: error `code_constraints_violated`, never
//!   programmed (Seam does not retry it);
//! - a delete (or an expiry of a just-in-time code) while the lock is offline: `removing`,
//!   error `failed_to_remove_from_device` and its event, until the lock reconnects.
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

use super::codes::{AccessCodeRecord, CodeStatus};
use super::state::State;

/// Native scheduling loads a code this far ahead of `starts_at` (S-LIFE).
pub const NATIVE_LEAD: TimeDelta = TimeDelta::hours(72);
/// Just-in-time programming starts this far ahead of `starts_at` (S-LIFE).
pub const JUST_IN_TIME_LEAD: TimeDelta = TimeDelta::minutes(60);
/// How long an offline lock delays a code before it is reported as failed (INF).
pub const OFFLINE_FAILURE_AFTER: TimeDelta = TimeDelta::minutes(10);

impl State {
    /// Moves every code, relock and held delivery batch to `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        for index in 0..self.codes.len() {
            if self.codes[index].is_live() {
                self.advance_code(index, now);
            }
        }
        self.run_relocks(now);
    }

    fn advance_code(&mut self, index: usize, now: DateTime<Utc>) {
        let code = self.codes[index].clone();
        let Ok(device) = self.device(&code.device_id).cloned() else {
            // The device was removed: its codes go with it.
            self.codes[index].removed_at = Some(now);
            return;
        };
        if code.delete_requested {
            self.try_remove(index, now, true, device.online);
            return;
        }
        if code.ends_at().is_some_and(|end| now >= end) {
            // A natively scheduled code expires on the lock by itself.
            let lock_expires_it = code.native_scheduling || code.is_offline_access_code;
            self.try_remove(index, now, false, device.online || lock_expires_it);
            return;
        }
        if !code.on_device {
            let due = if code.is_offline_access_code || code.window.is_none() {
                code.created_at
            } else if code.native_scheduling {
                code.starts_at().unwrap_or(code.created_at) - NATIVE_LEAD
            } else {
                code.starts_at().unwrap_or(code.created_at) - JUST_IN_TIME_LEAD
            };
            if now >= due {
                self.program(index, now, device.online);
            }
        }
        let code = &self.codes[index];
        if code.on_device && code.status != CodeStatus::Set && code.window_contains(now) {
            let (id, device_id, pin) = (
                code.access_code_id.clone(),
                code.device_id.clone(),
                code.code.clone(),
            );
            self.codes[index].status = CodeStatus::Set;
            self.emit(
                "access_code.set_on_device",
                Some(&device_id),
                Some(&id),
                fields(&[("code", json!(pin))]),
                now,
                now,
            );
        } else if !code.on_device
            && code.starts_at().is_some_and(|s| now >= s)
            && code.status == CodeStatus::Unset
            && !code.has_error("code_constraints_violated")
        {
            // Native: "If it could not be programmed by starts_at, status shows setting".
            self.codes[index].status = CodeStatus::Setting;
        }
    }

    /// Programming is due: put the code on the lock, or record why it cannot be.
    fn program(&mut self, index: usize, now: DateTime<Utc>, online: bool) {
        let code = self.codes[index].clone();
        let id = code.access_code_id.clone();
        let device_id = code.device_id.clone();
        let waiting_status = if code.native_scheduling && code.starts_at().is_some_and(|s| now < s)
        {
            CodeStatus::Unset
        } else {
            CodeStatus::Setting
        };
        if code.has_error("code_constraints_violated") {
            if code.first_failure_at.is_none() {
                self.codes[index].first_failure_at = Some(now);
                self.emit_failure("access_code.failed_to_set_on_device", index, now);
            }
            return;
        }
        if code.is_offline_access_code {
            // algoPIN: computed by the maker's server, valid on the lock without a connection.
            let c = &mut self.codes[index];
            if c.code.is_none() {
                c.code = Some(algopin());
            }
            c.on_device = true;
            c.is_scheduled_on_device = true;
            let pin = c.code.clone();
            self.emit(
                "access_code.scheduled_on_device",
                Some(&device_id),
                Some(&id),
                fields(&[("code", json!(pin))]),
                now,
                now,
            );
            return;
        }
        if !online {
            let c = &mut self.codes[index];
            c.status = waiting_status;
            let first = *c.first_failure_at.get_or_insert(now);
            if c.add_warning(
                "delay_in_setting_on_device",
                "Setting the code on the device is delayed: the device is offline",
                now,
            ) {
                self.emit_failure("access_code.delay_in_setting_on_device", index, now);
            }
            if now >= first + OFFLINE_FAILURE_AFTER
                && self.codes[index].add_error(
                    "failed_to_set_on_device",
                    "Failed to set the code on the device: the device is offline",
                    now,
                )
            {
                self.emit_failure("access_code.failed_to_set_on_device", index, now);
            }
            return;
        }
        let has_space = self
            .device(&device_id)
            .map(|d| self.has_space(d, &id))
            .unwrap_or(false);
        if !has_space {
            let c = &mut self.codes[index];
            c.status = waiting_status;
            c.first_failure_at.get_or_insert(now);
            if c.add_error(
                "no_space_for_access_code_on_device",
                "The device has no space for another access code",
                now,
            ) {
                self.emit_failure("access_code.failed_to_set_on_device", index, now);
            }
            return;
        }
        let c = &mut self.codes[index];
        for issue in [
            "delay_in_setting_on_device",
            "failed_to_set_on_device",
            "no_space_for_access_code_on_device",
        ] {
            c.clear_issue(issue);
        }
        c.first_failure_at = None;
        c.on_device = true;
        let pin = c.code.clone();
        if c.native_scheduling && c.starts_at().is_some_and(|s| now < s) {
            c.is_scheduled_on_device = true;
            c.status = CodeStatus::Unset;
            self.emit(
                "access_code.scheduled_on_device",
                Some(&device_id),
                Some(&id),
                fields(&[("code", json!(pin))]),
                now,
                now,
            );
        } else {
            // Just in time (or native past `starts_at`): active on the lock now; the keypad
            // still honours only the window.
            c.is_scheduled_on_device = c.native_scheduling && c.window.is_some();
            c.status = CodeStatus::Set;
            self.emit(
                "access_code.set_on_device",
                Some(&device_id),
                Some(&id),
                fields(&[("code", json!(pin))]),
                now,
                now,
            );
        }
    }

    /// Takes a code off the lock and out of Seam, or records that the lock cannot be reached.
    fn try_remove(&mut self, index: usize, now: DateTime<Utc>, deleted: bool, reachable: bool) {
        let code = self.codes[index].clone();
        let id = code.access_code_id.clone();
        let device_id = code.device_id.clone();
        if code.on_device && !reachable {
            let c = &mut self.codes[index];
            c.status = CodeStatus::Removing;
            if c.add_error(
                "failed_to_remove_from_device",
                "Failed to remove the code from the device: the device is offline",
                now,
            ) {
                self.emit_failure("access_code.failed_to_remove_from_device", index, now);
            }
            return;
        }
        let c = &mut self.codes[index];
        c.status = CodeStatus::Removing;
        c.removed_at = Some(now);
        let was_on_device = c.on_device;
        c.on_device = false;
        let pin = c.code.clone();
        if was_on_device {
            self.emit(
                "access_code.removed_from_device",
                Some(&device_id),
                Some(&id),
                Map::new(),
                now,
                now,
            );
        }
        if deleted {
            self.emit(
                "access_code.deleted",
                Some(&device_id),
                Some(&id),
                fields(&[("code", json!(pin))]),
                now,
                now,
            );
        }
    }

    /// A failure-type event with the issue arrays Seam puts on it (S-ACEV).
    fn emit_failure(&mut self, event_type: &str, index: usize, now: DateTime<Utc>) {
        let code = self.codes[index].to_json();
        let device_errors = self
            .device(&self.codes[index].device_id)
            .map(|d| d.to_json(now)["errors"].clone())
            .unwrap_or(json!([]));
        let id = self.codes[index].access_code_id.clone();
        let device_id = self.codes[index].device_id.clone();
        self.emit(
            event_type,
            Some(&device_id),
            Some(&id),
            fields(&[
                ("access_code_errors", code["errors"].clone()),
                ("access_code_warnings", code["warnings"].clone()),
                ("device_errors", device_errors),
                ("device_warnings", json!([])),
                ("connected_account_errors", json!([])),
                ("connected_account_warnings", json!([])),
            ]),
            now,
            now,
        );
    }

    fn run_relocks(&mut self, now: DateTime<Utc>) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.relocks)
            .into_iter()
            .partition(|(_, at)| *at <= now);
        self.relocks = later;
        for (device_id, at) in due {
            if let Ok(device) = self.device_mut(&device_id) {
                device.locked = true;
                self.lock_reports(
                    "lock.locked",
                    &device_id,
                    None,
                    fields(&[("method", json!("automatic"))]),
                    at,
                    now,
                );
            }
        }
    }

    /// Whether a live code on the device already uses `pin` for an overlapping window.
    pub fn duplicate_of(
        &self,
        device_id: &str,
        pin: &str,
        window: Option<(DateTime<Utc>, DateTime<Utc>)>,
        except: Option<&str>,
    ) -> bool {
        self.codes.iter().any(|c: &AccessCodeRecord| {
            c.is_live()
                && c.device_id == device_id
                && c.code.as_deref() == Some(pin)
                && Some(c.access_code_id.as_str()) != except
                && c.overlaps(window)
        })
    }
}

/// A small JSON object from pairs.
pub fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// An igloohome-style algoPIN: 9 digits.
fn algopin() -> String {
    let mut rng = rand::thread_rng();
    (0..9)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}
