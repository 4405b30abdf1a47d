//! The sandbox's memory: communities, prospects and what happened to them. One `State` sits
//! behind one mutex, so each Knock call is checked and applied atomically.
use std::borrow::Cow;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::availability::{acceptable_times, Booking};
use super::faults::FaultQueue;
use super::persist::{Persisted, PersistedRef};
use super::records::{
    AppointmentRecord, EmailRecord, EventRecord, Json, MessageRecord, ProspectRecord,
    RequestRecord, SandboxSnapshot, TourType, VisitRecord,
};
use super::rules::{self, Rejection};
use super::SandboxCommunity;

/// How many received calls the request log keeps.
const REQUEST_LOG_LENGTH: usize = 500;

#[derive(Debug)]
pub(super) struct State {
    pub communities: Vec<SandboxCommunity>,
    pub horizon_days: u32,
    pub prospects: Vec<ProspectRecord>,
    pub appointments: Vec<AppointmentRecord>,
    pub visits: Vec<VisitRecord>,
    pub emails: Vec<EmailRecord>,
    pub messages: Vec<MessageRecord>,
    pub events: Vec<EventRecord>,
    pub requests: VecDeque<RequestRecord>,
    pub faults: FaultQueue,
    /// APPOINTMENT_* events carry the appointment's id in their data.
    pub events_name_appointment: bool,
    next_prospect: u64,
    next_appointment: u64,
    next_visit: u64,
    next_communication: u64,
}

/// The id sequences (API.md §2: numeric strings).
#[derive(Debug, Clone, Copy)]
pub(super) enum IdKind {
    Prospect,
    Appointment,
    Visit,
    Communication,
}

impl State {
    pub fn new(communities: Vec<SandboxCommunity>, horizon_days: u32) -> Self {
        Self {
            communities,
            horizon_days,
            prospects: Vec::new(),
            appointments: Vec::new(),
            visits: Vec::new(),
            emails: Vec::new(),
            messages: Vec::new(),
            events: Vec::new(),
            requests: VecDeque::new(),
            faults: FaultQueue::default(),
            events_name_appointment: false,
            next_prospect: rules::FIRST_PROSPECT_ID,
            next_appointment: rules::FIRST_APPOINTMENT_ID,
            next_visit: rules::FIRST_VISIT_ID,
            next_communication: rules::FIRST_COMMUNICATION_NUMBER,
        }
    }

    pub fn next_id(&mut self, kind: IdKind) -> u64 {
        let counter = match kind {
            IdKind::Prospect => &mut self.next_prospect,
            IdKind::Appointment => &mut self.next_appointment,
            IdKind::Visit => &mut self.next_visit,
            IdKind::Communication => &mut self.next_communication,
        };
        let id = *counter;
        *counter += 1;
        id
    }

    pub fn community(&self, id: &str) -> Result<&SandboxCommunity, Rejection> {
        self.communities
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| Rejection::UnknownCommunity(id.to_owned()))
    }

    /// The prospect a route names by id: digits only (API.md §8.2's two documented errors).
    pub fn prospect_index(&self, raw_id: &str) -> Result<usize, Rejection> {
        if raw_id.is_empty() || !raw_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::MalformedProspectId(raw_id.to_owned()));
        }
        let unknown = || Rejection::UnknownProspect(raw_id.to_owned());
        // Knock reads the id as a number, so leading zeros name the same prospect.
        let number: u64 = raw_id.parse().map_err(|_| unknown())?;
        let id = number.to_string();
        self.prospects
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(unknown)
    }

    /// The community's prospect with this e-mail (any case) or phone (digits), if any
    /// (API.md §4 behaviour 4, §8.1).
    pub fn matching_prospect(
        &self,
        community_id: &str,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> Option<usize> {
        let phone = phone.map(rules::phone_match_key);
        self.prospects.iter().position(|p| {
            p.community_id == community_id
                && (email.is_some_and(|e| {
                    p.email
                        .as_deref()
                        .is_some_and(|pe| rules::same_email(pe, e))
                }) || (phone.is_some()
                    && p.phone.as_deref().map(rules::phone_match_key) == phone))
        })
    }

    /// The confirmed appointments of a community, as spans that block slots.
    pub fn bookings(&self, community_id: &str) -> Vec<Booking> {
        self.appointments
            .iter()
            // INF (API.md §4): a request waiting for the office holds its slot, or the office
            // could not confirm it.
            .filter(|a| a.community_id == community_id && a.status.is_live())
            .map(|a| Booking {
                start: a.start,
                end: a.end,
                tour_type: a.tour_type,
            })
            .collect()
    }

    pub fn available_times(
        &self,
        community_id: &str,
        tour_type: TourType,
        now: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Tz>>, Rejection> {
        let community = self.community(community_id)?;
        let booked = self.bookings(community_id);
        Ok(acceptable_times(
            community,
            now,
            self.horizon_days,
            tour_type,
            &booked,
        ))
    }

    pub fn push_event(&mut self, event: EventRecord) {
        self.events.push(event);
    }

    /// An event on a prospect's timeline, attributed to its source and agent.
    pub fn prospect_event(
        &self,
        prospect: &ProspectRecord,
        event_type: &'static str,
        description: impl Into<Cow<'static, str>>,
        data: Value,
        now: DateTime<Utc>,
    ) -> EventRecord {
        EventRecord {
            prospect_id: prospect.id.clone(),
            event_type: Cow::Borrowed(event_type),
            description: description.into(),
            event_time: now,
            created_at: now,
            source_title: prospect.source_title.clone(),
            agent_username: prospect.agent_username.clone(),
            data: Json::new(&data),
        }
    }

    pub fn record_request(&mut self, record: RequestRecord) {
        if self.requests.len() == REQUEST_LOG_LENGTH {
            self.requests.pop_front();
        }
        self.requests.push_back(record);
    }

    /// What the state file keeps (persist.rs).
    pub fn persisted_ref(&self) -> PersistedRef<'_> {
        PersistedRef {
            version: Persisted::current_version(),
            prospects: &self.prospects,
            appointments: &self.appointments,
            visits: &self.visits,
            emails: &self.emails,
            messages: &self.messages,
            events: &self.events,
            requests: &self.requests,
            next_prospect: self.next_prospect,
            next_appointment: self.next_appointment,
            next_visit: self.next_visit,
            next_communication: self.next_communication,
        }
    }

    /// The records of a previous run; the id sequences never go back.
    pub fn restore(&mut self, p: Persisted) {
        self.prospects = p.prospects;
        self.appointments = p.appointments;
        self.visits = p.visits;
        self.emails = p.emails;
        self.messages = p.messages;
        self.events = p.events;
        self.requests = p.requests;
        self.next_prospect = self.next_prospect.max(p.next_prospect);
        self.next_appointment = self.next_appointment.max(p.next_appointment);
        self.next_visit = self.next_visit.max(p.next_visit);
        self.next_communication = self.next_communication.max(p.next_communication);
    }

    pub fn snapshot(&self, now: DateTime<Utc>) -> SandboxSnapshot {
        SandboxSnapshot {
            now,
            prospects: self.prospects.clone(),
            appointments: self.appointments.clone(),
            visits: self.visits.clone(),
            emails: self.emails.clone(),
            messages: self.messages.clone(),
            events: self.events.clone(),
            requests: self.requests.iter().cloned().collect(),
            faults: self.faults.pending(),
        }
    }
}
