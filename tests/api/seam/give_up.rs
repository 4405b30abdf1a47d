//! A lock write the outbox gives up on (its deadline passed with Seam still failing) leaves
//! its grant saying so, with the reason, and staff alerted: never stuck `issuing` or
//! `revoking`.
use chrono::{Duration, Utc};
use seam_sandbox::{seeds, Fault};
use tourgate::booking::{BookingId, Canceller};
use tourgate::domain::GrantState;
use tourgate::outbox::{JobKind, JobState};

use super::seam_app;
use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(
    an_issue_the_outbox_gives_up_on_fails_the_grant_and_alerts_staff,
    |b: Backend| async move {
        let s = seam_app(b, seeds::FRONT_DOOR, Duration::minutes(4)).await;
        s.seam
            .inject_fault(Fault::new("/access_codes/list", 503).times(100));
        let (id, page) = s.book().await;
        s.drain().await;
        let job = s.jobs(&id, JobKind::AccessIssue).await.remove(0);
        assert_eq!(job.state, JobState::Pending);
        assert_eq!(s.grant_state(&id).await, Some(GrantState::Issuing));

        // Past its deadline, Seam still failing: the outbox gives up.
        let late = job.give_up_at + Duration::seconds(1);
        s.app.outbox.drain(late).await.unwrap();
        let job = s.jobs(&id, JobKind::AccessIssue).await.remove(0);
        assert_eq!(job.state, JobState::Dead, "{job:?}");
        assert_eq!(s.grant_state(&id).await, Some(GrantState::Failed));
        let attention = s.app.app_store.grants_needing_attention().await.unwrap();
        assert_eq!(attention.len(), 1);
        let problem = attention[0].problem.clone().unwrap_or_default();
        assert!(problem.contains("503"), "{problem}");
        assert!(!s.shown(&page, &id).await);
        let desk = crate::today::staff_client(&s.app, "desk@example.com", &["maple-court"]).await;
        let (_, board) = s.app.get(&desk, "/staff").await;
        assert!(
            crate::today::attention(&board).contains(&("code_not_set".to_string(), id.clone())),
            "{board}"
        );
        s.app.outbox.drain(late).await.unwrap();
        s.one_staff_alert(&id, "could not be set").await;
        s.seam.clear_faults();
    }
);

on_both_backends!(
    a_revoke_the_outbox_gives_up_on_is_a_security_alert,
    |b: Backend| async move {
        let s = seam_app(b, seeds::FRONT_DOOR, Duration::minutes(4)).await;
        let (id, _) = s.book().await;
        s.drain().await;
        s.seam.tick().await;
        assert!(s.grant_state(&id).await.unwrap().lock_has_it());
        s.seam
            .inject_fault(Fault::new("/access_codes/list", 503).times(100));
        let bid = BookingId::parse(&id).unwrap();
        s.app
            .bookings
            .cancel(&bid, Canceller::Renter, Utc::now())
            .await
            .unwrap();
        s.drain().await;
        let job = s.jobs(&id, JobKind::AccessRevoke).await.remove(0);
        assert_eq!(job.state, JobState::Pending);
        assert_eq!(s.grant_state(&id).await, Some(GrantState::Revoking));

        let late = job.give_up_at + Duration::seconds(1);
        s.app.outbox.drain(late).await.unwrap();
        assert_eq!(
            s.jobs(&id, JobKind::AccessRevoke).await[0].state,
            JobState::Dead
        );
        assert_eq!(s.grant_state(&id).await, Some(GrantState::RevokeFailed));
        s.app.outbox.drain(late).await.unwrap();
        s.one_staff_alert(&id, "could not be removed").await;
        // The code is still on the lock: that is what the alert is about.
        assert_eq!(s.codes_of(seeds::FRONT_DOOR, &id).len(), 1);
        s.seam.clear_faults();
    }
);
