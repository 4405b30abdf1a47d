//! Small wire helpers: Seam's time format and ids.
use chrono::{DateTime, SecondsFormat, Utc};

/// Seam writes times as ISO 8601 UTC with milliseconds: `2025-06-20T06:49:21.000Z`.
pub fn seam_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A fresh uuid, as Seam's ids are.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
