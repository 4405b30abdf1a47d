//! Access-provider callbacks: the webhook-id, the booking's state change and (for a completed
//! tour) the Knock visit, all in one transaction.
use chrono::{DateTime, Utc};

use super::bookings::insert_event;
use super::outbox::enqueue_job;
use super::{on_backend, Store, StoreError, WriteTx};
use crate::access::WINDOW_GRACE;
use crate::booking::{BookingId, BookingState};
use crate::config::LATEST_EARLY_ACCESS;
use crate::outbox::{Job, JobKind, VisitJob};

/// What the provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackKind {
    /// `access.granted`: the door opened for this booking.
    AccessGranted,
    /// `tour.completed`.
    TourCompleted,
}

impl CallbackKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access.granted" => Some(Self::AccessGranted),
            "tour.completed" => Some(Self::TourCompleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessGranted => "access.granted",
            Self::TourCompleted => "tour.completed",
        }
    }
}

/// A verified, parsed callback.
#[derive(Debug, Clone)]
pub struct AccessCallback {
    pub webhook_id: String,
    pub kind: CallbackKind,
    pub booking: BookingId,
    pub occurred_at: DateTime<Utc>,
    pub unit_names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackOutcome {
    /// Acted on; `changed` false when the booking was already past this point.
    Accepted {
        changed: bool,
    },
    /// This webhook-id was acted on before: nothing done.
    Duplicate,
    UnknownBooking,
    /// The booking is in a state the callback cannot apply to (cancelled, ...).
    Refused(BookingState),
}

/// confirmed or in_progress → completed, with the tour's one Knock visit queued and a history
/// line, inside the caller's write transaction `$tx`. `$ids` are the booking's Knock prospect
/// id, appointment id and source title. Evaluates to whether this call moved the booking;
/// `?` returns `StoreError` from the enclosing function.
macro_rules! complete_tour {
    ($tx:expr, $booking:expr, $ids:expr, $visit_time:expr, $units:expr, $now:expr, $actor:expr, $detail:expr) => {{
        let booking: &BookingId = $booking;
        let (prospect, appointment, source_title): (Option<String>, Option<String>, String) = $ids;
        let (Some(prospect_id), Some(appointment_id)) = (prospect, appointment) else {
            return Err(StoreError::Corrupt(format!(
                "booking {booking} is live without Knock's prospect and appointment ids"
            )));
        };
        let moved = sqlx::query(
            "UPDATE bookings SET state = 'completed', updated_at = $1 \
             WHERE id = $2 AND state IN ('confirmed', 'in_progress')",
        )
        .bind($now)
        .bind(booking.as_str())
        .execute(&mut **$tx)
        .await?
        .rows_affected()
            == 1;
        if moved {
            let visit = Job::Visit(VisitJob {
                prospect_id,
                appointment_id,
                is_self_guided: true,
                source_title,
                visit_time: $visit_time,
                unit_names: $units,
            });
            let payload = visit
                .to_json()
                .map_err(|e| StoreError::Corrupt(format!("visit payload: {e}")))?;
            enqueue_job!(&mut **$tx, booking, JobKind::Visit, payload, $now)?;
            insert_event!(&mut **$tx, booking, $now, $actor, "completed", $detail)?;
        }
        moved
    }};
}

/// What came of the renter saying they have finished touring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenterDone {
    /// Completed now; the visit is queued.
    Completed,
    /// Completed before (by the lock, the window's end, or an earlier click).
    AlreadyCompleted,
    /// Not touring: the door has not opened for this booking, or the tour is over otherwise.
    NotInProgress(BookingState),
    UnknownBooking,
}

impl Store {
    /// Acts on a callback once per webhook-id. A completed tour queues one visit, carrying
    /// `occurred_at` (clamped to `now` when in the future: Knock refuses future visits).
    pub async fn apply_access_callback(
        &self,
        cb: &AccessCallback,
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, StoreError> {
        let visit_time = if cb.occurred_at > now {
            tracing::warn!(booking = %cb.booking, occurred_at = %cb.occurred_at,
                "the provider reported a time in the future: the visit time is now");
            now
        } else {
            cb.occurred_at
        };
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let seen: Option<(String,)> =
                sqlx::query_as("SELECT webhook_id FROM access_callbacks WHERE webhook_id = $1")
                    .bind(&cb.webhook_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if seen.is_some() {
                return Ok(CallbackOutcome::Duplicate);
            }
            type Row = (String, Option<String>, Option<String>, String, DateTime<Utc>, DateTime<Utc>);
            let booking: Option<Row> = sqlx::query_as(
                "SELECT state, knock_prospect_id, knock_appointment_id, source_title, \
                 slot_start, slot_end FROM bookings WHERE id = $1",
            )
            .bind(cb.booking.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((state, prospect, appointment, source_title, start, end)) = booking else {
                return Ok(CallbackOutcome::UnknownBooking);
            };
            // Providers retry for hours: a report of the renter at the door during the tour's
            // window may come after the window's end decided "no show". It proves the tour.
            let in_window = cb.occurred_at >= start - LATEST_EARLY_ACCESS
                && cb.occurred_at <= end + WINDOW_GRACE;
            let state = BookingState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("booking {}: state", cb.booking)))?;
            let changed = match (cb.kind, state) {
                (CallbackKind::AccessGranted, BookingState::Confirmed) => {
                    let moved = sqlx::query(
                        "UPDATE bookings SET state = 'in_progress', updated_at = $1, \
                         first_access_at = $3 WHERE id = $2 AND state = 'confirmed'",
                    )
                    .bind(now)
                    .bind(cb.booking.as_str())
                    .bind(visit_time)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                        == 1;
                    if moved {
                        insert_event!(&mut *tx, &cb.booking, now, "access", "in_progress",
                            &format!("The door opened for this booking at {}", cb.occurred_at.to_rfc3339()))?;
                    }
                    moved
                }
                (CallbackKind::AccessGranted, BookingState::InProgress | BookingState::Completed)
                | (CallbackKind::TourCompleted, BookingState::Completed) => false,
                (CallbackKind::TourCompleted, BookingState::Confirmed | BookingState::InProgress) => {
                    complete_tour!(&mut tx, &cb.booking, (prospect, appointment, source_title),
                        visit_time, cb.unit_names.clone(), now, "access",
                        &format!("Tour completed at {}; visit queued for Knock", visit_time.to_rfc3339()))
                }
                (_, BookingState::NoShow) if in_window => {
                    let units = match cb.kind {
                        CallbackKind::TourCompleted => cb.unit_names.clone(),
                        CallbackKind::AccessGranted => Vec::new(),
                    };
                    // Through in_progress, as the arrival would have gone had it come in time.
                    sqlx::query("UPDATE bookings SET state = 'in_progress', first_access_at = $1 \
                                 WHERE id = $2 AND state = 'no_show'")
                        .bind(visit_time)
                        .bind(cb.booking.as_str())
                        .execute(&mut *tx)
                        .await?;
                    complete_tour!(&mut tx, &cb.booking, (prospect, appointment, source_title),
                        visit_time, units, now, "access",
                        &format!("A late {} report shows the renter at the door at {}: no longer a no-show; \
                                  tour completed, visit queued for Knock",
                                 cb.kind.as_str(), visit_time.to_rfc3339()))
                }
                (_, other) => {
                    tracing::warn!(booking = %cb.booking, state = other.as_str(),
                        callback = cb.kind.as_str(), "refused a callback for a booking in this state");
                    return Ok(CallbackOutcome::Refused(other));
                }
            };
            let recorded = sqlx::query(
                "INSERT INTO access_callbacks (webhook_id, booking_id, kind, occurred_at, \
                 received_at, effect) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (webhook_id) DO NOTHING",
            )
            .bind(&cb.webhook_id)
            .bind(cb.booking.as_str())
            .bind(cb.kind.as_str())
            .bind(cb.occurred_at)
            .bind(now)
            .bind(if changed { "changed" } else { "none" })
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if !recorded {
                // The same delivery raced us and committed first: ours is undone.
                return Ok(CallbackOutcome::Duplicate);
            }
            tx.commit().await?;
            Ok(CallbackOutcome::Accepted { changed })
        })
    }
}

impl Store {
    /// confirmed → no_show for every booking whose window ended before `ended_before` with no
    /// door access (an access moves it to in_progress). No visit is queued. Returns the ids.
    pub async fn mark_no_shows(
        &self,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingId>, StoreError> {
        let ids: Vec<(String,)> = on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let ids: Vec<(String,)> = sqlx::query_as(
                "UPDATE bookings SET state = 'no_show', updated_at = $1 \
                 WHERE state = 'confirmed' AND slot_end <= $2 RETURNING id",
            )
            .bind(now)
            .bind(ended_before)
            .fetch_all(&mut *tx)
            .await?;
            for (id,) in &ids {
                insert_event!(&mut *tx, id, now, "system", "no_show",
                    "No door access by the end of the tour window and its grace period")?;
            }
            tx.commit().await?;
            ids
        });
        ids.into_iter()
            .map(|(id,)| {
                BookingId::parse(&id).ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))
            })
            .collect()
    }

    /// in_progress → completed for every booking whose window ended before `ended_before`: the
    /// renter got in, and the provider never said the tour was over. The visit's time is the
    /// first door access (when the renter was surely there); no units are named. Returns the
    /// ids moved.
    pub async fn complete_after_window(
        &self,
        ended_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<BookingId>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            String,
            Option<DateTime<Utc>>,
            DateTime<Utc>,
        );
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, knock_prospect_id, knock_appointment_id, source_title, \
                 first_access_at, slot_start FROM bookings \
                 WHERE state = 'in_progress' AND slot_end <= $1",
            )
            .bind(ended_before)
            .fetch_all(&mut *tx)
            .await?;
            let mut moved = Vec::new();
            for (id, prospect, appointment, source_title, first_access, start) in rows {
                let id = BookingId::parse(&id)
                    .ok_or_else(|| StoreError::Corrupt(format!("booking id {id}")))?;
                let visit_time = first_access.unwrap_or(start).min(now);
                let detail = format!(
                    "The tour window ended after the renter got in ({}); visit queued for Knock",
                    visit_time.to_rfc3339()
                );
                if complete_tour!(&mut tx, &id, (prospect, appointment, source_title),
                    visit_time, Vec::new(), now, "system", &detail)
                {
                    moved.push(id);
                }
            }
            tx.commit().await?;
            Ok(moved)
        })
    }

    /// The renter says they have finished touring (on the booking page): in_progress →
    /// completed with the homes they name, the visit's time being `now`.
    pub async fn complete_by_renter(
        &self,
        id: &BookingId,
        unit_names: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<RenterDone, StoreError> {
        on_backend!(self, p => {
            let mut tx = WriteTx::begin_write(p).await?;
            let row: Option<(String, Option<String>, Option<String>, String)> = sqlx::query_as(
                "SELECT state, knock_prospect_id, knock_appointment_id, source_title \
                 FROM bookings WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((state, prospect, appointment, source_title)) = row else {
                return Ok(RenterDone::UnknownBooking);
            };
            let state = BookingState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("booking {id}: state")))?;
            let outcome = match state {
                BookingState::InProgress => {
                    let named = if unit_names.is_empty() {
                        "no homes named".to_string()
                    } else {
                        format!("saw {}", unit_names.join(", "))
                    };
                    let detail = format!("The renter finished the tour ({named}); visit queued for Knock");
                    if complete_tour!(&mut tx, id, (prospect, appointment, source_title),
                        now, unit_names, now, "renter", &detail)
                    {
                        RenterDone::Completed
                    } else {
                        RenterDone::AlreadyCompleted
                    }
                }
                BookingState::Completed => RenterDone::AlreadyCompleted,
                other => RenterDone::NotInProgress(other),
            };
            tx.commit().await?;
            Ok(outcome)
        })
    }
}
