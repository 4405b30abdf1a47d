//! The tour itself: the renter at the door, the tour's end (by the provider, the renter, or the
//! window), and the one Knock visit a completed tour queues, each in one transaction with its
//! history. What each report does in each state is `domain::rules`; this module writes it.
use chrono::{DateTime, Utc};

use super::BookingService;
use crate::access::Access;
use crate::domain::job::DedupeKey;
use crate::domain::rules::{self, CallbackKind, RenterDoneDecision, ReportEffect, WINDOW_GRACE};
use crate::domain::{Booking, BookingId, BookingState, MailKind};
use crate::outbox::{EmailJob, Job, VisitJob};
use crate::store::{BookingChange, Store, StoreError, Tx, WebhookRecord};

/// A verified, parsed provider callback.
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

/// What came of the renter saying they have finished touring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenterDone {
    /// Completed now; the visit is queued.
    Completed,
    /// Completed before (by the lock, the window's end, or an earlier click).
    AlreadyCompleted,
    NotInProgress(BookingState),
    UnknownBooking,
}

/// What one sweep of ended windows moved.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WindowSweep {
    pub no_shows: Vec<BookingId>,
    pub completed: Vec<BookingId>,
    /// Ended on a lock that reports no entries, with no word of the renter.
    pub unverified: Vec<BookingId>,
}

/// How a tour ended: who says so, the visit's time and homes, and the history line.
struct Completion<'a> {
    from: BookingState,
    /// Set with the state, when the report is also the first door opening we hear of.
    first_access_at: Option<DateTime<Utc>>,
    visit_time: DateTime<Utc>,
    unit_names: Vec<String>,
    actor: &'a str,
    detail: String,
}

/// `c.from` (confirmed, in progress, or a rescued no-show or unverified end) → completed, with the tour's one visit queued and a
/// history line. False when someone else moved the booking first.
async fn complete(
    tx: &mut Tx,
    b: &Booking,
    c: Completion<'_>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let Completion {
        from,
        first_access_at,
        visit_time,
        unit_names,
        actor,
        detail,
    } = c;
    let (Some(prospect_id), Some(appointment_id)) =
        (b.knock_prospect_id.clone(), b.knock_appointment_id.clone())
    else {
        return Err(StoreError::Corrupt(format!(
            "booking {} is live without Knock's prospect and appointment ids",
            b.id
        )));
    };
    let change = BookingChange {
        first_access_at,
        ..Default::default()
    };
    if !tx
        .set_state(&b.id, from, BookingState::Completed, change, now)
        .await?
    {
        return Ok(false);
    }
    super::ended::skip_unfit_mail(tx, &b.id, BookingState::Completed, now).await?;
    // The homes seen: those named, and the units whose locks opened with the booking's code.
    let mut unit_names = unit_names;
    for u in tx.opened_units(&b.id).await? {
        if !unit_names.contains(&u) {
            unit_names.push(u);
        }
    }
    // The renter was surely there from the first door opening on: a visit is never before it.
    let first_in = b.first_access_at.or(first_access_at);
    let visit_time = rules::visit_not_before(visit_time, first_in, now);
    let visit = Job::Visit(VisitJob {
        prospect_id,
        appointment_id,
        is_self_guided: true,
        source_title: b.source_title.as_str().to_string(),
        visit_time,
        unit_names,
    });
    tx.enqueue(&b.id, &visit, &DedupeKey::single(), now, now)
        .await?;
    tx.history(&b.id, now, actor, "completed", &detail).await?;
    Ok(true)
}

/// Acts on a provider callback once per webhook-id. A completed tour queues one visit,
/// carrying `occurred_at` (never in the future: Knock refuses future visits).
pub async fn apply_callback(
    store: &Store,
    cb: &AccessCallback,
    now: DateTime<Utc>,
) -> Result<CallbackOutcome, StoreError> {
    if let Some(settled) = record_if_unchanged(store, cb, now).await? {
        return Ok(settled);
    }
    // The delivery's id is recorded last, in the same transaction: a replay finds it taken
    // and rolls back whatever it did, so the common case asks nothing first.
    let mut tx = store.begin().await?;
    let refused = match tx.booking(&cb.booking).await? {
        None => CallbackOutcome::UnknownBooking,
        Some(b) => match report(&mut tx, &b, cb.kind, cb.occurred_at, &cb.unit_names, now).await? {
            Reported::Refused(state) => CallbackOutcome::Refused(state),
            Reported::Changed(changed) => {
                let record = WebhookRecord {
                    webhook_id: &cb.webhook_id,
                    booking: &cb.booking,
                    kind: cb.kind.as_str(),
                    occurred_at: cb.occurred_at,
                    changed,
                };
                if !tx.record_webhook(&record, now).await? {
                    return Ok(CallbackOutcome::Duplicate);
                }
                tx.commit().await?;
                return Ok(CallbackOutcome::Accepted { changed });
            }
        },
    };
    // Not acted on: a replay of one that was (the booking has moved on since) is still a
    // replay.
    if tx.webhook_seen(&cb.webhook_id).await? {
        return Ok(CallbackOutcome::Duplicate);
    }
    Ok(refused)
}

/// The most frequent callback under load, a report that changes nothing (another door
/// opening during a tour under way, a completion reported again), recorded without the write
/// transaction: the booking is read on any connection and the delivery written in one
/// statement, on condition that the booking is still in the state it was read in. The
/// decision needs no other fence: while a tour is in progress its first access only moves
/// earlier, so a door opening found no earlier stays so. None: anything else, a replay, or a
/// booking that moved meanwhile, for the transaction to decide under the write lock.
async fn record_if_unchanged(
    store: &Store,
    cb: &AccessCallback,
    now: DateTime<Utc>,
) -> Result<Option<CallbackOutcome>, StoreError> {
    let Some(b) = store.booking_by_id(&cb.booking).await? else {
        return Ok(None);
    };
    let window = rules::report_window(b.slot_start(), b.slot_end);
    let visit_time = rules::visit_time(cb.occurred_at, now);
    let unchanged = rules::on_report(cb.kind, b.state, cb.occurred_at, &window)
        == ReportEffect::NoChange
        && !earlier_arrival(&b, cb.kind, visit_time);
    if !unchanged {
        return Ok(None);
    }
    let record = WebhookRecord {
        webhook_id: &cb.webhook_id,
        booking: &cb.booking,
        kind: cb.kind.as_str(),
        occurred_at: cb.occurred_at,
        changed: false,
    };
    let recorded = store.record_unchanged_report(&record, b.state, now).await?;
    Ok(recorded.then_some(CallbackOutcome::Accepted { changed: false }))
}

/// A door opening before the tour's known first access, reported late (reordered
/// deliveries): the arrival moves to the earliest.
fn earlier_arrival(b: &Booking, kind: CallbackKind, visit_time: DateTime<Utc>) -> bool {
    kind == CallbackKind::AccessGranted
        && b.state == BookingState::InProgress
        && b.first_access_at.is_some_and(|first| first > visit_time)
}

/// What one report did inside its transaction.
pub(super) enum Reported {
    Changed(bool),
    Refused(BookingState),
}

/// A report (`kind` at `occurred_at`) applied to booking `b` in `tx`, as `rules::on_report`
/// says: the arrival, the completion with its one visit, or a no-show's rescue.
pub(super) async fn report(
    tx: &mut Tx,
    b: &Booking,
    kind: CallbackKind,
    occurred_at: DateTime<Utc>,
    unit_names: &[String],
    now: DateTime<Utc>,
) -> Result<Reported, StoreError> {
    let visit_time = rules::visit_time(occurred_at, now);
    if visit_time < occurred_at {
        tracing::warn!(booking = %b.id, occurred_at = %occurred_at,
            "the provider reported a time in the future: the visit time is now");
    }
    let window = rules::report_window(b.slot_start(), b.slot_end);
    let at = visit_time.to_rfc3339();
    let changed = match rules::on_report(kind, b.state, occurred_at, &window) {
        ReportEffect::Arrive => {
            let change = BookingChange {
                first_access_at: Some(visit_time),
                ..Default::default()
            };
            let moved = tx
                .set_state(&b.id, b.state, BookingState::InProgress, change, now)
                .await?;
            if moved {
                let detail = format!(
                    "The door opened for this booking at {}",
                    occurred_at.to_rfc3339()
                );
                tx.history(&b.id, now, "access", "in_progress", &detail)
                    .await?;
            }
            moved
        }
        ReportEffect::NoChange => {
            // Reordered deliveries: the arrival is the earliest door opening, whatever order
            // the reports came in.
            // (The booking is read under the write lock: its first access is current.)
            earlier_arrival(b, kind, visit_time)
                && tx.earlier_first_access(&b.id, visit_time).await?
        }
        ReportEffect::Complete { with_units } => {
            let units = if with_units {
                unit_names.to_vec()
            } else {
                Vec::new()
            };
            let c = Completion {
                from: b.state,
                first_access_at: None,
                visit_time,
                unit_names: units,
                actor: "access",
                detail: format!("Tour completed at {at}; visit queued for Knock"),
            };
            complete(tx, b, c, now).await?
        }
        ReportEffect::Rescue { with_units } => {
            let units = if with_units {
                unit_names.to_vec()
            } else {
                Vec::new()
            };
            // Completed with its first access, as the arrival would have gone had it come in
            // time; in one step, never live on the way: the renter may hold another live
            // booking at the community by now (one per renter, migration 0010).
            let was = match b.state {
                BookingState::Unverified => "unverified",
                _ => "a no-show",
            };
            let c = Completion {
                from: b.state,
                first_access_at: Some(visit_time),
                visit_time,
                unit_names: units,
                actor: "access",
                detail: format!(
                    "A late {} report shows the renter at the door at {at}: no longer {was}; \
                     tour completed, visit queued for Knock",
                    kind.as_str()
                ),
            };
            complete(tx, b, c, now).await?
        }
        ReportEffect::Refuse => {
            tracing::warn!(booking = %b.id, state = b.state.as_str(),
                callback = kind.as_str(), "refused a callback for a booking in this state");
            return Ok(Reported::Refused(b.state));
        }
    };
    Ok(Reported::Changed(changed))
}

/// The renter says they have finished touring (on the booking page): in progress → completed
/// with the homes they name, the visit's time being the arrival; or, the same day, a tour that
/// ended unverified (a lock that reports no entries) → completed, its visit at the start.
pub async fn complete_by_renter(
    store: &Store,
    id: &BookingId,
    unit_names: Vec<String>,
    now: DateTime<Utc>,
) -> Result<RenterDone, StoreError> {
    let mut tx = store.begin().await?;
    let Some(b) = tx.booking(id).await? else {
        return Ok(RenterDone::UnknownBooking);
    };
    let outcome = match rules::on_renter_done(b.state, now, b.slot_end) {
        RenterDoneDecision::Complete => {
            let named = if unit_names.is_empty() {
                "no homes named".to_string()
            } else {
                format!("saw {}", unit_names.join(", "))
            };
            // The visit is when the renter was there: the door opening that began the tour
            // (the click only when no opening is known). After an unverified end the click
            // is later than the tour: its start is the nearest known time.
            let unverified = b.state == BookingState::Unverified;
            let fallback = if unverified { b.slot_start() } else { now };
            let visit_time = b.first_access_at.unwrap_or(fallback).min(now);
            let after = if unverified {
                " after its window ended unverified (the lock reports no entries)"
            } else {
                ""
            };
            let c = Completion {
                from: b.state,
                first_access_at: None,
                visit_time,
                unit_names,
                actor: "renter",
                detail: format!(
                    "The renter finished the tour{after} ({named}); visit queued for Knock at \
                     the arrival, {}",
                    visit_time.to_rfc3339()
                ),
            };
            if complete(&mut tx, &b, c, now).await? {
                RenterDone::Completed
            } else {
                RenterDone::AlreadyCompleted
            }
        }
        RenterDoneDecision::AlreadyCompleted => RenterDone::AlreadyCompleted,
        RenterDoneDecision::NotInProgress => RenterDone::NotInProgress(b.state),
    };
    tx.commit().await?;
    Ok(outcome)
}

/// One sweep as if it were `now`: every booking whose window (plus the grace) has ended is
/// moved as `rules::at_window_end` says, given whether its lock reports entries. A no-show
/// queues its codes' removal from the outside locks; an unverified end queues nothing (no
/// visit, no "we missed you"; its offline codes cannot be taken back and run out at the
/// window's end, and `ensure_in` does nothing for a booking neither live nor called off);
/// a completed tour queues its visit at the first door opening (when the renter was
/// surely there), naming the units whose locks opened with its code.
/// Several processes sweeping is harmless: each booking moves once, under its conditional
/// update.
pub async fn sweep_ended_windows(
    store: &Store,
    access: &Access,
    now: DateTime<Utc>,
) -> Result<WindowSweep, StoreError> {
    let ended_before = now - WINDOW_GRACE;
    let mut sweep = WindowSweep::default();
    let mut tx = store.begin().await?;
    for from in [BookingState::Confirmed, BookingState::InProgress] {
        for id in tx.bookings_ended(from, ended_before).await? {
            let Some(b) = tx.booking(&id).await? else {
                continue;
            };
            let reports_entries = access.reports_entries(&b.community_slug);
            match rules::at_window_end(b.state, reports_entries) {
                Some(BookingState::NoShow) => {
                    let change = BookingChange::default();
                    if tx
                        .set_state(&id, b.state, BookingState::NoShow, change, now)
                        .await?
                    {
                        super::ended::skip_unfit_mail(&mut tx, &id, BookingState::NoShow, now)
                            .await?;
                        access.ensure_in(&mut tx, &id, now).await?;
                        tx.history(
                            &id,
                            now,
                            "system",
                            "no_show",
                            "No door access by the end of the tour window and its grace period",
                        )
                        .await?;
                        // The renter is offered another time (as the community's mail allows).
                        let offer = Job::Email(EmailJob::new(MailKind::NoShowOffer, 0));
                        tx.enqueue(
                            &id,
                            &offer,
                            &DedupeKey::of(MailKind::NoShowOffer.as_str()),
                            now,
                            now,
                        )
                        .await?;
                        tracing::info!(booking = %id, "no access by the end of the tour window: no show");
                        sweep.no_shows.push(id);
                    }
                }
                Some(BookingState::Unverified) => {
                    let change = BookingChange::default();
                    if tx
                        .set_state(&id, b.state, BookingState::Unverified, change, now)
                        .await?
                    {
                        super::ended::skip_unfit_mail(&mut tx, &id, BookingState::Unverified, now)
                            .await?;
                        tx.history(
                            &id,
                            now,
                            "system",
                            "unverified",
                            "The tour window ended; the lock reports no entries, so whether \
                             the renter came is not known (not a no-show)",
                        )
                        .await?;
                        tracing::info!(booking = %id, "the tour window ended on a lock that reports no entries: unverified");
                        sweep.unverified.push(id);
                    }
                }
                Some(BookingState::Completed) => {
                    let visit_time = b.first_access_at.unwrap_or(b.slot_start()).min(now);
                    let c = Completion {
                        from: b.state,
                        first_access_at: None,
                        visit_time,
                        unit_names: Vec::new(),
                        actor: "system",
                        detail: format!(
                            "The tour window ended after the renter got in ({}); visit queued \
                             for Knock",
                            visit_time.to_rfc3339()
                        ),
                    };
                    if complete(&mut tx, &b, c, now).await? {
                        tracing::info!(booking = %id, "the tour window ended after an arrival: completed");
                        sweep.completed.push(id);
                    }
                }
                _ => {}
            }
        }
    }
    tx.commit().await?;
    Ok(sweep)
}

impl BookingService {
    pub async fn apply_callback(
        &self,
        cb: &AccessCallback,
        now: DateTime<Utc>,
    ) -> Result<CallbackOutcome, StoreError> {
        apply_callback(&self.store, cb, now).await
    }

    pub async fn complete_by_renter(
        &self,
        id: &BookingId,
        unit_names: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<RenterDone, StoreError> {
        complete_by_renter(&self.store, id, unit_names, now).await
    }

    /// One sweep of ended windows (see [`sweep_ended_windows`]), then the locks' safety net.
    pub async fn sweep_ended_windows(&self, now: DateTime<Utc>) -> Result<WindowSweep, StoreError> {
        self.access.learn_locks_if_due().await;
        // Missed lock events first: a door opening from inside the window makes an arrival,
        // not a no-show.
        if let Err(e) = self.catch_up_access_events(now).await {
            tracing::warn!(error = %e, "lock events not caught up");
        }
        let sweep = sweep_ended_windows(&self.store, &self.access, now).await?;
        // Grants out of line with their bookings (a lock added since) get their jobs.
        if let Err(e) = self.access.reconcile(now).await {
            tracing::warn!(error = %e, "lock codes not reconciled");
        }
        Ok(sweep)
    }
}
