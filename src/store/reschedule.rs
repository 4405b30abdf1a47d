//! Moving a confirmed booking to another slot once Knock has confirmed the new appointment:
//! the booking's slot and appointment, the cancel of the old appointment and the history, in
//! one transaction.
use chrono::{DateTime, Utc};

use super::bookings::insert_event;
use super::cancel::cancel_payload;
use super::outbox::enqueue_job;
use super::{is_unique_violation, on_backend, Store, StoreError, WriteTx};
use crate::booking::BookingId;
use crate::mail::{MailKind, QueuedMail};
use crate::outbox::{EmailJob, Job, JobKind};

/// The new slot and the appointment Knock made for it.
#[derive(Debug, Clone)]
pub struct Rescheduled<'a> {
    pub old_appointment: &'a str,
    pub new_appointment: &'a str,
    pub slot_start: DateTime<Utc>,
    pub slot_end: DateTime<Utc>,
    /// The start exactly as Knock offered it.
    pub slot_start_knock: &'a str,
    /// What a confirmation at the new time would queue (the first becomes the reschedule mail).
    pub mails: &'a [QueuedMail],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RescheduleOutcome {
    Moved,
    /// Another booking took the slot meanwhile, or this booking changed (cancelled, started,
    /// moved by a twin request): the new appointment's cancel is queued instead.
    NotMoved,
}

impl Store {
    pub async fn reschedule_booking(
        &self,
        id: &BookingId,
        r: &Rescheduled<'_>,
        now: DateTime<Utc>,
    ) -> Result<RescheduleOutcome, StoreError> {
        let moved: Result<bool, sqlx::Error> = on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let updated = sqlx::query(
                "UPDATE bookings SET slot_start = $1, slot_end = $2, slot_start_knock = $3, \
                 knock_appointment_id = $4, updated_at = $5 \
                 WHERE id = $6 AND state = 'confirmed' AND knock_appointment_id = $7",
            )
            .bind(r.slot_start)
            .bind(r.slot_end)
            .bind(r.slot_start_knock)
            .bind(r.new_appointment)
            .bind(now)
            .bind(id.as_str())
            .bind(r.old_appointment)
            .execute(&mut *tx)
            .await;
            match updated {
                Ok(done) if done.rows_affected() == 1 => {
                    let payload = cancel_payload(r.old_appointment)?;
                    enqueue_job!(&mut *tx, id, JobKind::AppointmentCancel, payload, now,
                        r.old_appointment)?;
                    insert_event!(&mut *tx, id, now, "renter", "rescheduled", &format!(
                        "Moved to {}; Knock appointment {} replaced by {} (cancel of the old one queued)",
                        r.slot_start_knock, r.old_appointment, r.new_appointment))?;
                    // Mails timed for the old start are dropped; the new time gets its own.
                    sqlx::query(
                        "UPDATE outbox_jobs SET state = 'delivered', knock_result = 'not sent: rescheduled', \
                         updated_at = $2, delivered_at = $2 \
                         WHERE booking_id = $1 AND kind = 'email' AND state = 'pending'",
                    )
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    let (moves,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM booking_events WHERE booking_id = $1 AND kind = 'rescheduled'",
                    )
                    .bind(id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                    for mail in r.mails {
                        let kind = match mail.kind {
                            MailKind::Confirmation => MailKind::Reschedule,
                            other => other,
                        };
                        let payload = Job::Email(EmailJob::new(kind, moves as u32))
                            .to_json()
                            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
                        let key = format!("{}:{}", kind.as_str(), r.new_appointment);
                        enqueue_job!(&mut *tx, id, JobKind::Email, key.as_str(), payload, mail.due, now)?;
                    }
                    tx.commit().await?;
                    Ok(true)
                }
                Ok(_) => Ok(false),
                Err(e) => Err(e),
            }
        });
        match moved {
            Ok(true) => return Ok(RescheduleOutcome::Moved),
            Ok(false) => {}
            Err(e) if is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Knock holds an appointment no booking of ours stands for: cancel it.
        tracing::warn!(booking = %id, appointment = r.new_appointment,
            "the reschedule could not be kept: Knock's new appointment is cancelled");
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            enqueue_job!(&mut *tx, id, JobKind::AppointmentCancel,
                cancel_payload(r.new_appointment)?, now, r.new_appointment)?;
            insert_event!(&mut *tx, id, now, "renter", "reschedule_failed", &format!(
                "Moving to {} failed after Knock made appointment {}; its cancel is queued",
                r.slot_start_knock, r.new_appointment))?;
            tx.commit().await?;
        });
        Ok(RescheduleOutcome::NotMoved)
    }
}

impl Store {
    /// Appends one line to a booking's history on its own (a step about to be tried).
    pub async fn note_booking_event(
        &self,
        id: &BookingId,
        actor: &str,
        kind: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_backend!(self, p => { insert_event!(p, id, now, actor, kind, detail)?; });
        Ok(())
    }
}
