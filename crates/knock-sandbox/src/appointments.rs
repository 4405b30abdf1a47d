//! Booking and cancelling tours (API.md §4, §5).
use chrono::{DateTime, Utc};
use serde_json::json;

use super::availability::{is_acceptable, span_is_free, tour_length};
use super::prospects::new_prospect;
use super::records::{
    AppointmentRecord, AppointmentStatus, Json, MessageChannel, MessageKind, MessageRecord,
    MessageStatus, ProspectRecord, TourType,
};
use super::requests::{AppointmentRequest, Person};
use super::rules::{self, event_types, Rejection};
use super::state::{IdKind, State};
use super::wire::knock_time;

/// Why the office could not decide an appointment as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfficeDecisionError {
    /// No appointment has this id.
    Unknown(String),
    /// Decided the other way already (confirming a cancelled one, declining a confirmed one).
    AlreadyDecided {
        id: String,
        status: AppointmentStatus,
    },
}

impl std::fmt::Display for OfficeDecisionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unknown(id) => write!(f, "Appointment {id} does not exist."),
            Self::AlreadyDecided { id, status } => {
                write!(f, "Appointment {id} is {status:?} already.")
            }
        }
    }
}

impl std::error::Error for OfficeDecisionError {}

impl State {
    /// Books the first requested time that is bookable now, as one step under the state lock.
    pub fn book(
        &mut self,
        request: AppointmentRequest,
        now: DateTime<Utc>,
    ) -> Result<AppointmentRecord, Rejection> {
        let community = self.community(&request.community_id)?.clone();
        let booked = self.bookings(&community.id);
        let (start, end) = request
            .requested_times
            .iter()
            .find_map(|wanted| {
                let start = wanted.start.with_timezone(&Utc);
                // INF (API.md §4 behaviour 7, §12.5): endTime is honoured for self-guided tours
                // only; in-person tours last the community's tour length.
                let end = match (request.tour_type, wanted.end) {
                    (TourType::SelfGuided, Some(end)) => end.with_timezone(&Utc),
                    _ => start + tour_length(&community),
                };
                let bookable =
                    is_acceptable(
                        &community,
                        now,
                        self.horizon_days,
                        request.tour_type,
                        start,
                        &booked,
                    ) && span_is_free(&community, request.tour_type, start, end, &booked);
                bookable.then_some((start, end))
            })
            .ok_or(Rejection::NotBookable)?;

        let prospect_index = self.prospect_for_appointment(&request, now);
        let prospect = self.prospects[prospect_index].clone();
        self.cancel_upcoming(&prospect.id, &community.id, now);

        let appointment = AppointmentRecord {
            id: self.next_id(IdKind::Appointment).to_string(),
            prospect_id: prospect.id.clone(),
            community_id: community.id.clone(),
            status: rules::status_of_new_appointment(community.reviews_requests),
            start,
            end,
            tour_type: request.tour_type,
            source_title: request.source_title.clone(),
            sms_consent: request.sms_consent,
            profile: Json::new(&request.profile),
            created_at: now,
            cancelled_at: None,
        };
        self.appointments.push(appointment.clone());
        self.announce(&prospect, &appointment, now);
        Ok(appointment)
    }

    /// The community's prospect matching the profile, created if there is none (API.md §4
    /// behaviours 3 and 4). A match keeps its card and only gains what it lacked.
    fn prospect_for_appointment(
        &mut self,
        request: &AppointmentRequest,
        now: DateTime<Utc>,
    ) -> usize {
        let person = &request.person;
        let found = self.matching_prospect(
            &request.community_id,
            person.email.as_deref(),
            person.phone.as_deref(),
        );
        match found {
            Some(index) => {
                let prospect = &mut self.prospects[index];
                fill_missing(prospect, person);
                prospect.sms_consent |= request.sms_consent;
                prospect.updated_at = now;
                index
            }
            None => {
                let id = self.next_id(IdKind::Prospect).to_string();
                let mut prospect = new_prospect(id, &request.community_id, now);
                fill_missing(&mut prospect, person);
                prospect.source_title = request.source_title.clone();
                prospect.sms_consent = request.sms_consent;
                self.prospects.push(prospect);
                self.prospects.len() - 1
            }
        }
    }

    /// Cancels the prospect's upcoming appointments at the community, confirmed or waiting for
    /// the office (API.md §4 behaviour 5).
    fn cancel_upcoming(&mut self, prospect_id: &str, community_id: &str, now: DateTime<Utc>) {
        let upcoming: Vec<usize> = (0..self.appointments.len())
            .filter(|&i| {
                let a = &self.appointments[i];
                a.prospect_id == prospect_id
                    && a.community_id == community_id
                    && a.status.is_live()
                    && a.start > now
            })
            .collect();
        for index in upcoming {
            self.cancel_at(index, now);
        }
    }

    /// PUT /appointment/{id}/cancel. Cancelling again answers the same (INF, API.md §12.8).
    pub fn cancel(
        &mut self,
        raw_id: &str,
        now: DateTime<Utc>,
    ) -> Result<AppointmentRecord, Rejection> {
        let index = self
            .appointments
            .iter()
            .position(|a| a.id == raw_id)
            .ok_or_else(|| Rejection::UnknownAppointment(raw_id.to_owned()))?;
        if self.appointments[index].status.is_live() {
            self.cancel_at(index, now);
        }
        Ok(self.appointments[index].clone())
    }

    /// The office decides a request waiting for review (`POST /_sandbox/appointments/{id}/
    /// confirm` or `/decline`). Confirming sends what Knock sends for a confirmed booking;
    /// declining cancels. Deciding again as already decided answers the same.
    pub fn office_decides(
        &mut self,
        id: &str,
        confirm: bool,
        now: DateTime<Utc>,
    ) -> Result<AppointmentRecord, OfficeDecisionError> {
        let index = self
            .appointments
            .iter()
            .position(|a| a.id == id)
            .ok_or_else(|| OfficeDecisionError::Unknown(id.to_owned()))?;
        let status = self.appointments[index].status;
        match (status, confirm) {
            (AppointmentStatus::Pending, true) => {
                self.appointments[index].status = AppointmentStatus::Confirmed;
                let appointment = self.appointments[index].clone();
                if let Some(prospect) = self
                    .prospects
                    .iter()
                    .find(|p| p.id == appointment.prospect_id)
                    .cloned()
                {
                    let event = self.prospect_event(
                        &prospect,
                        event_types::APPOINTMENT_CONFIRMED,
                        "A tour appointment was confirmed by the office",
                        self.appointment_event_data(&appointment),
                        now,
                    );
                    self.push_event(event);
                    self.send_booking_messages(&prospect, &appointment, now);
                }
            }
            (AppointmentStatus::Pending, false) => self.cancel_at(index, now),
            (AppointmentStatus::Confirmed, true) | (AppointmentStatus::Cancelled, false) => {}
            (status, _) => {
                return Err(OfficeDecisionError::AlreadyDecided {
                    id: id.to_owned(),
                    status,
                })
            }
        }
        Ok(self.appointments[index].clone())
    }

    /// The `data` of an appointment's events: Knock's example members (API.md §8.3), and the
    /// appointment's id when the profile names it (`SandboxConfig::events_name_appointment`).
    fn appointment_event_data(&self, appointment: &AppointmentRecord) -> serde_json::Value {
        let mut data = json!({
            "startTime": knock_time(appointment.start),
            "endTime": knock_time(appointment.end),
            "status": appointment.status.as_event_status(),
            "tourType": appointment.tour_type,
        });
        if self.events_name_appointment {
            data["appointmentId"] = json!(appointment.id);
        }
        data
    }

    fn cancel_at(&mut self, index: usize, now: DateTime<Utc>) {
        let appointment = &mut self.appointments[index];
        appointment.status = AppointmentStatus::Cancelled;
        appointment.cancelled_at = Some(now);
        let appointment = appointment.clone();
        for message in &mut self.messages {
            if message.appointment_id == appointment.id
                && message.status == MessageStatus::Scheduled
            {
                message.status = MessageStatus::Cancelled;
            }
        }
        if let Some(prospect) = self
            .prospects
            .iter()
            .find(|p| p.id == appointment.prospect_id)
        {
            let event = self.prospect_event(
                prospect,
                event_types::APPOINTMENT_CANCELLED,
                "A tour appointment was cancelled",
                json!({
                    "appointmentId": appointment.id,
                    "startTime": knock_time(appointment.start),
                    "endTime": knock_time(appointment.end),
                    "status": "cancelled",
                    "tourType": appointment.tour_type,
                }),
                now,
            );
            self.push_event(event);
        }
    }

    /// What Knock records and sends when a tour is booked (API.md §4 behaviours 1 and 2, §8.3).
    fn announce(
        &mut self,
        prospect: &ProspectRecord,
        appointment: &AppointmentRecord,
        now: DateTime<Utc>,
    ) {
        let mut created = self.prospect_event(
            prospect,
            event_types::APPOINTMENT_CREATED,
            event_types::APPOINTMENT_CREATED_DESCRIPTION,
            self.appointment_event_data(appointment),
            now,
        );
        if appointment.source_title.is_some() {
            created.source_title = appointment.source_title.clone();
        }
        self.push_event(created);
        // INF (API.md §4 "manually review requests"): nothing is confirmed to the renter until
        // the office confirms.
        if appointment.status == AppointmentStatus::Confirmed {
            self.send_booking_messages(prospect, appointment, now);
        }
    }

    /// The confirmation e-mail, and with SMS consent the confirmation text and the reminder
    /// (API.md §4 behaviours 1 and 2).
    fn send_booking_messages(
        &mut self,
        prospect: &ProspectRecord,
        appointment: &AppointmentRecord,
        now: DateTime<Utc>,
    ) {
        let send = |state: &mut State,
                    channel: MessageChannel,
                    kind: MessageKind,
                    send_at: DateTime<Utc>,
                    status: MessageStatus,
                    event_type: &'static str| {
            state.messages.push(MessageRecord {
                prospect_id: prospect.id.clone(),
                appointment_id: appointment.id.clone(),
                channel,
                kind,
                send_at,
                status,
            });
            let event = state.prospect_event(
                prospect,
                event_type,
                "Sent by Knock for a tour appointment",
                json!({ "appointmentId": appointment.id, "sendAt": knock_time(send_at) }),
                now,
            );
            state.push_event(event);
        };
        if prospect.email.is_some() {
            send(
                self,
                MessageChannel::Email,
                MessageKind::Confirmation,
                now,
                MessageStatus::Sent,
                event_types::CONFIRMATION_EMAIL_SENT,
            );
        }
        if appointment.sms_consent && prospect.phone.is_some() {
            send(
                self,
                MessageChannel::Sms,
                MessageKind::Confirmation,
                now,
                MessageStatus::Sent,
                event_types::CONFIRMATION_SMS_SENT,
            );
            let remind_at = appointment.start - rules::REMINDER_LEAD;
            if remind_at > now || !rules::SKIP_PAST_REMINDERS {
                send(
                    self,
                    MessageChannel::Sms,
                    MessageKind::Reminder,
                    remind_at,
                    MessageStatus::Scheduled,
                    event_types::REMINDER_SMS_SCHEDULED,
                );
            }
        }
    }
}

fn fill_missing(prospect: &mut ProspectRecord, person: &Person) {
    fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
        if slot.is_none() {
            slot.clone_from(value);
        }
    }
    fill(&mut prospect.first_name, &person.first_name);
    fill(&mut prospect.last_name, &person.last_name);
    fill(&mut prospect.email, &person.email);
    fill(&mut prospect.phone, &person.phone);
    fill(&mut prospect.move_date, &person.move_date);
    fill(&mut prospect.bedrooms, &person.bedrooms);
    fill(&mut prospect.occupants, &person.occupants);
    fill(&mut prospect.lease_term_months, &person.lease_term_months);
    fill(&mut prospect.min_budget, &person.min_budget);
    fill(&mut prospect.max_budget, &person.max_budget);
}
