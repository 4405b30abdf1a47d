//! What a lock can do is read from Seam's device list, not from the provider's name: an
//! igloohome-like lockbox (offline codes) gets a code whose PIN its maker picks, on whole
//! hours, shown to the renter as Seam reports it, and no removal is queued when the tour is
//! cancelled (the API cannot take it back).
use chrono::{Duration, Timelike, Utc};
use seam_sandbox::seeds;
use tourgate::booking::{BookingId, Canceller};
use tourgate::domain::GrantState;
use tourgate::outbox::{JobKind, JobState};

use super::{seam_app, window_of};
use crate::helpers::{client, Backend};
use crate::on_both_backends;

on_both_backends!(
    a_lockbox_gets_an_offline_code_on_whole_hours_and_no_removal_on_cancel,
    |b: Backend| async move {
        let s = seam_app(b, seeds::LOCKBOX, Duration::minutes(4)).await;
        let caps = s.app.bookings.access().lock_capabilities(seeds::LOCKBOX);
        assert!(!caps.revocable && !caps.custom_code, "{caps:?}");
        let (id, page) = s.book().await;
        s.drain().await;
        let job = &s.jobs(&id, JobKind::AccessIssue).await[0];
        assert_eq!(job.state, JobState::Delivered, "{job:?}");
        let codes = s.codes_of(seeds::LOCKBOX, &id);
        assert_eq!(codes.len(), 1);
        assert!(codes[0].is_offline_access_code);
        let (from, until) = codes[0].window.unwrap();
        let (ours_from, ours_until) = window_of(&s.booking(&id).await);
        assert!(
            from <= ours_from && until >= ours_until,
            "covers the window"
        );
        assert!(ours_from - from < Duration::hours(1) && until - ours_until < Duration::hours(1));
        assert_eq!((from.minute(), from.second(), until.minute()), (0, 0, 0));

        // The lock's maker picked the PIN: the renter is shown that one, never ours.
        s.seam.tick().await;
        assert!(s.grant_state(&id).await.unwrap().lock_has_it());
        let pin = s.codes_of(seeds::LOCKBOX, &id)[0].code.clone().unwrap();
        let (_, html) = s.app.get(&client(), &page).await;
        assert!(html.contains(&pin), "the lockbox's PIN is shown");
        assert!(!html.contains(&s.code(&id).await));

        // Cancelled: nothing to ask of the API, which cannot take an offline code back.
        let bid = BookingId::parse(&id).unwrap();
        s.app
            .bookings
            .cancel(&bid, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        assert!(s.jobs(&id, JobKind::AccessRevoke).await.is_empty());
        assert_ne!(s.grant_state(&id).await, Some(GrantState::Revoking));
        let history = s.app.app_store.booking_events(&bid).await.unwrap();
        assert!(
            history.iter().any(|e| e.kind == "access_not_revocable"),
            "{history:?}"
        );
        // The sweep's safety net does not queue one either, nor says it twice.
        s.app
            .bookings
            .sweep_ended_windows(Utc::now())
            .await
            .unwrap();
        assert!(s.jobs(&id, JobKind::AccessRevoke).await.is_empty());
        let said = s.app.app_store.booking_events(&bid).await.unwrap();
        assert_eq!(
            said.iter()
                .filter(|e| e.kind == "access_not_revocable")
                .count(),
            1
        );
    }
);
