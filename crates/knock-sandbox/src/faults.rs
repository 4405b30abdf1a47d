//! Fault injection: the next calls to a route fail the way a real network and a real Knock fail.
use std::time::Duration;

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use super::rules;

/// The Knock route a fault applies to (`*`: any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultRoute {
    AvailableTimes,
    ProspectCreate,
    ProspectGet,
    ProspectEvents,
    ProspectEmail,
    AppointmentRequest,
    AppointmentCancel,
    Visit,
    #[serde(rename = "*")]
    Any,
}

/// How the next `count` calls to `route` are answered. Exactly one of `status` (optionally
/// with `retry_after`) and `drop_connection`, or `latency_ms` alone; `latency_ms` may be
/// added to either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub route: FaultRoute,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub status: Option<u16>,
    /// Seconds, sent as a Retry-After header with `status`.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Answer 200 and break the connection mid-body: the client sees a transport error.
    #[serde(default)]
    pub drop_connection: bool,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// false: the call changes nothing. true: the work is done, then the fault is answered
    /// ("Knock recorded it but our call failed").
    #[serde(default)]
    pub after_effect: bool,
}

fn one() -> u32 {
    1
}

impl Fault {
    fn new(route: FaultRoute) -> Self {
        Self {
            route,
            count: 1,
            status: None,
            retry_after: None,
            drop_connection: false,
            latency_ms: None,
            after_effect: false,
        }
    }

    /// Answer `status` instead of the real answer.
    pub fn status(route: FaultRoute, status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::new(route)
        }
    }

    pub fn drop_connection(route: FaultRoute) -> Self {
        Self {
            drop_connection: true,
            ..Self::new(route)
        }
    }

    /// Only a delay before the real answer.
    pub fn latency(route: FaultRoute, ms: u64) -> Self {
        Self::new(route).with_latency(ms)
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

    pub fn with_latency(self, ms: u64) -> Self {
        Self {
            latency_ms: Some(ms),
            ..self
        }
    }

    pub fn after_effect(self) -> Self {
        Self {
            after_effect: true,
            ..self
        }
    }

    /// Refuses combinations that mean nothing (checked on the control endpoint).
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 {
            return Err("count: must be at least 1".into());
        }
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err("status: must be between 400 and 599".into());
            }
            if self.drop_connection {
                return Err("status: not with drop_connection".into());
            }
        } else if self.retry_after.is_some() {
            return Err("retry_after: only with status".into());
        }
        if self.status.is_none() && !self.drop_connection && self.latency_ms.is_none() {
            return Err("fault: needs status, drop_connection or latency_ms".into());
        }
        Ok(())
    }

    fn applies_to(&self, route: FaultRoute) -> bool {
        self.route == route || self.route == FaultRoute::Any
    }
}

/// Faults waiting for calls, oldest first.
#[derive(Debug, Default)]
pub(super) struct FaultQueue {
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

    pub fn pending(&self) -> Vec<Fault> {
        self.pending.clone()
    }

    /// Uses up one call of the oldest fault for `route`.
    pub fn take(&mut self, route: FaultRoute) -> Option<Fault> {
        let index = self.pending.iter().position(|f| f.applies_to(route))?;
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

/// Answers a call to a Knock route: `work` does the real thing and returns the real answer.
pub(super) async fn answer(
    fault: Option<Fault>,
    work: impl FnOnce() -> HttpResponse,
) -> HttpResponse {
    let Some(fault) = fault else {
        return work();
    };
    let delay = Duration::from_millis(fault.latency_ms.unwrap_or(0));
    // Ok: the work is done; Err: it is still to do.
    let real = if fault.after_effect {
        Ok(work())
    } else {
        Err(work)
    };
    // The delay is the fault being answered slowly, not a wait for anything.
    tokio::time::sleep(delay).await;
    if fault.drop_connection {
        return broken_answer();
    }
    if let Some(status) = fault.status {
        return status_answer(status, fault.retry_after);
    }
    real.unwrap_or_else(|work| work())
}

fn status_answer(status: u16, retry_after: Option<u64>) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status).json(rules::fault_body(status));
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A 200 whose body stream fails after its first bytes, so the connection dies mid-answer.
fn broken_answer() -> HttpResponse {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped",
        )),
    ];
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(futures_util::stream::iter(chunks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_serves_exactly_count_calls_of_its_route() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::status(FaultRoute::Visit, 503).times(2));
        assert!(queue.take(FaultRoute::ProspectGet).is_none());
        assert!(queue.take(FaultRoute::Visit).is_some());
        assert!(queue.take(FaultRoute::Visit).is_some());
        assert!(queue.take(FaultRoute::Visit).is_none());
    }

    #[test]
    fn a_wildcard_fault_serves_any_route() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::drop_connection(FaultRoute::Any));
        assert!(queue.take(FaultRoute::ProspectEmail).is_some());
        assert!(queue.pending().is_empty());
    }

    #[test]
    fn meaningless_faults_are_refused() {
        assert!(Fault::new(FaultRoute::Visit).validate().is_err());
        assert!(Fault::status(FaultRoute::Visit, 200).validate().is_err());
        assert!(Fault::status(FaultRoute::Visit, 503)
            .times(0)
            .validate()
            .is_err());
        assert!(Fault::latency(FaultRoute::Visit, 10)
            .with_retry_after(3)
            .validate()
            .is_err());
        assert!(Fault::status(FaultRoute::Visit, 429)
            .with_retry_after(3)
            .validate()
            .is_ok());
    }

    #[test]
    fn the_control_json_reads_into_a_fault() {
        let fault: Fault = serde_json::from_str(
            r#"{"route":"appointment_request","status":503,"retry_after":7,"after_effect":true}"#,
        )
        .expect("valid fault json");
        assert_eq!(
            fault,
            Fault::status(FaultRoute::AppointmentRequest, 503)
                .with_retry_after(7)
                .after_effect()
        );
        assert!(serde_json::from_str::<Fault>(r#"{"route":"nope","status":500}"#).is_err());
    }
}
