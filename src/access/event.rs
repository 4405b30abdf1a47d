//! Normalized access events (PROVIDERS.md §4.3): what every provider's inbound reports are
//! turned into before the tour sees them.
use chrono::{DateTime, Utc};

use super::AccessCode;

/// One provider event: its id (the same in a webhook and in the provider's log, so either
/// path dedupes against the other), when it happened, and what it says.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    pub id: String,
    pub occurred_at: DateTime<Utc>,
    pub event: AccessEvent,
}

/// How a door was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryMethod {
    /// A PIN at the keypad.
    Keycode,
    /// Anything else (inside handle, app, card, auto).
    Other,
}

#[derive(Debug, Clone)]
pub enum AccessEvent {
    /// On the lock ahead of the window: safe to send.
    GrantScheduled { grant: String },
    /// On the lock.
    GrantActive { grant: String },
    /// Slow to set (still being tried).
    GrantDelayed { grant: String, detail: String },
    /// Could not be set.
    GrantFailed { grant: String, reason: String },
    /// Gone from the lock (expiry or delete).
    GrantRemoved { grant: String },
    /// The removal did not reach the lock.
    RevokeFailed { grant: String, reason: String },
    /// The door opened.
    Entry {
        lock: String,
        grant: Option<String>,
        code: Option<AccessCode>,
        method: EntryMethod,
    },
    /// A code was refused at the door.
    Denied {
        lock: String,
        reason: Option<String>,
    },
    /// Nothing Tourgate acts on (device health, edits, ...).
    Ignored { kind: String },
}

impl AccessEvent {
    /// A short name for logs and the dedupe record (never a code).
    pub fn name(&self) -> &str {
        match self {
            Self::GrantScheduled { .. } => "grant.scheduled",
            Self::GrantActive { .. } => "grant.active",
            Self::GrantDelayed { .. } => "grant.delayed",
            Self::GrantFailed { .. } => "grant.failed",
            Self::GrantRemoved { .. } => "grant.removed",
            Self::RevokeFailed { .. } => "grant.revoke_failed",
            Self::Entry { .. } => "entry",
            Self::Denied { .. } => "denied",
            Self::Ignored { kind } => kind,
        }
    }
}
