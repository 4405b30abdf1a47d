//! The door simulation (S-SIM; PROVIDERS.md §4.4 item 8): a PIN typed on the keypad opens the
//! lock when it matches a code that is on the lock and inside its window, and is refused
//! otherwise. The lock reports `lock.unlocked` (with `access_code_id` for brands Seam links
//! unlocks to codes for) or `lock.access_denied`; an offline lock reports it when it is back.
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde_json::json;

use super::errors::SeamError;
use super::lifecycle::fields;
use super::state::State;

/// What the lock did with a PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum KeypadOutcome {
    /// The door opened. `access_code_id` names the matched code, whether or not the brand puts
    /// it on the event (`attributed` says whether it did).
    Unlocked {
        access_code_id: String,
        attributed: bool,
    },
    /// Refused: `reason_code` is `unknown_code` or `expired_code`.
    Denied { reason_code: String },
}

impl State {
    pub fn keypad_entry(
        &mut self,
        device_id: &str,
        pin: &str,
        now: DateTime<Utc>,
    ) -> Result<KeypadOutcome, SeamError> {
        let device = self.device(device_id)?.clone();
        let attributed = device.brand.attributes_unlocks();
        let matched = self.codes.iter().position(|c| {
            c.is_live()
                && c.device_id == device_id
                && c.on_device
                && c.code.as_deref() == Some(pin)
                && c.window_contains(now)
                && !c.used
        });
        let outcome = match matched {
            Some(index) => {
                let code = &mut self.codes[index];
                let id = code.access_code_id.clone();
                if code.is_one_time_use {
                    code.used = true;
                }
                let mut extra = fields(&[("method", json!("keycode")), ("code", json!(pin))]);
                if attributed {
                    extra.insert("access_code_is_managed".into(), json!(true));
                }
                self.lock_reports(
                    "lock.unlocked",
                    device_id,
                    attributed.then_some(id.as_str()),
                    extra,
                    now,
                    now,
                );
                if let Ok(d) = self.device_mut(device_id) {
                    d.locked = false;
                    if let Some(secs) = d.auto_relock_seconds {
                        self.relocks
                            .push((device_id.to_owned(), now + TimeDelta::seconds(secs)));
                    }
                }
                KeypadOutcome::Unlocked {
                    access_code_id: id,
                    attributed,
                }
            }
            None => {
                let expired = self.codes.iter().find(|c| {
                    c.device_id == device_id
                        && c.code.as_deref() == Some(pin)
                        && (c.ends_at().is_some_and(|end| end <= now) || c.used)
                });
                let reason = if expired.is_some() {
                    "expired_code"
                } else {
                    "unknown_code"
                };
                let code_id = expired
                    .filter(|_| attributed)
                    .map(|c| c.access_code_id.clone());
                let message = if expired.is_some() {
                    "The code has expired"
                } else {
                    "The code is not known to the lock"
                };
                self.lock_reports(
                    "lock.access_denied",
                    device_id,
                    code_id.as_deref(),
                    fields(&[
                        ("method", json!("keycode")),
                        ("code", json!(pin)),
                        ("reason", json!({"reason_code": reason, "message": message})),
                    ]),
                    now,
                    now,
                );
                KeypadOutcome::Denied {
                    reason_code: reason.to_owned(),
                }
            }
        };
        Ok(outcome)
    }

    /// `manual_lock_via_keypad`: the lock is locked from its keypad.
    pub fn manual_lock(&mut self, device_id: &str, now: DateTime<Utc>) -> Result<(), SeamError> {
        self.device_mut(device_id)?.locked = true;
        self.relocks.retain(|(d, _)| d != device_id);
        self.lock_reports(
            "lock.locked",
            device_id,
            None,
            fields(&[("method", json!("manual"))]),
            now,
            now,
        );
        Ok(())
    }
}
