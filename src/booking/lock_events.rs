//! A lock provider's normalized events (`access::AccessEvent`, from a webhook or the
//! provider's event log) applied to bookings: a code's life recorded on its grant (and staff
//! told when it could not be set or removed), and a door opening tied to a tour and fed to the
//! tour's state machine as an arrival. Each event once, by its id, in one transaction with its
//! effect; decided by the event's time, never by its arrival, so late, duplicated and
//! reordered deliveries come to the same outcome.
use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq;

use super::tour::{report, Reported};
use super::BookingService;
use crate::access::{AccessCode, AccessEvent, EntryMethod, InboundEvent};
use crate::domain::grant::grant_moves;
use crate::domain::rules::{CallbackKind, WINDOW_GRACE};
use crate::domain::{Booking, BookingState, GrantState, MailKind};
use crate::store::{StoreError, Tx, WebhookRecord};

/// How a door opening was tied to a tour (`access_grants.arrival_attribution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributed {
    /// The event named the tour's code.
    CodeId,
    /// The PIN typed is the tour's.
    Code,
    /// The only live tour on that lock at the time: staff check it.
    Probable,
}

impl Attributed {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeId => "code_id",
            Self::Code => "code",
            Self::Probable => "probable",
        }
    }
}

/// What came of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Applied {
        changed: bool,
    },
    /// Acted on before (same event id).
    Duplicate,
    /// No booking of ours: another code, another lock, or nothing we act on.
    NotOurs,
    /// Tied to a booking the report cannot apply to (cancelled, ...).
    Refused(BookingState),
}

impl BookingService {
    /// Applies `ev`, reported by `source` (the provider's name, only to key the dedupe).
    pub async fn apply_access_event(
        &self,
        source: &str,
        ev: &InboundEvent,
        now: DateTime<Utc>,
    ) -> Result<EventOutcome, StoreError> {
        let dedupe = format!("{source}:{}", ev.id);
        let mut tx = self.store.begin().await?;
        if tx.webhook_seen(&dedupe).await? {
            return Ok(EventOutcome::Duplicate);
        }
        let (booking, changed) = match &ev.event {
            AccessEvent::Entry {
                lock,
                grant,
                code,
                method,
            } => {
                let Some((b, how)) = self
                    .attribute(
                        &mut tx,
                        lock,
                        grant.as_deref(),
                        code.as_ref(),
                        *method,
                        ev.occurred_at,
                    )
                    .await?
                else {
                    tracing::info!(event = %ev.id, "a door opening tied to no tour of ours");
                    return Ok(EventOutcome::NotOurs);
                };
                let changed = match report(
                    &mut tx,
                    &b,
                    CallbackKind::AccessGranted,
                    ev.occurred_at,
                    &[],
                    now,
                )
                .await?
                {
                    Reported::Changed(c) => c,
                    Reported::Refused(s) => return Ok(EventOutcome::Refused(s)),
                };
                // The lock opened with the booking's code: a unit's lock names a home seen.
                if how != Attributed::Probable {
                    tx.mark_grant_opened(&b.id, lock, ev.occurred_at).await?;
                }
                if changed {
                    tx.set_arrival_attribution(&b.id, lock, how.as_str())
                        .await?;
                    if how == Attributed::Probable {
                        tx.history(
                            &b.id,
                            now,
                            "access",
                            "probable_arrival",
                            "The lock opened without naming a code while this was the only tour \
                             on it: probably this renter (staff: check)",
                        )
                        .await?;
                    }
                }
                (b, changed)
            }
            AccessEvent::GrantScheduled { grant }
            | AccessEvent::GrantActive { grant }
            | AccessEvent::GrantFailed { grant, .. }
            | AccessEvent::GrantRemoved { grant }
            | AccessEvent::RevokeFailed { grant, .. } => {
                let Some(g) = tx.grant_by_code_id(grant).await? else {
                    return Ok(EventOutcome::NotOurs);
                };
                let Some(b) = tx.booking(&g.booking_id).await? else {
                    return Ok(EventOutcome::NotOurs);
                };
                let (to, problem) = match &ev.event {
                    AccessEvent::GrantScheduled { .. } => (GrantState::Scheduled, None),
                    AccessEvent::GrantActive { .. } => (GrantState::Set, None),
                    AccessEvent::GrantFailed { reason, .. } => {
                        (GrantState::Failed, Some(reason.as_str()))
                    }
                    AccessEvent::RevokeFailed { reason, .. } => {
                        (GrantState::RevokeFailed, Some(reason.as_str()))
                    }
                    _ => (GrantState::Removed, None),
                };
                let moves = grant_moves(g.state, g.state_at, to, ev.occurred_at);
                if moves {
                    tx.set_grant_state(
                        &b.id,
                        &g.device_id,
                        g.generation,
                        to,
                        ev.occurred_at,
                        None,
                        problem,
                        now,
                    )
                    .await?;
                    if to.needs_attention() {
                        let community = self
                            .access()
                            .communities()
                            .and_then(|cs| cs.get(&b.community_slug));
                        if let Some(c) = community {
                            let why = problem.unwrap_or("");
                            crate::access::code_alert(&mut tx, c, &b, &g.device_id, to, why, now)
                                .await?;
                        }
                    }
                    if to.lock_has_it() {
                        let line = match &g.unit {
                            None => "The lock has the door code".to_string(),
                            Some(u) => format!("The lock of unit {u} has the door code"),
                        };
                        tx.history(&b.id, now, "access", to.as_str(), &line).await?;
                        // The renter's mail waits for the building's lock only.
                        if g.unit.is_none() {
                            tx.hurry_pending_mail(
                                &b.id,
                                MailKind::AccessInstructions.as_str(),
                                now,
                            )
                            .await?;
                        }
                    }
                }
                (b, moves)
            }
            AccessEvent::GrantDelayed { .. }
            | AccessEvent::Denied { .. }
            | AccessEvent::Ignored { .. } => {
                return Ok(EventOutcome::NotOurs);
            }
        };
        let record = WebhookRecord {
            webhook_id: &dedupe,
            booking: &booking.id,
            kind: ev.event.name(),
            occurred_at: ev.occurred_at,
            changed,
        };
        if !tx.record_webhook(&record, now).await? {
            return Ok(EventOutcome::Duplicate);
        }
        tx.commit().await?;
        Ok(EventOutcome::Applied { changed })
    }

    /// The tour a door opening belongs to (PROVIDERS.md §4.3): the code it names, else the
    /// PIN typed, else the only live tour on that lock then (a keypad entry only).
    async fn attribute(
        &self,
        tx: &mut Tx,
        lock: &str,
        grant: Option<&str>,
        code: Option<&AccessCode>,
        method: EntryMethod,
        at: DateTime<Utc>,
    ) -> Result<Option<(Booking, Attributed)>, StoreError> {
        if let Some(id) = grant {
            if let Some(g) = tx.grant_by_code_id(id).await? {
                if g.device_id == lock {
                    return Ok(tx
                        .booking(&g.booking_id)
                        .await?
                        .map(|b| (b, Attributed::CodeId)));
                }
            }
        }
        let on_lock = tx.grants_on_device_at(lock, at, WINDOW_GRACE).await?;
        let mut bookings = Vec::new();
        for g in &on_lock {
            if let Some(b) = tx.booking(&g.booking_id).await? {
                bookings.push(b);
            }
        }
        if let Some(entered) = code {
            let keypad = self.access().keypad();
            for b in &bookings {
                let ours = keypad.code_for(&b.id, b.slot_start());
                let same: bool = ours
                    .reveal()
                    .as_bytes()
                    .ct_eq(entered.reveal().as_bytes())
                    .into();
                if same {
                    return Ok(Some((b.clone(), Attributed::Code)));
                }
            }
        }
        if method != EntryMethod::Keycode {
            return Ok(None);
        }
        let mut live = bookings.into_iter().filter(|b| b.state.is_live());
        match (live.next(), live.next()) {
            (Some(only), None) => Ok(Some((only, Attributed::Probable))),
            _ => Ok(None),
        }
    }

    /// The catch-up after downtime: the provider's event log read from a little before the
    /// newest event the last catch-up saw (the first: a day back), each event applied as a
    /// webhook would be (the ids dedupe the two paths). Returns how many changed something.
    pub async fn catch_up_access_events(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        // Only where a lock's provider keeps an event log (`Capabilities::pull_events`).
        if !self.access().keeps_event_log() {
            return Ok(0);
        }
        let source = crate::access::seam::PROVIDER;
        let since = match self.store.access_event_cursor(source).await? {
            Some(last) => last - CATCH_UP_OVERLAP,
            None => now - chrono::Duration::days(1),
        };
        let events = match self.access().pull_events(since).await {
            Ok(Some((_, events))) => events,
            Ok(None) => return Ok(0),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the lock provider's event log now");
                return Ok(0);
            }
        };
        let mut changed = 0;
        for ev in &events {
            if let EventOutcome::Applied { changed: true } =
                self.apply_access_event(source, ev, now).await?
            {
                tracing::info!(event = %ev.id, kind = ev.event.name(), "caught up a missed lock event");
                changed += 1;
            }
        }
        if let Some(newest) = events.iter().map(|e| e.occurred_at).max() {
            self.store
                .advance_access_event_cursor(source, newest, now)
                .await?;
        }
        Ok(changed)
    }
}

/// Events are reported late (created after they occurred) and the log is read by time: each
/// catch-up reads again this far before the newest event seen.
const CATCH_UP_OVERLAP: chrono::Duration = chrono::Duration::hours(1);
