//! What an outbox job is: its kind, its state, and the Knock request it carries.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::domain::job::{
    AccessIssueJob, AccessRevokeJob, JobKind, JobPayload, JobState, OutboxJob, StaffAlertJob,
};
use crate::knock::types::EmailLogType;
use crate::mail::MailKind;

impl OutboxJob {
    pub fn job(&self) -> Result<Job, String> {
        Job::from_stored(self.kind, &self.payload)
    }
}

/// A self-guided visit (API.md §7), fixed when the tour completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitJob {
    pub prospect_id: String,
    pub appointment_id: String,
    pub is_self_guided: bool,
    pub source_title: String,
    pub visit_time: DateTime<Utc>,
    pub unit_names: Vec<String>,
}

/// `PUT /appointment/{id}/cancel` (API.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentCancelJob {
    pub appointment_id: String,
}

/// `POST /prospect/{id}/email` (API.md §8.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailLogJob {
    pub prospect_id: String,
    #[serde(rename = "type")]
    pub kind: EmailLogType,
    pub sent_time: DateTime<Utc>,
    pub agent_username: String,
    pub subject: String,
    pub body: String,
}

/// An e-mail to the renter. Only its kind is fixed when queued: the message is composed when
/// it is sent, from the booking as it is then (a reminder after a reschedule shows the new time).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailJob {
    /// A [`MailKind`] name.
    pub mail: String,
    /// iCalendar SEQUENCE for an invitation riding along.
    #[serde(default)]
    pub sequence: u32,
}

impl EmailJob {
    pub fn new(mail: MailKind, sequence: u32) -> Self {
        Self {
            mail: mail.as_str().to_string(),
            sequence,
        }
    }

    pub fn kind(&self) -> Option<MailKind> {
        MailKind::parse(&self.mail)
    }
}

/// A write waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Visit(VisitJob),
    AppointmentCancel(AppointmentCancelJob),
    EmailLog(EmailLogJob),
    Email(EmailJob),
    AccessIssue(AccessIssueJob),
    AccessRevoke(AccessRevokeJob),
    StaffAlert(StaffAlertJob),
}

impl JobPayload for Job {
    fn kind(&self) -> JobKind {
        Job::kind(self)
    }

    fn to_json(&self) -> Result<String, serde_json::Error> {
        Job::to_json(self)
    }
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Self::Visit(_) => JobKind::Visit,
            Self::AppointmentCancel(_) => JobKind::AppointmentCancel,
            Self::EmailLog(_) => JobKind::EmailLog,
            Self::Email(_) => JobKind::Email,
            Self::AccessIssue(_) => JobKind::AccessIssue,
            Self::AccessRevoke(_) => JobKind::AccessRevoke,
            Self::StaffAlert(_) => JobKind::StaffAlert,
        }
    }

    /// The payload column's text.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        match self {
            Self::Visit(j) => serde_json::to_string(j),
            Self::AppointmentCancel(j) => serde_json::to_string(j),
            Self::EmailLog(j) => serde_json::to_string(j),
            Self::Email(j) => serde_json::to_string(j),
            Self::AccessIssue(j) => serde_json::to_string(j),
            Self::AccessRevoke(j) => serde_json::to_string(j),
            Self::StaffAlert(j) => serde_json::to_string(j),
        }
    }

    pub fn from_stored(kind: JobKind, payload: &str) -> Result<Self, String> {
        let bad = |e: serde_json::Error| format!("{} payload is not readable: {e}", kind.as_str());
        Ok(match kind {
            JobKind::Visit => Self::Visit(serde_json::from_str(payload).map_err(bad)?),
            JobKind::AppointmentCancel => {
                Self::AppointmentCancel(serde_json::from_str(payload).map_err(bad)?)
            }
            JobKind::EmailLog => Self::EmailLog(serde_json::from_str(payload).map_err(bad)?),
            JobKind::Email => Self::Email(serde_json::from_str(payload).map_err(bad)?),
            JobKind::AccessIssue => Self::AccessIssue(serde_json::from_str(payload).map_err(bad)?),
            JobKind::AccessRevoke => {
                Self::AccessRevoke(serde_json::from_str(payload).map_err(bad)?)
            }
            JobKind::StaffAlert => Self::StaffAlert(serde_json::from_str(payload).map_err(bad)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn kinds_and_states_round_trip_through_text() {
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("lost"), None);
    }

    #[test]
    fn a_visit_payload_round_trips_in_knocks_field_names() {
        let job = Job::Visit(VisitJob {
            prospect_id: "12".into(),
            appointment_id: "3".into(),
            is_self_guided: true,
            source_title: "Zillow".into(),
            visit_time: Utc.with_ymd_and_hms(2026, 11, 22, 18, 40, 0).unwrap(),
            unit_names: vec!["101".into()],
        });
        let text = job.to_json().unwrap();
        assert!(text.contains("\"appointmentId\":\"3\""), "{text}");
        assert!(text.contains("\"isSelfGuided\":true"), "{text}");
        assert_eq!(Job::from_stored(JobKind::Visit, &text).unwrap(), job);
        assert!(Job::from_stored(JobKind::AppointmentCancel, "{}").is_err());
    }
}
