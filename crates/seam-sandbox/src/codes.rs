//! Access codes as the emulator holds them (PROVIDERS.md §1.3), and their wire object.
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::devices::seeds;
use super::wire::seam_time;

/// `status` (SPEC `managed-access-code.ts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeStatus {
    Unset,
    Setting,
    Set,
    Removing,
    Unknown,
}

impl CodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unset => "unset",
            Self::Setting => "setting",
            Self::Set => "set",
            Self::Removing => "removing",
            Self::Unknown => "unknown",
        }
    }
}

/// One entry of a code's `errors` or `warnings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeIssue {
    /// `error_code` or `warning_code`.
    pub code: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

impl CodeIssue {
    pub fn new(code: &str, message: &str, at: DateTime<Utc>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
            created_at: at,
        }
    }

    fn to_json(&self, key: &str) -> Value {
        json!({
            key: self.code,
            "message": self.message,
            "created_at": seam_time(self.created_at),
            "is_access_code_error": key == "error_code",
        })
    }
}

/// An access code in the emulator, live or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessCodeRecord {
    pub access_code_id: String,
    pub device_id: String,
    pub name: Option<String>,
    /// The PIN; None while an offline code waits for its assignment.
    pub code: Option<String>,
    /// `starts_at`, `ends_at`; None for an `ongoing` code.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub status: CodeStatus,
    pub is_scheduled_on_device: bool,
    pub is_offline_access_code: bool,
    pub is_one_time_use: bool,
    /// Native scheduling (72 h ahead) rather than just in time (60 min ahead).
    pub native_scheduling: bool,
    pub errors: Vec<CodeIssue>,
    pub warnings: Vec<CodeIssue>,
    pub created_at: DateTime<Utc>,
    /// The code is programmed on the lock (scheduled or active).
    pub on_device: bool,
    /// When programming was first due and could not happen (offline, no space).
    pub first_failure_at: Option<DateTime<Utc>>,
    /// A delete was asked for and has not reached the lock yet.
    pub delete_requested: bool,
    /// Gone from Seam (expired or deleted): `get` answers 404.
    pub removed_at: Option<DateTime<Utc>>,
    /// A one-time code that was used.
    pub used: bool,
}

impl AccessCodeRecord {
    pub fn is_live(&self) -> bool {
        self.removed_at.is_none()
    }

    pub fn starts_at(&self) -> Option<DateTime<Utc>> {
        self.window.map(|w| w.0)
    }

    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.window.map(|w| w.1)
    }

    /// Whether `at` is inside the code's window (an ongoing code always is).
    pub fn window_contains(&self, at: DateTime<Utc>) -> bool {
        self.window.is_none_or(|(s, e)| s <= at && at < e)
    }

    /// Whether two codes' windows overlap (ongoing overlaps everything).
    pub fn overlaps(&self, window: Option<(DateTime<Utc>, DateTime<Utc>)>) -> bool {
        match (self.window, window) {
            (Some((s1, e1)), Some((s2, e2))) => s1 < e2 && s2 < e1,
            _ => true,
        }
    }

    pub fn has_error(&self, code: &str) -> bool {
        self.errors.iter().any(|e| e.code == code)
    }

    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }

    pub fn add_error(&mut self, code: &str, message: &str, at: DateTime<Utc>) -> bool {
        if self.has_error(code) {
            return false;
        }
        self.errors.push(CodeIssue::new(code, message, at));
        true
    }

    pub fn add_warning(&mut self, code: &str, message: &str, at: DateTime<Utc>) -> bool {
        if self.has_warning(code) {
            return false;
        }
        self.warnings.push(CodeIssue::new(code, message, at));
        true
    }

    pub fn clear_issue(&mut self, code: &str) {
        self.errors.retain(|e| e.code != code);
        self.warnings.retain(|w| w.code != code);
    }

    /// The access-code object (S-CREATE's shape).
    pub fn to_json(&self) -> Value {
        json!({
            "access_code_id": self.access_code_id,
            "device_id": self.device_id,
            "workspace_id": seeds::WORKSPACE,
            "name": self.name,
            "code": self.code,
            "type": if self.window.is_some() { "time_bound" } else { "ongoing" },
            "starts_at": self.starts_at().map(seam_time),
            "ends_at": self.ends_at().map(seam_time),
            "status": self.status.as_str(),
            "is_scheduled_on_device": self.is_scheduled_on_device,
            "is_managed": true,
            "is_offline_access_code": self.is_offline_access_code,
            "is_one_time_use": self.is_one_time_use,
            "is_backup": false,
            "is_backup_access_code_available": false,
            "is_external_modification_allowed": false,
            "is_waiting_for_code_assignment": self.code.is_none(),
            "pulled_backup_access_code_id": null,
            "common_code_key": null,
            "errors": self.errors.iter().map(|e| e.to_json("error_code")).collect::<Vec<_>>(),
            "warnings": self.warnings.iter().map(|w| w.to_json("warning_code")).collect::<Vec<_>>(),
            "pending_mutations": [],
            "created_at": seam_time(self.created_at),
        })
    }
}
