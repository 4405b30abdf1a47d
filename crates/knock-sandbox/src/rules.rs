//! Every answer and choice of the sandbox that Knock's documents do not pin down (API.md §11's
//! table and the INF notes it rests on), kept in one place so it can change when we learn how
//! Knock's stage really answers. Each item cites the part of API.md it follows. The answers
//! that differ per `Profile` are under "Answer profiles".
use actix_web::http::StatusCode;
use chrono::TimeDelta;
use serde_json::{json, Value};

use super::faults::FaultRoute;
use super::records::{AppointmentRecord, AppointmentStatus};
use super::{wire, Profile};

/// Why a Knock route refused a call. `status` and `body` are the sandbox's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Missing or unknown `x-api-key` (strict); missing key, or a key not allowed on the
    /// route (`gateway`).
    Forbidden,
    /// A key the gateway does not know (`gateway`).
    Unauthorized,
    /// Unknown route or method (strict).
    MissingAuthenticationToken,
    /// Unknown route or method (`gateway`).
    NoRoute,
    /// Body not JSON, a member of the wrong type, a missing or invalid field.
    InvalidField {
        field: String,
        reason: String,
    },
    /// A prospect id that is not all digits (on any route taking one).
    MalformedProspectId(String),
    /// A well-formed prospect id that names no prospect.
    UnknownProspect(String),
    UnknownCommunity(String),
    /// None of `requestedTimes` is currently an acceptable time for the tour type.
    NotBookable,
    /// `visitTime` later than the sandbox clock.
    FutureVisitTime,
    /// An appointment id that names no appointment (cancel, or a visit's `appointmentId`).
    UnknownAppointment(String),
    /// A visit's `appointmentId` names another prospect's appointment.
    ForeignAppointment {
        appointment_id: String,
        prospect_id: String,
    },
}

impl Rejection {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            // INF (API.md §1, §11): API Gateway rejects a missing/unknown key and an unknown
            // route with 403.
            Self::Forbidden | Self::MissingAuthenticationToken => StatusCode::FORBIDDEN,
            // INF (API.md §1, §12.3), `gateway` profile: see `key_refusal`, `unknown_route`.
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NoRoute => StatusCode::NOT_FOUND,
            // INF (API.md §11, §12.3): every validation and upstream failure is a 400; for an
            // unknown prospect 404 is also plausible, the table picks 400.
            Self::InvalidField { .. }
            | Self::MalformedProspectId(_)
            | Self::UnknownProspect(_)
            | Self::UnknownCommunity(_)
            | Self::NotBookable
            | Self::FutureVisitTime
            | Self::UnknownAppointment(_)
            | Self::ForeignAppointment { .. } => StatusCode::BAD_REQUEST,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            // INF (API.md §1): API Gateway's bodies use `message`, not `errorMessage`.
            Self::Forbidden => json!({ "message": "Forbidden" }),
            Self::Unauthorized => json!({ "message": "Unauthorized" }),
            Self::MissingAuthenticationToken => {
                json!({ "message": "Missing Authentication Token" })
            }
            Self::NoRoute => json!({ "message": "Not Found" }),
            // INF (API.md §11): "<field>: <reason>".
            Self::InvalidField { field, reason } => error_message(format!("{field}: {reason}")),
            // DOC (API.md §8.2, K-GP): exact text, `xxx` being the id as sent.
            Self::MalformedProspectId(id) => error_message(format!(
                "Id {id} is not a valid prospect id. Id must be a number."
            )),
            // DOC (API.md §8.2, K-GP): exact code and text, with the id.
            Self::UnknownProspect(id) => json!({
                "errorCode": "CORE_API_GET_PROSPECT_FAIL",
                "errorMessage": format!("Unable to get prospect upstream - Prospect_id {id} does not exist."),
            }),
            // INF (API.md §11): text invented.
            Self::UnknownCommunity(id) => error_message(format!("Community {id} does not exist.")),
            // INF (API.md §4 "Inferred behaviour", §11, §12.6): text invented.
            Self::NotBookable => error_message("requested time not bookable".to_owned()),
            // INF (API.md §7, §11): text invented, in the "<field>: <reason>" form.
            Self::FutureVisitTime => {
                error_message("visitTime: must not be in the future".to_owned())
            }
            // INF (API.md §5, §7, §11): text invented.
            Self::UnknownAppointment(id) => {
                error_message(format!("Appointment {id} does not exist."))
            }
            // INF (API.md §7): text invented.
            Self::ForeignAppointment {
                appointment_id,
                prospect_id,
            } => error_message(format!(
                "Appointment {appointment_id} does not belong to prospect {prospect_id}."
            )),
        }
    }
}

fn error_message(text: String) -> Value {
    json!({ "errorMessage": text })
}

// --- Answer profiles ---------------------------------------------------------------------------
//
// Where Knock's documents leave room, each `Profile` answers one plausible way. `strict` is the
// §11 table above and the recorded bodies below; the others differ only where listed here.

/// Refusing a call's key, before anything else is looked at (after the route).
/// strict: INF (API.md §1, §11): API Gateway's API-key check answers a missing or unknown key
/// alike, 403 `{"message":"Forbidden"}`.
/// gateway: INF (API.md §1 "behind AWS API Gateway", §12.3 "403 for auth (gateway)"; our client
/// treats 401 and 403 alike, README "Knock deliveries"): a gateway whose authorizer reads the
/// key tells a key it does not know (401 `{"message":"Unauthorized"}`, as an API Gateway
/// Lambda/Cognito authorizer answers) from no key at all (403 `{"message":"Forbidden"}`, as
/// its API-key check answers). An empty header counts as none.
pub fn key_refusal(profile: Profile, key: Option<&str>) -> Rejection {
    match (profile, key) {
        (Profile::Gateway, Some(key)) if !key.is_empty() => Rejection::Unauthorized,
        _ => Rejection::Forbidden,
    }
}

/// A route or method Knock does not have.
/// strict: INF (API.md §1, §6, §11): a REST API Gateway answers 403 `{"message":"Missing
/// Authentication Token"}` whether or not a key was sent.
/// gateway: INF (API.md §1: the gateway is itself an inference): an HTTP-API style gateway,
/// or anything else in front of Knock, answers 404 `{"message":"Not Found"}`. A client must
/// not read either as our key refused.
pub fn unknown_route(profile: Profile) -> Rejection {
    match profile {
        Profile::Gateway => Rejection::NoRoute,
        _ => Rejection::MissingAuthenticationToken,
    }
}

/// A call with a good key that the gateway still refuses, before Knock sees it.
/// gateway: INF (API.md §1 notes on keys: "production keys may be scoped per product", C-PYN
/// keeps a key per family; §8.3's feed is a different product from the writes): our key is
/// not allowed on `GET /prospect/{id}/events`: 403 `{"message":"Forbidden"}`. Every other
/// profile lets every good key through everywhere (API.md §12.4).
pub fn refused_for_scope(profile: Profile, route: FaultRoute) -> Option<Rejection> {
    (profile == Profile::Gateway && route == FaultRoute::ProspectEvents)
        .then_some(Rejection::Forbidden)
}

/// Whether the events feed lists an event of this type.
/// events-as-documented: DOC (API.md §8.3, K-EV): "Only `APPOINTMENT_CREATED` is a documented
/// type value"; the feed is said to hold messages too, but no other type is named, so this
/// Knock lists none: no WALK_IN visit, no cancellation, no message or confirmation events.
/// The events are still recorded (the snapshot and the HTML view show them). Every other
/// profile lists all.
pub fn lists_event(profile: Profile, event_type: &str) -> bool {
    profile != Profile::EventsAsDocumented || event_type == event_types::APPOINTMENT_CREATED
}

/// The 200 body to `POST /appointment/request`.
/// strict: INF (API.md §4 "Recommended shape", §12.2): `{"appointment":{"id","status",
/// "startTime","endTime","tourType","prospectId"}}`.
/// sparse: DOC (API.md §4: only `appointment.id` and `appointment.status` are evidenced; K-SGA
/// only says the answer carries the id): `{"appointment":{"id":"<id>"}}`, nothing else.
pub fn appointment_answer(profile: Profile, appointment: &AppointmentRecord) -> Value {
    match profile {
        Profile::Sparse => json!({ "appointment": { "id": appointment.id } }),
        _ => wire::appointment(appointment),
    }
}

/// The 200 body to `PUT /appointment/{id}/cancel`.
/// strict: CODE (API.md §5, C-PYN): `{"appointment":{"id","status":"CANCELLED",...}}`.
/// sparse: DOC (API.md §5: K-SGA documents no answer at all): `{}`.
pub fn cancel_answer(profile: Profile, appointment: &AppointmentRecord) -> Value {
    match profile {
        Profile::Sparse => json!({}),
        _ => wire::appointment(appointment),
    }
}

/// The 200 body to `POST /visit`.
/// strict: DOC (API.md §7): `{"visitId":"12345"}`.
/// sparse: INF (API.md §2: "200 for every documented success", examples branch on the status
/// alone, never on the body): `{}`.
pub fn visit_answer(profile: Profile, visit_id: &str) -> Value {
    match profile {
        Profile::Sparse => json!({}),
        _ => json!({ "visitId": visit_id }),
    }
}

/// The 200 body to `POST /prospect/{id}/email`.
/// strict: DOC (API.md §8.4): `{"communicationId":"4WXU6U2J-37444208"}`.
/// sparse: INF (as `visit_answer`): `{}`.
pub fn email_log_answer(profile: Profile, communication_id: &str) -> Value {
    match profile {
        Profile::Sparse => json!({}),
        _ => json!({ "communicationId": communication_id }),
    }
}

/// The body sent with an injected fault status. INF (API.md §12.15): API Gateway's own answers
/// for throttling and integration timeouts; anything else looks like a failing upstream.
pub fn fault_body(status: StatusCode) -> Value {
    match status.as_u16() {
        429 => json!({ "message": "Too Many Requests" }),
        504 => json!({ "message": "Endpoint request timed out" }),
        _ => error_message(format!(
            "{} (sandbox fault)",
            status.canonical_reason().unwrap_or("Error")
        )),
    }
}

/// Event types recorded on a prospect's timeline (GET /prospect/{id}/events).
pub mod event_types {
    /// DOC (API.md §8.3, K-EV).
    pub const APPOINTMENT_CREATED: &str = "APPOINTMENT_CREATED";
    /// DOC (API.md §8.3, K-EV): the description text of the example.
    pub const APPOINTMENT_CREATED_DESCRIPTION: &str = "A tour appointment was scheduled via knock";
    /// INF (API.md §8.3: other types exist, names undocumented): invented.
    pub const APPOINTMENT_CANCELLED: &str = "APPOINTMENT_CANCELLED";
    /// INF (API.md §4 "manually review requests", §8.3): invented; recorded when the office
    /// confirms a request it reviewed (`POST /_sandbox/appointments/{id}/confirm`).
    pub const APPOINTMENT_CONFIRMED: &str = "APPOINTMENT_CONFIRMED";
    /// INF (API.md §4 behaviour 1: Knock e-mails a confirmation): invented name.
    pub const CONFIRMATION_EMAIL_SENT: &str = "APPOINTMENT_CONFIRMATION_EMAIL_SENT";
    /// INF (API.md §4 behaviour 2: confirmation text on smsConsent): invented name.
    pub const CONFIRMATION_SMS_SENT: &str = "APPOINTMENT_CONFIRMATION_SMS_SENT";
    /// INF (API.md §4 behaviour 2: reminder text 2 h before): invented name.
    pub const REMINDER_SMS_SCHEDULED: &str = "APPOINTMENT_REMINDER_SMS_SCHEDULED";
    /// INF (API.md §7: "records a walk-in (visit) event"): invented name.
    pub const VISIT: &str = "WALK_IN";
    // A logged e-mail appears under its own `type` (EMAIL_MESSAGE_TO_PROSPECT_SENT, ...): INF
    // (API.md §8.4: logging is indistinguishable from an e-mail sent in Knock).
}

/// The status a new appointment gets. DOC (API.md §4 behaviour 1, K-ILS): Knock books at once
/// and answers `CONFIRMED`. INF (API.md §4 "Inferred behaviour", K-PREF): "communities that
/// manually review requests may leave the appointment un-confirmed (status other than
/// `CONFIRMED`, e.g. `PENDING`/`REQUESTED` — unverified)": at a community with
/// `reviews_requests` the sandbox answers `PENDING` (`"pending"` in the APPOINTMENT_CREATED
/// event, as the feed spells statuses in lower case, API.md §8.3), holds the slot as a
/// confirmed one does, sends the renter nothing yet, and waits for the office
/// (`Sandbox::office_confirms` / `office_declines`, or `POST /_sandbox/appointments/{id}/
/// confirm` / `decline`). Confirming records APPOINTMENT_CONFIRMED and sends the confirmation
/// messages; declining cancels (APPOINTMENT_CANCELLED), as an office turning a request down
/// frees its slot.
pub fn status_of_new_appointment(reviews_requests: bool) -> AppointmentStatus {
    if reviews_requests {
        AppointmentStatus::Pending
    } else {
        AppointmentStatus::Confirmed
    }
}

/// INF (API.md §8.3: the example's `data` has `startTime`, `endTime`, `status`, `tourType` and
/// no id): by default an APPOINTMENT_CREATED event does not name its appointment, as in Knock's
/// example. A Knock that adds `"appointmentId"` to the data is as plausible (its cancellation
/// and message events are invented with one); `SandboxConfig::events_name_appointment` turns
/// that on, so that a client reading the feed is tried against both.
pub const EVENTS_NAME_APPOINTMENT_BY_DEFAULT: bool = false;

/// DOC (API.md §4 behaviour 2): the reminder text goes out 2 hours before the tour.
pub const REMINDER_LEAD: TimeDelta = TimeDelta::hours(2);
/// INF (API.md §4 is silent): no reminder is scheduled when that moment has already passed.
pub const SKIP_PAST_REMINDERS: bool = true;

/// INF (API.md §8.3 documents `first` without a default): page size when `first` is absent.
pub const DEFAULT_EVENTS_PAGE: usize = 10;

/// INF (API.md §2: numeric string ids, e.g. "47569637", "2", "12345", "4WXU6U2J-37444208"):
/// where each id sequence starts.
pub const FIRST_PROSPECT_ID: u64 = 47_569_637;
pub const FIRST_APPOINTMENT_ID: u64 = 2;
pub const FIRST_VISIT_ID: u64 = 12_345;
pub const FIRST_COMMUNICATION_NUMBER: u64 = 37_444_208;

/// E-mails compared in any case (API.md §4 behaviour 4). ASCII addresses, nearly all, are
/// compared in place: lowercasing every prospect's address made a copy of each per booking.
pub fn same_email(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// INF (API.md §4 "Inferred behaviour": phones compared on digits): a leading US country code
/// is ignored, so "+1 206 555 0155" and "2065550155" are one prospect.
pub fn phone_match_key(digits: &str) -> &str {
    match digits.strip_prefix('1') {
        Some(national) if digits.len() == 11 => national,
        _ => digits,
    }
}

/// DOC (API.md §2: phones are read back in E.164, "+10551234567"); INF: ten digits are a US
/// number.
pub fn e164(digits: &str) -> String {
    if digits.len() == 10 {
        format!("+1{digits}")
    } else {
        format!("+{digits}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_error_texts_are_exact() {
        assert_eq!(
            Rejection::MalformedProspectId("abc".into()).body(),
            json!({"errorMessage": "Id abc is not a valid prospect id. Id must be a number."})
        );
        assert_eq!(
            Rejection::UnknownProspect("0".into()).body(),
            json!({"errorCode": "CORE_API_GET_PROSPECT_FAIL",
                   "errorMessage": "Unable to get prospect upstream - Prospect_id 0 does not exist."})
        );
    }

    #[test]
    fn a_us_country_code_does_not_split_a_prospect() {
        assert_eq!(phone_match_key("12065550155"), "2065550155");
        assert_eq!(phone_match_key("2065550155"), "2065550155");
        assert_eq!(phone_match_key("442071234567"), "442071234567");
        assert_eq!(e164("2065550155"), "+12065550155");
        assert_eq!(e164("12065550155"), "+12065550155");
    }
}
