//! Fault injection: the next calls to a route fail as a struggling Seam would (5xx, 429),
//! before any work is done, so a client's retry path can be tested.
use serde::{Deserialize, Serialize};

/// The next `count` calls to `route` (a Seam path such as `/access_codes/create`, or `*`)
/// are answered `status` with Seam's error envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub route: String,
    pub status: u16,
    #[serde(default = "one")]
    pub count: u32,
    /// Seconds, sent as `Retry-After`.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

fn one() -> u32 {
    1
}

impl Fault {
    pub fn new(route: &str, status: u16) -> Self {
        Self {
            route: route.to_owned(),
            status,
            count: 1,
            retry_after: None,
        }
    }

    pub fn times(self, count: u32) -> Self {
        Self { count, ..self }
    }

    pub fn with_retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..self
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("count: must be at least 1".into());
        }
        if !(400..=599).contains(&self.status) {
            return Err("status: must be between 400 and 599".into());
        }
        if self.route != "*" && !self.route.starts_with('/') {
            return Err("route: a Seam path such as /access_codes/create, or *".into());
        }
        Ok(())
    }

    /// The envelope `type` for the status (INF).
    pub fn kind(&self) -> &'static str {
        match self.status {
            429 => "rate_limited",
            401 => "unauthorized",
            400..=499 => "invalid_input",
            503 => "service_unavailable",
            _ => "internal_server_error",
        }
    }
}

#[derive(Debug, Default)]
pub struct FaultQueue {
    pending: Vec<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.pending.push(fault);
        }
    }

    pub fn clear(&mut self) {
        self.pending.clear();
    }

    /// Uses up one call of the oldest fault for `route`.
    pub fn take(&mut self, route: &str) -> Option<Fault> {
        let index = self
            .pending
            .iter()
            .position(|f| f.route == route || f.route == "*")?;
        let fault = &mut self.pending[index];
        fault.count -= 1;
        let taken = Fault {
            count: 1,
            ..fault.clone()
        };
        if fault.count == 0 {
            self.pending.remove(index);
        }
        Some(taken)
    }
}
