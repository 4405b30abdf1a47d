//! Lock jobs are written in the transaction that changes the booking, not in a call after
//! its commit: the use cases' store functions alone (no `BookingService` wrapper, which used
//! to make that call) leave the job queued.
use chrono::{Duration, Utc};
use knock_sandbox::{Fault, FaultRoute};
use seam_sandbox::seeds;
use tourgate::booking::{BookingId, BookingState, Canceller};
use tourgate::domain::GrantState;
use tourgate::outbox::JobKind;

use super::seam_app;
use crate::callbacks::{booking_id, state_of, MAPLE};
use crate::helpers::{client, Backend};
use crate::on_both_backends;

on_both_backends!(
    a_confirmation_commits_with_the_code_for_the_lock_queued,
    |b: Backend| async move {
        let s = seam_app(b, seeds::FRONT_DOOR, Duration::minutes(4)).await;
        // Knock does not answer at once: the booking stays requesting.
        s.app
            .sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503).times(10));
        let c = client();
        let page = s.app.book(&c, MAPLE, None).await;
        let id = booking_id(&s.app.get(&c, &page).await.1);
        assert_eq!(state_of(&s.app, &id).await, BookingState::Requesting);
        assert!(s.jobs(&id, JobKind::AccessIssue).await.is_empty());
        s.app.sandbox.clear_faults();

        // Knock's answer is kept: the issue job is there when `confirm` returns.
        let bid = BookingId::parse(&id).unwrap();
        let confirmed = s
            .app
            .bookings
            .confirm(&bid, "4242", &[], Utc::now())
            .await
            .unwrap();
        assert!(confirmed);
        assert_eq!(s.jobs(&id, JobKind::AccessIssue).await.len(), 1);
        assert_eq!(s.grant_state(&id).await, Some(GrantState::Issuing));
        s.drain().await;
        assert_eq!(s.codes_of(seeds::FRONT_DOOR, &id).len(), 1);
    }
);

on_both_backends!(
    a_cancel_or_a_no_show_commits_with_the_codes_removal_queued,
    |b: Backend| async move {
        let s = seam_app(b, seeds::FRONT_DOOR, Duration::minutes(4)).await;
        let (cancelled, _) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        let bid = BookingId::parse(&cancelled).unwrap();
        let store = &s.app.app_store;
        let access = s.app.bookings.access();
        tourgate::booking::cancel(store, access, &bid, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        assert_eq!(s.jobs(&cancelled, JobKind::AccessRevoke).await.len(), 1);
        assert_eq!(s.grant_state(&cancelled).await, Some(GrantState::Revoking));
        s.drain().await;
        assert!(s
            .codes_of(seeds::FRONT_DOOR, &cancelled)
            .iter()
            .all(|c| c.delete_requested));

        // The window's end without an entry: the sweep's own transaction queues the removal.
        let (missed, _) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        let end = s.booking(&missed).await.slot_end;
        let swept =
            tourgate::booking::sweep_ended_windows(store, access, end + Duration::minutes(16))
                .await
                .unwrap();
        assert_eq!(swept.no_shows, [BookingId::parse(&missed).unwrap()]);
        assert_eq!(s.jobs(&missed, JobKind::AccessRevoke).await.len(), 1);
        assert_eq!(s.grant_state(&missed).await, Some(GrantState::Revoking));
    }
);
