//! Knock wire types (API.md). Requests are written strictly with Knock's camelCase names;
//! responses are read tolerantly: unknown members ignored, nullable members `Option`, ids
//! accepted as JSON strings or numbers.
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::domain::Bedrooms;

// ---------------------------------------------------------------------------------------------
// Ids

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {value:?} is not valid: {reason}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub reason: &'static str,
}

macro_rules! knock_id {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                let check: fn(&str) -> Result<(), &'static str> = $check;
                match check(&value) {
                    Ok(()) => Ok(Self(value)),
                    Err(reason) => Err(InvalidId { kind: stringify!($name), value, reason }),
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = StringOrNumber::deserialize(d)?.into_string();
                Self::parse(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

knock_id!(
    /// A Knock prospect id: a numeric string (`"47569637"`; K-GP: digits only).
    ProspectId,
    |s| {
        if s.is_empty() {
            Err("empty")
        } else if !s.bytes().all(|b| b.is_ascii_digit()) {
            Err("must be digits only")
        } else {
            Ok(())
        }
    }
);
knock_id!(
    /// A Knock appointment id (`"2"`).
    AppointmentId,
    opaque_id
);
knock_id!(
    /// A Knock visit id (`"12345"`).
    VisitId,
    opaque_id
);
knock_id!(
    /// The id of a logged communication (`"4WXU6U2J-37444208"`).
    CommunicationId,
    opaque_id
);

/// Knock's other ids have no documented format; refuse only what cannot be an id.
fn opaque_id(s: &str) -> Result<(), &'static str> {
    if s.trim().is_empty() {
        Err("empty")
    } else if s.chars().any(char::is_control) {
        Err("contains control characters")
    } else {
        Ok(())
    }
}

/// Knock documents ids as strings, but a numeric id would be a cheap change on their side.
#[derive(Deserialize)]
#[serde(untagged)]
enum StringOrNumber {
    String(String),
    Unsigned(u64),
    Signed(i64),
}

impl StringOrNumber {
    fn into_string(self) -> String {
        match self {
            Self::String(s) => s,
            Self::Unsigned(n) => n.to_string(),
            Self::Signed(n) => n.to_string(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Date-time writing: always RFC 3339 with an explicit offset.

/// Keeps the offset Knock gave us (`"2020-09-23T15:30:00-07:00"`), so a requested start is
/// sent back exactly as it was offered.
mod rfc3339_fixed {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<FixedOffset>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// Instants we report (visit, e-mail) in Knock's example form: `"2020-03-31T23:22:06.214Z"`.
mod rfc3339_utc_millis {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

/// Reads `null` as the type's default, for flags Knock documents as always present.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Shared members

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    pub username: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Source {
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TourType {
    #[serde(rename = "SELF_GUIDED")]
    SelfGuided,
    #[serde(rename = "IN_PERSON")]
    InPerson,
}

// ---------------------------------------------------------------------------------------------
// Requests

/// `POST /prospect` (API.md §8.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProspectRequest {
    pub community_id: String,
    pub source_title: String,
    pub first_name: String,
    pub last_name: String,
    /// Knock needs at least one of e-mail and phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Digits only, as in Knock's examples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bedrooms: Option<Vec<Bedrooms>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupants: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_term_months: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether Knock e-mails the prospect its own auto-reply with a scheduling link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autorespond: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_consent: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_consent_disclaimer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_consent_url: Option<String>,
    /// Assigns the leasing agent (the key needs that permission, K-AGT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
}

/// One wanted slot. `start_time` must be one of the `acceptableTimes` exactly as offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestedTime {
    #[serde(with = "rfc3339_fixed")]
    pub start_time: DateTime<FixedOffset>,
    /// Honoured for `SELF_GUIDED` (K-SGA).
    #[serde(
        serialize_with = "rfc3339_fixed::option::serialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_time: Option<DateTime<FixedOffset>>,
}

/// The prospect inside an appointment request.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub first_name: String,
    pub last_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bedrooms: Option<Vec<Bedrooms>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupants: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_term_months: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_budget: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_budget: Option<u32>,
}

/// `POST /appointment/request` (API.md §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentRequest {
    pub community_id: String,
    pub requested_times: Vec<RequestedTime>,
    pub tour_type: TourType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_title: Option<String>,
    pub sms_consent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_consent_disclaimer: Option<String>,
    pub profile: Profile,
}

/// `POST /visit` (API.md §7). Knock has no idempotency key: never post a delivered visit again.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitRequest {
    pub prospect_id: ProspectId,
    /// When the prospect was there; Knock refuses a time in its future.
    #[serde(with = "rfc3339_utc_millis")]
    pub visit_time: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<AppointmentId>,
    pub is_self_guided: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_title: Option<String>,
    /// Matched by Knock ignoring case and spaces; unknown names are dropped there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unit_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailLogType {
    /// Agent or contracted representative → prospect.
    #[serde(rename = "EMAIL_MESSAGE_TO_PROSPECT_SENT")]
    ToProspectSent,
    /// Prospect → property.
    #[serde(rename = "EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED")]
    FromProspectReceived,
    /// Automated e-mail to the prospect.
    #[serde(rename = "EMAIL_AUTOMATED_MESSAGE_SENT")]
    AutomatedSent,
}

/// `POST /prospect/{id}/email` (API.md §8.4): logs an e-mail, sends nothing. All required.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailLog {
    #[serde(rename = "type")]
    pub kind: EmailLogType,
    #[serde(with = "rfc3339_utc_millis")]
    pub sent_time: DateTime<Utc>,
    pub agent: Agent,
    pub subject: String,
    pub body: String,
}

// ---------------------------------------------------------------------------------------------
// Responses

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppointmentStatus {
    Confirmed,
    Cancelled,
    /// Anything else (e.g. a community that reviews requests by hand), kept verbatim.
    Other(String),
}

impl AppointmentStatus {
    pub fn parse(s: &str) -> Self {
        // Appointment routes say "CONFIRMED", events say "confirmed" (API.md §8.3).
        if s.eq_ignore_ascii_case("CONFIRMED") {
            Self::Confirmed
        } else if s.eq_ignore_ascii_case("CANCELLED") || s.eq_ignore_ascii_case("CANCELED") {
            Self::Cancelled
        } else {
            Self::Other(s.to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AppointmentStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// An appointment as Knock answers for request and cancel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub status: AppointmentStatus,
    pub start_time: Option<DateTime<FixedOffset>>,
    pub end_time: Option<DateTime<FixedOffset>>,
    /// Kept as text: Knock may have tour types we do not book (video).
    pub tour_type: Option<String>,
    pub prospect_id: Option<ProspectId>,
}

// ---------------------------------------------------------------------------------------------
// Best-effort readers for the answers to writes that cannot be repeated safely (appointment
// request, cancel, visit, e-mail log). Knock shows those answers only as "Success, e.g. ...",
// so the answer is read from raw JSON: the one member we cannot do without is an appointment
// request's appointment id; anything else in an unexpected shape is dropped and reported back
// as an oddity (the client logs it at warn), never a failure of a call Knock carried out.

/// The longest piece of a value quoted in an oddity.
const ODD_QUOTE: usize = 60;

fn quote(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(ODD_QUOTE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// An id as Knock might send it: a string, or a whole number.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// `obj[key]` unless absent or `null`.
fn member<'a>(obj: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    obj.and_then(|o| o.get(key)).filter(|v| !v.is_null())
}

/// The first of `keys` (each `(object, member, name for logs)`) that holds a valid id.
fn first_id<I>(
    keys: &[(Option<&Value>, &str, &str)],
    parse: fn(String) -> Result<I, InvalidId>,
    odd: &mut Vec<String>,
) -> Option<I> {
    for (obj, key, name) in keys {
        let Some(v) = member(*obj, key) else {
            continue;
        };
        match id_text(v).map(parse) {
            Some(Ok(id)) => return Some(id),
            Some(Err(e)) => odd.push(format!("{name}: {e}")),
            None => odd.push(format!(
                "{name}: {} is neither a string nor a whole number",
                quote(v)
            )),
        }
    }
    None
}

fn read_string(v: Option<&Value>, name: &str, odd: &mut Vec<String>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        other => {
            odd.push(format!("{name}: {} is not a string", quote(other)));
            None
        }
    }
}

fn read_time(
    v: Option<&Value>,
    name: &str,
    odd: &mut Vec<String>,
) -> Option<DateTime<FixedOffset>> {
    let v = v?;
    match v.as_str().map(DateTime::parse_from_rfc3339) {
        Some(Ok(t)) => Some(t),
        _ => {
            odd.push(format!(
                "{name}: {} is not a date-time with an offset",
                quote(v)
            ));
            None
        }
    }
}

/// Reads an appointment answer (request or cancel). The id is taken from `appointment.id`,
/// else `appointment.appointmentId`, else a top-level `appointmentId`, else a top-level `id`
/// (string or number; API.md §4, §12.2); without one it is `Err`. The other members are
/// read nested first, then top-level, each on its own; an odd one is left out and described
/// in the returned oddities. A 2xx that names no (readable) status means what was asked.
pub(crate) fn read_appointment(
    body: &Value,
    implied: AppointmentStatus,
) -> Result<(Appointment, Vec<String>), String> {
    let mut odd = Vec::new();
    if !body.is_object() {
        return Err(format!("the answer is not a JSON object: {}", quote(body)));
    }
    let nested = match member(Some(body), "appointment") {
        Some(v @ Value::Object(_)) => Some(v),
        Some(other) => {
            odd.push(format!("appointment: {} is not an object", quote(other)));
            None
        }
        None => None,
    };
    let top = Some(body);
    let id = first_id(
        &[
            (nested, "id", "appointment.id"),
            (nested, "appointmentId", "appointment.appointmentId"),
            (top, "appointmentId", "appointmentId"),
            (top, "id", "id"),
        ],
        AppointmentId::parse,
        &mut odd,
    )
    .ok_or_else(|| {
        let mut why = "no appointment.id, appointmentId or id in the answer".to_owned();
        if !odd.is_empty() {
            why.push_str(&format!(" ({})", odd.join("; ")));
        }
        why
    })?;
    let get = |key: &str| member(nested, key).or_else(|| member(top, key));
    let status = match get("status") {
        None => implied,
        Some(Value::String(s)) => AppointmentStatus::parse(s),
        Some(other) => {
            odd.push(format!(
                "status: {} is not a string; taken as {implied}",
                quote(other)
            ));
            implied
        }
    };
    let start_time = read_time(get("startTime"), "startTime", &mut odd);
    let end_time = read_time(get("endTime"), "endTime", &mut odd);
    let tour_type = read_string(get("tourType"), "tourType", &mut odd);
    let prospect_id = first_id(
        &[
            (nested, "prospectId", "appointment.prospectId"),
            (top, "prospectId", "prospectId"),
        ],
        ProspectId::parse,
        &mut odd,
    );
    Ok((
        Appointment {
            id,
            status,
            start_time,
            end_time,
            tour_type,
            prospect_id,
        },
        odd,
    ))
}

/// What a cancel's 2xx said, as far as it could be read: Knock documents no shape for it
/// (API.md §5), so any 2xx means done and these members are only for the record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelAnswer {
    pub appointment_id: Option<AppointmentId>,
    pub status: Option<AppointmentStatus>,
}

/// Reads a cancel's 2xx body (possibly empty or not JSON) best-effort.
pub(crate) fn read_cancel_answer(body: &[u8]) -> (CancelAnswer, Vec<String>) {
    let mut odd = Vec::new();
    let Some(value) = json_or_note(body, &mut odd) else {
        return (CancelAnswer::default(), odd);
    };
    let appointment_id = match read_appointment(&value, AppointmentStatus::Cancelled) {
        Ok((a, more)) => {
            odd.extend(more);
            Some(a.id)
        }
        Err(why) => {
            odd.push(why);
            None
        }
    };
    // Only a status the answer names (read_appointment would imply one).
    let status = member(member(Some(&value), "appointment"), "status")
        .or_else(|| member(Some(&value), "status"))
        .and_then(Value::as_str)
        .map(AppointmentStatus::parse);
    (
        CancelAnswer {
            appointment_id,
            status,
        },
        odd,
    )
}

/// An empty body is a plain "done"; anything else that is not JSON is noted.
fn json_or_note(body: &[u8], odd: &mut Vec<String>) -> Option<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice(body) {
        Ok(v) => Some(v),
        Err(e) => {
            odd.push(format!("the answer is not JSON ({e})"));
            None
        }
    }
}

/// Reads a visit's 2xx body: `visitId` (API.md §7), else `id`, when there is one.
pub(crate) fn read_visit_answer(body: &[u8]) -> (Option<VisitId>, Vec<String>) {
    read_optional_id(body, "visitId", VisitId::parse)
}

/// Reads an e-mail log's 2xx body: `communicationId` (API.md §8.4), else `id`.
pub(crate) fn read_email_answer(body: &[u8]) -> (Option<CommunicationId>, Vec<String>) {
    read_optional_id(body, "communicationId", CommunicationId::parse)
}

fn read_optional_id<I>(
    body: &[u8],
    key: &str,
    parse: fn(String) -> Result<I, InvalidId>,
) -> (Option<I>, Vec<String>) {
    let mut odd = Vec::new();
    let Some(value) = json_or_note(body, &mut odd) else {
        return (None, odd);
    };
    let top = Some(&value).filter(|v| v.is_object());
    let id = first_id(&[(top, key, key), (top, "id", "id")], parse, &mut odd);
    if id.is_none() && odd.is_empty() {
        odd.push(format!("no {key} in the answer: {}", quote(&value)));
    }
    (id, odd)
}

/// `GET /prospect/{id}` (API.md §8.2, K-GP), every published member.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Prospect {
    pub prospect_id: ProspectId,
    pub community_id: String,
    #[serde(default)]
    pub email: Option<String>,
    /// E.164 on the way back (`"+10551234567"`).
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub agent: Option<Agent>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub move_date: Option<NaiveDate>,
    /// Kept as text: Knock has accepted spellings beyond our enum (`"1_BEDROOMS"`, §10).
    #[serde(default)]
    pub bedrooms: Option<Vec<String>>,
    /// Shape undocumented.
    #[serde(default)]
    pub pets: Option<serde_json::Value>,
    #[serde(default)]
    pub occupants: Option<i64>,
    #[serde(default)]
    pub lease_term_months: Option<i64>,
    #[serde(default)]
    pub min_budget: Option<i64>,
    #[serde(default)]
    pub max_budget: Option<i64>,
    #[serde(default)]
    pub sms_consent: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_deleted: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub not_prospect: bool,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub first_contact_type: Option<String>,
    /// `"new"`, `"open"`, … (lower case, mostly undocumented).
    #[serde(default)]
    pub status: Option<String>,
}

impl Prospect {
    /// The bedrooms that are in our enum; other spellings are dropped.
    pub fn known_bedrooms(&self) -> Vec<Bedrooms> {
        self.bedrooms
            .iter()
            .flatten()
            .filter_map(|b| Bedrooms::parse(b))
            .collect()
    }
}

/// One entry of `GET /prospect/{id}/events` (API.md §8.3).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProspectEvent {
    /// `APPOINTMENT_CREATED`; other names exist but are undocumented.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_time: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub created_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub agent: Option<Agent>,
    /// Type-specific; see [`ProspectEvent::appointment`].
    #[serde(default)]
    pub data: serde_json::Value,
}

/// The `data` of an `APPOINTMENT_CREATED` event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAppointment {
    #[serde(default)]
    pub start_time: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub end_time: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    pub status: Option<AppointmentStatus>,
    #[serde(default)]
    pub tour_type: Option<String>,
}

impl ProspectEvent {
    pub fn appointment(&self) -> Option<EventAppointment> {
        if self.kind.as_deref() != Some("APPOINTMENT_CREATED") {
            return None;
        }
        serde_json::from_value(self.data.clone()).ok()
    }
}

/// One page of events; pass `end_cursor` as `after` while `has_next_page`. Read from raw
/// JSON: `edges` must be there (else the answer is not an events page), each node is read on
/// its own and member by member, and a node that is not an object is skipped and counted.
#[derive(Debug, Clone, PartialEq)]
pub struct EventsPage {
    pub events: Vec<ProspectEvent>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
    /// Edges or nodes that could not be read as events (not objects), left out.
    pub skipped: usize,
}

impl EventsPage {
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let edges = match value.get("edges") {
            None => return Err("no edges in the answer: not an events page".into()),
            Some(Value::Null) => &[][..],
            Some(Value::Array(edges)) => edges.as_slice(),
            Some(other) => return Err(format!("edges: {} is not a list", quote(other))),
        };
        let mut events = Vec::new();
        let mut skipped = 0;
        for edge in edges {
            match edge {
                Value::Null => {}
                Value::Object(_) => match member(Some(edge), "node") {
                    None => {}
                    Some(node) => match ProspectEvent::from_value(node) {
                        Some(event) => events.push(event),
                        None => skipped += 1,
                    },
                },
                _ => skipped += 1,
            }
        }
        let page_info = member(Some(value), "pageInfo");
        let end_cursor = member(page_info, "endCursor").and_then(id_text);
        let has_next_page = member(page_info, "hasNextPage")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Self {
            events,
            end_cursor,
            has_next_page,
            skipped,
        })
    }
}

impl<'de> Deserialize<'de> for EventsPage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(&Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl ProspectEvent {
    /// An event from a node, member by member: a member of an unexpected shape is `None`.
    /// `None` only when the node is not an object.
    pub fn from_value(node: &Value) -> Option<Self> {
        if !node.is_object() {
            return None;
        }
        let text = |key: &str| {
            member(Some(node), key)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let time = |key: &str| {
            member(Some(node), key)
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        };
        let source = member(Some(node), "source")
            .filter(|s| s.is_object())
            .map(|s| Source {
                title: member(Some(s), "title")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            });
        let agent = member(Some(node), "agent")
            .and_then(|a| member(Some(a), "username"))
            .and_then(Value::as_str)
            .map(|username| Agent {
                username: username.to_owned(),
            });
        Some(Self {
            kind: text("type"),
            description: text("description"),
            event_time: time("eventTime"),
            created_at: time("createdAt"),
            source,
            agent,
            data: node.get("data").cloned().unwrap_or(Value::Null),
        })
    }
}

/// `{"acceptableTimes": [...]}` (API.md §3): starts in the community's own offset, kept as is.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AvailableTimesResponse {
    pub(crate) acceptable_times: Vec<DateTime<FixedOffset>>,
}

/// `{"id": "123"}` (API.md §8.1).
#[derive(Debug, Deserialize)]
pub(crate) struct ProspectCreated {
    pub(crate) id: ProspectId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn fixed(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("test time")
    }

    fn appointment(body: serde_json::Value, implied: AppointmentStatus) -> Appointment {
        read_appointment(&body, implied).expect("has an id").0
    }

    /// The appointment and the oddities noted on the way.
    fn appointment_and_odd(body: serde_json::Value) -> (Appointment, Vec<String>) {
        read_appointment(&body, AppointmentStatus::Confirmed).expect("has an id")
    }

    #[test]
    fn prospect_id_accepts_digits_only() {
        assert_eq!(
            ProspectId::parse("47569637").map(|p| p.to_string()),
            Ok("47569637".into())
        );
        for bad in ["", "12a", " 12", "1 2", "-1", "１２"] {
            assert!(ProspectId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn opaque_ids_refuse_only_empty_or_control_characters() {
        assert!(AppointmentId::parse("2").is_ok());
        assert!(CommunicationId::parse("4WXU6U2J-37444208").is_ok());
        assert!(VisitId::parse("   ").is_err());
        assert!(AppointmentId::parse("a\nb").is_err());
    }

    #[test]
    fn ids_read_from_strings_or_numbers_and_write_as_strings() {
        let id: ProspectId = serde_json::from_value(json!(47569637)).expect("number");
        assert_eq!(id.as_str(), "47569637");
        let id: VisitId = serde_json::from_value(json!("12345")).expect("string");
        assert_eq!(serde_json::to_value(&id).expect("ser"), json!("12345"));
        assert!(serde_json::from_value::<ProspectId>(json!("abc")).is_err());
        assert!(serde_json::from_value::<ProspectId>(json!(-3)).is_err());
        assert!(serde_json::from_value::<AppointmentId>(json!(true)).is_err());
    }

    #[test]
    fn appointment_is_read_from_the_nested_shape() {
        let got = appointment(
            json!({"appointment": {"id": "2", "status": "CONFIRMED",
                "startTime": "2020-09-23T22:30:00+00:00", "endTime": "2020-09-23T23:00:00+00:00",
                "tourType": "SELF_GUIDED", "prospectId": "47569637", "somethingNew": [1]}}),
            AppointmentStatus::Other("unused".into()),
        );
        assert_eq!(got.id.as_str(), "2");
        assert_eq!(got.status, AppointmentStatus::Confirmed);
        assert_eq!(got.start_time, Some(fixed("2020-09-23T22:30:00+00:00")));
        assert_eq!(got.end_time, Some(fixed("2020-09-23T23:00:00+00:00")));
        assert_eq!(got.tour_type.as_deref(), Some("SELF_GUIDED"));
        assert_eq!(
            got.prospect_id.map(|p| p.to_string()),
            Some("47569637".into())
        );
    }

    #[test]
    fn appointment_is_read_from_a_top_level_appointment_id() {
        let got = appointment(json!({"appointmentId": 17}), AppointmentStatus::Confirmed);
        assert_eq!(got.id.as_str(), "17");
        assert_eq!(got.status, AppointmentStatus::Confirmed);
        assert_eq!(got.start_time, None);
    }

    #[test]
    fn appointment_with_numeric_id_nulls_and_other_status_is_read() {
        let got = appointment(
            json!({"appointment": {"id": 2, "status": "PENDING", "startTime": null,
                "endTime": null, "tourType": null, "prospectId": null}}),
            AppointmentStatus::Confirmed,
        );
        assert_eq!(got.id.as_str(), "2");
        assert_eq!(got.status, AppointmentStatus::Other("PENDING".into()));
        assert_eq!(got.tour_type, None);
    }

    #[test]
    fn appointment_status_is_case_insensitive() {
        assert_eq!(
            AppointmentStatus::parse("cancelled"),
            AppointmentStatus::Cancelled
        );
        assert_eq!(
            AppointmentStatus::parse("confirmed"),
            AppointmentStatus::Confirmed
        );
    }

    #[test]
    fn appointment_without_any_usable_id_is_refused() {
        for body in [
            json!({}),
            json!({"appointment": {"status": "CONFIRMED"}}),
            json!({"appointment": null}),
            json!({"appointment": {"id": true}, "id": ""}),
            json!({"appointment": {"id": 2.5}}),
            json!([{"id": 7}]),
            json!("7"),
            json!(null),
        ] {
            assert!(
                read_appointment(&body, AppointmentStatus::Confirmed).is_err(),
                "{body}"
            );
        }
    }

    #[test]
    fn the_appointment_id_is_found_in_every_plausible_place() {
        for (body, want) in [
            (json!({"appointment": {"id": 7}}), "7"),
            (json!({"appointment": {"id": "7"}}), "7"),
            (json!({"appointment": {"appointmentId": "8"}}), "8"),
            (json!({"appointmentId": "7"}), "7"),
            (json!({"appointmentId": 7}), "7"),
            (json!({"id": 7}), "7"),
            (json!({"id": "A-7"}), "A-7"),
            // Nested first, then appointmentId, then a bare id.
            (
                json!({"appointment": {"id": 1}, "appointmentId": 2, "id": 3}),
                "1",
            ),
            (json!({"appointmentId": 2, "id": 3}), "2"),
            // An unusable candidate falls through to the next one.
            (json!({"appointment": {"id": ""}, "id": 9}), "9"),
            (json!({"appointment": "9", "appointmentId": 4}), "4"),
        ] {
            let (got, _) = appointment_and_odd(body.clone());
            assert_eq!(got.id.as_str(), want, "{body}");
        }
    }

    #[test]
    fn a_bare_id_answer_reads_with_the_implied_status_and_nothing_odd() {
        let (got, odd) = appointment_and_odd(json!({"id": 7}));
        assert_eq!(got.status, AppointmentStatus::Confirmed);
        assert_eq!(
            (got.start_time, got.end_time, got.prospect_id),
            (None, None, None)
        );
        assert!(odd.is_empty(), "{odd:?}");
        let got = appointment(json!({"id": 7}), AppointmentStatus::Cancelled);
        assert_eq!(got.status, AppointmentStatus::Cancelled);
    }

    #[test]
    fn odd_optional_members_are_dropped_one_by_one_and_reported() {
        let (got, odd) = appointment_and_odd(json!({"appointment": {
            "id": "2",
            "status": 1,
            "startTime": "2020-09-23T15:30:00",
            "endTime": "2020-09-23T23:00:00+00:00",
            "tourType": {"kind": "SELF_GUIDED"},
            "prospectId": "P-47569637",
        }}));
        assert_eq!(got.id.as_str(), "2");
        assert_eq!(got.status, AppointmentStatus::Confirmed, "numeric: implied");
        assert_eq!(got.start_time, None, "no offset: not guessed");
        assert_eq!(got.end_time, Some(fixed("2020-09-23T23:00:00+00:00")));
        assert_eq!(got.tour_type, None);
        assert_eq!(got.prospect_id, None);
        assert_eq!(odd.len(), 4, "{odd:?}");
        for name in ["status", "startTime", "tourType", "prospectId"] {
            assert!(odd.iter().any(|o| o.contains(name)), "{name}: {odd:?}");
        }
    }

    #[test]
    fn garbage_members_never_fail_an_answer_with_an_id() {
        let (got, odd) = appointment_and_odd(json!({
            "appointment": {"id": 5, "startTime": 12, "endTime": [], "status": null,
                            "prospectId": 47569637},
            "startTime": "2020-09-23T22:30:00+00:00",
            "tourType": false, "somethingNew": {"deep": [1, 2, 3]}, "errors": "none",
        }));
        assert_eq!(got.id.as_str(), "5");
        assert_eq!(got.status, AppointmentStatus::Confirmed);
        // The nested member is odd: it is not replaced by the top-level one.
        assert_eq!(got.start_time, None);
        assert_eq!(got.end_time, None);
        assert_eq!(got.tour_type, None);
        assert_eq!(
            got.prospect_id.map(|p| p.to_string()),
            Some("47569637".into())
        );
        assert_eq!(odd.len(), 3, "{odd:?}");
    }

    #[test]
    fn a_long_odd_value_is_quoted_short() {
        let (_, odd) = appointment_and_odd(json!({"id": 1, "tourType": vec!["x"; 100]}));
        assert_eq!(odd.len(), 1);
        assert!(odd[0].chars().count() < 120, "{}", odd[0]);
    }

    #[test]
    fn a_cancel_answer_is_read_for_the_record_whatever_its_shape() {
        let (got, odd) = read_cancel_answer(br#"{"appointment":{"id":"9","status":"CANCELLED"}}"#);
        assert_eq!(got.appointment_id.map(|a| a.to_string()), Some("9".into()));
        assert_eq!(got.status, Some(AppointmentStatus::Cancelled));
        assert!(odd.is_empty());
        for body in [
            &b""[..],
            b"  ",
            b"{}",
            b"OK",
            b"[]",
            b"{\"appointment\": 3}",
        ] {
            let (got, _) = read_cancel_answer(body);
            assert_eq!(got, CancelAnswer::default(), "{body:?}");
        }
        let (_, odd) = read_cancel_answer(b"");
        assert!(odd.is_empty(), "an empty 2xx is a plain done");
        let (_, odd) = read_cancel_answer(b"OK");
        assert_eq!(odd.len(), 1);
        let (got, _) = read_cancel_answer(br#"{"status":"canceled"}"#);
        assert_eq!(
            got.status,
            Some(AppointmentStatus::Cancelled),
            "no id, still a status"
        );
        let (got, _) = read_cancel_answer(br#"{"id":4,"status":9}"#);
        assert_eq!(got.appointment_id.map(|a| a.to_string()), Some("4".into()));
        assert_eq!(got.status, None, "a status it does not name");
    }

    #[test]
    fn a_visit_or_email_answer_keeps_an_id_when_there_is_one() {
        let visit = |b: &[u8]| read_visit_answer(b).0.map(|v| v.to_string());
        assert_eq!(visit(br#"{"visitId":"12345"}"#), Some("12345".into()));
        assert_eq!(visit(br#"{"visitId":12345}"#), Some("12345".into()));
        assert_eq!(visit(br#"{"id":"77"}"#), Some("77".into()));
        for body in [
            &b"{}"[..],
            b"",
            b"null",
            b"[1]",
            br#"{"visitId":null}"#,
            br#"{"visitId":{"x":1}}"#,
            b"<html>ok</html>",
        ] {
            assert_eq!(visit(body), None, "{body:?}");
        }
        let email = |b: &[u8]| read_email_answer(b).0.map(|v| v.to_string());
        assert_eq!(
            email(br#"{"communicationId":"4WXU6U2J-37444208"}"#),
            Some("4WXU6U2J-37444208".into())
        );
        assert_eq!(email(br#"{"id":5}"#), Some("5".into()));
        assert_eq!(email(b"{}"), None);
        // `{}` is worth a note; an empty body is not.
        assert_eq!(read_email_answer(b"{}").1.len(), 1);
        assert!(read_email_answer(b"").1.is_empty());
    }

    #[test]
    fn prospect_reads_the_published_get_prospect_example() {
        let body = json!({
          "prospectId": "47569637", "communityId": "191b65d2686d11e9",
          "email": "xtest@example.com", "phone": "+10551234567",
          "agent": { "username": "2be16a9e-b3ab-4b1f-9632-575aca1a3d20" },
          "address": null, "unit": null, "city": null, "state": null, "zip": null,
          "source": { "title": "Property Website" },
          "firstName": "New", "lastName": "Lead",
          "moveDate": null, "bedrooms": null, "pets": null, "occupants": null,
          "leaseTermMonths": null, "minBudget": null, "maxBudget": null,
          "smsConsent": false, "isDeleted": false, "notProspect": false,
          "createdAt": "2021-10-14T18:10:34.515181+00:00",
          "updatedAt": "2021-10-14T18:10:34.694332+00:00",
          "firstContactType": "form", "status": "new", "extraField": {"x": 1}
        });
        let p: Prospect = serde_json::from_value(body).expect("K-GP example");
        assert_eq!(p.prospect_id.as_str(), "47569637");
        assert_eq!(p.community_id, "191b65d2686d11e9");
        assert_eq!(
            p.agent.map(|a| a.username),
            Some("2be16a9e-b3ab-4b1f-9632-575aca1a3d20".into())
        );
        assert_eq!(
            p.source.and_then(|s| s.title),
            Some("Property Website".into())
        );
        assert_eq!(p.sms_consent, Some(false));
        assert_eq!(p.status.as_deref(), Some("new"));
        assert_eq!(p.bedrooms, None);
        let created = p.created_at.expect("createdAt");
        assert_eq!(created.timestamp_subsec_micros(), 515181);
    }

    #[test]
    fn prospect_tolerates_missing_and_null_members_and_numeric_id() {
        let p: Prospect = serde_json::from_value(json!({
            "prospectId": 5, "communityId": "c", "isDeleted": null,
            "moveDate": "2026-12-01", "bedrooms": ["STUDIO", "1_BEDROOMS"]
        }))
        .expect("tolerant");
        assert_eq!(p.prospect_id.as_str(), "5");
        assert!(!p.is_deleted);
        assert_eq!(p.move_date, NaiveDate::from_ymd_opt(2026, 12, 1));
        assert_eq!(p.known_bedrooms(), vec![Bedrooms::Studio]);
    }

    #[test]
    fn events_page_reads_edges_and_page_info() {
        let page: EventsPage = serde_json::from_value(json!({ "edges": [ { "node": {
              "type": "APPOINTMENT_CREATED",
              "description": "A tour appointment was scheduled via knock",
              "eventTime": "2022-01-13T19:27:37.866831+00:00",
              "createdAt": "2022-01-13T19:27:37.866831+00:00",
              "source": { "title": "Property Website" },
              "agent": { "username": "e5e42ae3-a3fa-48ae-a5c5-92ca704d38ad" },
              "data": { "startTime": "2022-01-18T20:00:00+00:00", "endTime": "2022-01-18T20:30:00+00:00",
                        "status": "confirmed", "tourType": "IN_PERSON" } } },
              { "node": { "type": "SMS_RECEIVED", "data": "free text" } }, null ],
          "pageInfo": { "endCursor": "MQ==", "hasNextPage": true } }))
        .expect("K-EV example");
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.end_cursor.as_deref(), Some("MQ=="));
        assert!(page.has_next_page);
        let appt = page.events[0].appointment().expect("appointment data");
        assert_eq!(appt.status, Some(AppointmentStatus::Confirmed));
        assert_eq!(appt.start_time, Some(fixed("2022-01-18T20:00:00+00:00")));
        assert_eq!(page.events[1].appointment(), None);
    }

    #[test]
    fn an_odd_event_node_is_skipped_or_read_in_part_never_failing_the_page() {
        let page: EventsPage = serde_json::from_value(json!({ "edges": [
            { "node": "not an event" },
            7,
            { "node": { "type": 12, "eventTime": "yesterday", "createdAt": "2022-01-13T19:27:37+00:00",
                        "source": "web", "agent": {"username": 5},
                        "data": {"appointmentId": 3, "visitId": 9} } },
            { "node": { "type": "WALK_IN", "data": {"appointmentId": "3"} } },
            { "node": null }, {}
          ],
          "pageInfo": { "endCursor": 42, "hasNextPage": "yes" } }))
        .expect("a page");
        assert_eq!(page.skipped, 2);
        assert_eq!(page.events.len(), 2);
        let odd = &page.events[0];
        assert_eq!((odd.kind.as_deref(), odd.event_time), (None, None));
        assert_eq!(odd.created_at, Some(fixed("2022-01-13T19:27:37+00:00")));
        assert_eq!((odd.source.as_ref(), odd.agent.as_ref()), (None, None));
        assert_eq!(odd.data["visitId"], json!(9));
        assert_eq!(page.events[1].kind.as_deref(), Some("WALK_IN"));
        assert_eq!(page.end_cursor.as_deref(), Some("42"));
        assert!(!page.has_next_page, "an unreadable flag ends the paging");
    }

    #[test]
    fn edges_of_the_wrong_shape_are_not_an_events_page() {
        assert!(serde_json::from_value::<EventsPage>(json!({"edges": {"node": {}}})).is_err());
        assert!(serde_json::from_value::<EventsPage>(json!([])).is_err());
    }

    #[test]
    fn events_page_without_page_info_is_the_last_page() {
        let page: EventsPage = serde_json::from_value(json!({"edges": null})).expect("tolerant");
        assert!(page.events.is_empty());
        assert!(!page.has_next_page);
        assert_eq!(page.end_cursor, None);
    }

    #[test]
    fn an_answer_without_edges_is_not_an_events_page() {
        assert!(serde_json::from_value::<EventsPage>(json!({"acceptableTimes": []})).is_err());
    }

    #[test]
    fn available_times_keep_each_offset() {
        let r: AvailableTimesResponse = serde_json::from_value(json!({
            "acceptableTimes": ["2026-10-31T10:00:00-04:00", "2026-11-02T10:00:00-05:00"],
            "allowNonPreferredTimes": true
        }))
        .expect("readable");
        let offsets: Vec<i32> = r
            .acceptable_times
            .iter()
            .map(|t| t.offset().local_minus_utc())
            .collect();
        assert_eq!(offsets, vec![-4 * 3600, -5 * 3600]);
    }

    #[test]
    fn prospect_request_is_written_with_the_documented_names() {
        let req = ProspectRequest {
            community_id: "b9XQN6eMvvrr07zg".into(),
            source_title: "Property Website".into(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: Some("ada@example.com".into()),
            phone: Some("2065550155".into()),
            move_date: NaiveDate::from_ymd_opt(2020, 1, 15),
            bedrooms: Some(vec![
                Bedrooms::Studio,
                Bedrooms::One,
                Bedrooms::Two,
                Bedrooms::ThreeOrMore,
            ]),
            occupants: Some(2),
            lease_term_months: Some(12),
            min_budget: Some(1000),
            max_budget: Some(2000),
            message: Some("Hi".into()),
            autorespond: Some(false),
            sms_consent: Some(true),
            sms_consent_disclaimer: Some("I agree".into()),
            sms_consent_url: Some("https://example.com/sms".into()),
            agent: Some(Agent {
                username: "u-1".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({
                "communityId": "b9XQN6eMvvrr07zg", "sourceTitle": "Property Website",
                "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                "phone": "2065550155", "moveDate": "2020-01-15",
                "bedrooms": ["STUDIO", "1_BEDROOM", "2_BEDROOMS", "3_OR_MORE_BEDROOMS"],
                "occupants": 2, "leaseTermMonths": 12, "minBudget": 1000, "maxBudget": 2000,
                "message": "Hi", "autorespond": false, "smsConsent": true,
                "smsConsentDisclaimer": "I agree", "smsConsentUrl": "https://example.com/sms",
                "agent": {"username": "u-1"}
            })
        );
    }

    #[test]
    fn prospect_request_omits_absent_optionals() {
        let req = ProspectRequest {
            community_id: "c".into(),
            source_title: "s".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            phone: Some("2065550155".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({"communityId": "c", "sourceTitle": "s", "firstName": "A", "lastName": "B",
                   "phone": "2065550155"})
        );
    }

    #[test]
    fn appointment_request_sends_offered_times_back_with_their_offset() {
        let req = AppointmentRequest {
            community_id: "b9XQN6eMvvrr07zg".into(),
            requested_times: vec![RequestedTime {
                start_time: fixed("2020-09-23T15:30:00-07:00"),
                end_time: Some(fixed("2020-09-23T16:00:00-07:00")),
            }],
            tour_type: TourType::SelfGuided,
            source_title: Some("Property Website".into()),
            sms_consent: true,
            sms_consent_disclaimer: Some("Texts OK".into()),
            profile: Profile {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                email: Some("ada@example.com".into()),
                phone: Some("2065550155".into()),
                move_date: NaiveDate::from_ymd_opt(2020, 10, 1),
                bedrooms: Some(vec![Bedrooms::Two]),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({
                "communityId": "b9XQN6eMvvrr07zg",
                "requestedTimes": [{"startTime": "2020-09-23T15:30:00-07:00",
                                    "endTime": "2020-09-23T16:00:00-07:00"}],
                "tourType": "SELF_GUIDED", "sourceTitle": "Property Website",
                "smsConsent": true, "smsConsentDisclaimer": "Texts OK",
                "profile": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com",
                            "phone": "2065550155", "moveDate": "2020-10-01", "bedrooms": ["2_BEDROOMS"]}
            })
        );
    }

    #[test]
    fn in_person_request_without_end_time_or_optionals_is_minimal() {
        let req = AppointmentRequest {
            community_id: "c".into(),
            requested_times: vec![RequestedTime {
                start_time: fixed("2026-11-02T10:00:00+00:00"),
                end_time: None,
            }],
            tour_type: TourType::InPerson,
            source_title: None,
            sms_consent: false,
            sms_consent_disclaimer: None,
            profile: Profile {
                first_name: "A".into(),
                last_name: "B".into(),
                ..Default::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({"communityId": "c", "requestedTimes": [{"startTime": "2026-11-02T10:00:00+00:00"}],
                   "tourType": "IN_PERSON", "smsConsent": false,
                   "profile": {"firstName": "A", "lastName": "B"}})
        );
    }

    #[test]
    fn visit_request_is_written_with_utc_millis() {
        let visit_time = Utc
            .with_ymd_and_hms(2020, 3, 31, 23, 22, 6)
            .single()
            .expect("time")
            + chrono::Duration::milliseconds(214);
        let req = VisitRequest {
            prospect_id: ProspectId::parse("1").expect("id"),
            visit_time,
            appointment_id: Some(AppointmentId::parse("2").expect("id")),
            is_self_guided: true,
            source_title: Some("Property Website".into()),
            unit_names: vec!["123".into()],
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({"prospectId": "1", "visitTime": "2020-03-31T23:22:06.214Z", "appointmentId": "2",
                   "isSelfGuided": true, "sourceTitle": "Property Website", "unitNames": ["123"]})
        );
    }

    #[test]
    fn visit_request_omits_absent_appointment_and_units() {
        let req = VisitRequest {
            prospect_id: ProspectId::parse("1").expect("id"),
            visit_time: Utc
                .with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
                .single()
                .expect("time"),
            appointment_id: None,
            is_self_guided: false,
            source_title: None,
            unit_names: vec![],
        };
        assert_eq!(
            serde_json::to_value(&req).expect("ser"),
            json!({"prospectId": "1", "visitTime": "2026-01-02T03:04:05.000Z", "isSelfGuided": false})
        );
    }

    #[test]
    fn email_log_is_written_with_type_and_all_five_members() {
        for (kind, name) in [
            (
                EmailLogType::ToProspectSent,
                "EMAIL_MESSAGE_TO_PROSPECT_SENT",
            ),
            (
                EmailLogType::FromProspectReceived,
                "EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED",
            ),
            (EmailLogType::AutomatedSent, "EMAIL_AUTOMATED_MESSAGE_SENT"),
        ] {
            let req = EmailLog {
                kind,
                sent_time: Utc
                    .with_ymd_and_hms(2020, 3, 31, 23, 22, 6)
                    .single()
                    .expect("time"),
                agent: Agent {
                    username: "2be16a9e".into(),
                },
                subject: "Your tour".into(),
                body: "<html>Hello World Email</html>".into(),
            };
            assert_eq!(
                serde_json::to_value(&req).expect("ser"),
                json!({"type": name, "sentTime": "2020-03-31T23:22:06.000Z",
                       "agent": {"username": "2be16a9e"}, "subject": "Your tour",
                       "body": "<html>Hello World Email</html>"})
            );
        }
    }
}
