//! What the sandbox holds and received, as seen through `Sandbox::snapshot` and
//! `GET /_sandbox/state`.
use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::faults::Fault;

/// A JSON value kept as its compact text. A small object held as a `Value` is a B-tree node
/// of 600-odd bytes: for the events and appointments of a long demo, those were most of the
/// sandbox's memory (BENCHMARKS.md). Written out exactly as kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    pub fn new(value: &Value) -> Self {
        // A `Value` always serializes (its keys are strings).
        Self(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()))
    }

    /// The value, parsed again.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// Knock's `tourType` (API.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TourType {
    SelfGuided,
    InPerson,
}

impl TourType {
    pub const KNOCK_NAMES: &'static str = "SELF_GUIDED, IN_PERSON";

    pub fn as_knock(self) -> &'static str {
        match self {
            Self::SelfGuided => "SELF_GUIDED",
            Self::InPerson => "IN_PERSON",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::SelfGuided, Self::InPerson]
            .into_iter()
            .find(|t| t.as_knock() == s)
    }
}

/// What Knock accepts in `bedrooms[]` (API.md §10); the serde names are Knock's wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bedrooms {
    #[serde(rename = "STUDIO")]
    Studio,
    #[serde(rename = "1_BEDROOM")]
    One,
    #[serde(rename = "2_BEDROOMS")]
    Two,
    #[serde(rename = "3_OR_MORE_BEDROOMS")]
    ThreeOrMore,
}

impl Bedrooms {
    pub const KNOCK_NAMES: &'static str = "STUDIO, 1_BEDROOM, 2_BEDROOMS, 3_OR_MORE_BEDROOMS";

    pub fn as_knock(self) -> &'static str {
        match self {
            Self::Studio => "STUDIO",
            Self::One => "1_BEDROOM",
            Self::Two => "2_BEDROOMS",
            Self::ThreeOrMore => "3_OR_MORE_BEDROOMS",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Studio, Self::One, Self::Two, Self::ThreeOrMore]
            .into_iter()
            .find(|b| b.as_knock() == s)
    }
}

/// Appointment status as the appointment routes spell it (API.md §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AppointmentStatus {
    Confirmed,
    /// Waiting for the office's decision, at a community that reviews requests by hand
    /// (`SandboxCommunity::reviews_requests`). It holds its slot as a confirmed one does.
    Pending,
    Cancelled,
}

impl AppointmentStatus {
    /// Still booked: confirmed or waiting for the office. Such an appointment holds its slot and
    /// is "upcoming" for behaviour 5 of API.md §4.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Confirmed | Self::Pending)
    }

    /// The lower-case spelling the events feed uses (API.md §8.3: `"confirmed"`).
    pub fn as_event_status(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Pending => "pending",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Guest-card status (API.md §8.2: `new`; §8.4: prospects move from New to Open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProspectStatus {
    New,
    Open,
}

/// The log-email `type` enum (API.md §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EmailType {
    EmailMessageToProspectSent,
    EmailMessageFromProspectReceived,
    EmailAutomatedMessageSent,
}

impl EmailType {
    pub const KNOCK_NAMES: &'static str = "EMAIL_MESSAGE_TO_PROSPECT_SENT, \
         EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED, EMAIL_AUTOMATED_MESSAGE_SENT";

    pub fn as_knock(self) -> &'static str {
        match self {
            Self::EmailMessageToProspectSent => "EMAIL_MESSAGE_TO_PROSPECT_SENT",
            Self::EmailMessageFromProspectReceived => "EMAIL_MESSAGE_FROM_PROSPECT_RECEIVED",
            Self::EmailAutomatedMessageSent => "EMAIL_AUTOMATED_MESSAGE_SENT",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::EmailMessageToProspectSent,
            Self::EmailMessageFromProspectReceived,
            Self::EmailAutomatedMessageSent,
        ]
        .into_iter()
        .find(|t| t.as_knock() == s)
    }

    /// Sent to the prospect (by an agent or automatically): a first contact.
    pub fn is_outbound(self) -> bool {
        !matches!(self, Self::EmailMessageFromProspectReceived)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProspectRecord {
    pub id: String,
    pub community_id: String,
    pub status: ProspectStatus,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    /// Digits as received.
    pub phone: Option<String>,
    pub agent_username: Option<String>,
    pub source_title: Option<String>,
    pub address: Option<String>,
    pub unit: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub move_date: Option<NaiveDate>,
    pub bedrooms: Option<Vec<Bedrooms>>,
    pub occupants: Option<u32>,
    pub lease_term_months: Option<u32>,
    pub min_budget: Option<u32>,
    pub max_budget: Option<u32>,
    pub sms_consent: bool,
    pub first_contact_type: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentRecord {
    pub id: String,
    pub prospect_id: String,
    pub community_id: String,
    pub status: AppointmentStatus,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub tour_type: TourType,
    pub source_title: Option<String>,
    pub sms_consent: bool,
    /// The request's `profile` object exactly as received.
    pub profile: Json,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRecord {
    pub id: String,
    pub prospect_id: String,
    pub appointment_id: Option<String>,
    pub visit_time: DateTime<Utc>,
    pub is_self_guided: Option<bool>,
    pub source_title: Option<String>,
    /// As received.
    pub unit_names: Vec<String>,
    /// The community's own names of the units that matched.
    pub matched_units: Vec<String>,
    pub recorded_at: DateTime<Utc>,
}

/// An e-mail logged through POST /prospect/{id}/email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailRecord {
    pub communication_id: String,
    pub prospect_id: String,
    #[serde(rename = "type")]
    pub email_type: EmailType,
    pub sent_time: DateTime<Utc>,
    pub agent_username: String,
    pub subject: String,
    pub body: String,
    pub logged_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    Email,
    Sms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Confirmation,
    Reminder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Sent,
    Scheduled,
    Cancelled,
}

/// A message Knock itself would send the prospect about an appointment (API.md §4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub prospect_id: String,
    pub appointment_id: String,
    pub channel: MessageChannel,
    pub kind: MessageKind,
    pub send_at: DateTime<Utc>,
    pub status: MessageStatus,
}

/// One entry of a prospect's timeline (GET /prospect/{id}/events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub prospect_id: String,
    /// One of `event_types` (kept as the constant it is, not a copy per event).
    #[serde(rename = "type")]
    pub event_type: Cow<'static, str>,
    /// Mostly a fixed sentence (a copy per event was a tenth of a long demo's records).
    pub description: Cow<'static, str>,
    pub event_time: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub source_title: Option<String>,
    pub agent_username: Option<String>,
    pub data: Json,
}

/// A call received on a Knock route (or an unknown one). Headers, and so the key, are never kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// The body parsed as JSON; a body that is not JSON is kept as a JSON string; none if empty.
    /// Kept as compact text ([`Json`]), like the events' data.
    pub body: Option<Json>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxSnapshot {
    pub now: DateTime<Utc>,
    pub prospects: Vec<ProspectRecord>,
    pub appointments: Vec<AppointmentRecord>,
    pub visits: Vec<VisitRecord>,
    pub emails: Vec<EmailRecord>,
    pub messages: Vec<MessageRecord>,
    pub events: Vec<EventRecord>,
    /// Oldest first; only the most recent calls are kept.
    pub requests: Vec<RequestRecord>,
    /// Faults still waiting, with the calls they have left in `count`.
    pub faults: Vec<Fault>,
}
