//! A tour on a lock that reports no entries (the emulator's igloohome-like lockbox) whose
//! window ends with no word of the renter ends `unverified`, not as a no-show: no Knock visit,
//! no "we missed you" mail, no removal asked of the lock; staff read "Ended (entry not
//! reported)", and the renter's page says the time has passed and lets them say they toured
//! (one visit). The same silence on a lock that reports entries is still a no-show.
use chrono::{Duration, Utc};
use seam_sandbox::seeds;
use tourgate::booking::{AccessCallback, BookingId, BookingState, WindowSweep};
use tourgate::domain::rules::CallbackKind;
use tourgate::outbox::JobKind;

use super::{seam_app, SeamApp};
use crate::callbacks::state_of;
use crate::helpers::{client, Backend};
use crate::on_both_backends;

impl SeamApp {
    /// Books, lets the lock take the code, then sweeps as if 16 minutes after the window:
    /// nobody reported an entry. (booking id, page, sweep).
    async fn silent_window(&self, device: &str) -> (String, String, WindowSweep) {
        let (id, page) = self.book().await;
        self.drain().await;
        self.seam.tick().await;
        assert_eq!(self.codes_of(device, &id).len(), 1);
        let end = self.booking(&id).await.slot_end;
        let swept_at = end + Duration::minutes(16);
        let sweep = self
            .app
            .bookings
            .sweep_ended_windows(swept_at)
            .await
            .unwrap();
        self.app.outbox.drain(swept_at).await.unwrap();
        (id, page, sweep)
    }

    async fn no_show_offer_queued(&self, id: &str) -> bool {
        self.jobs(id, JobKind::Email)
            .await
            .iter()
            .any(|j| j.payload.contains("no_show_offer"))
    }
}

on_both_backends!(
    a_silent_window_on_a_lockbox_ends_unverified_with_no_visit_no_mail_and_no_removal,
    |b: Backend| async move {
        let s = seam_app(b, seeds::LOCKBOX, Duration::minutes(4)).await;
        let (id, page, sweep) = s.silent_window(seeds::LOCKBOX).await;
        let bid = BookingId::parse(&id).unwrap();
        assert_eq!(sweep.unverified, std::slice::from_ref(&bid), "{sweep:?}");
        assert!(sweep.no_shows.is_empty() && sweep.completed.is_empty());
        assert_eq!(state_of(&s.app, &id).await, BookingState::Unverified);
        assert!(s.app.sandbox.snapshot().visits.is_empty(), "no visit");
        assert!(!s.no_show_offer_queued(&id).await, "no \"we missed you\"");
        // The offline code cannot be taken back, and nothing tries.
        assert!(s.jobs(&id, JobKind::AccessRevoke).await.is_empty());
        let history = s.app.app_store.booking_events(&bid).await.unwrap();
        assert!(
            history.iter().any(|e| e.kind == "unverified"),
            "{history:?}"
        );
        assert!(!history.iter().any(|e| e.kind == "no_show"), "{history:?}");
        // A second sweep leaves it as it is.
        let again = s
            .app
            .bookings
            .sweep_ended_windows(s.booking(&id).await.slot_end + Duration::hours(1))
            .await
            .unwrap();
        assert_eq!(again, WindowSweep::default());

        // Staff read it plainly, on the booking page and the Today board, and it is not a
        // trouble to chase.
        let desk = crate::today::staff_client(&s.app, "desk@example.com", &["maple-court"]).await;
        let (status, staff_page) = s.app.get(&desk, &format!("/staff/bookings/{id}")).await;
        assert_eq!(status, 200);
        assert!(
            staff_page.contains("Ended (entry not reported)"),
            "{staff_page}"
        );
        assert!(staff_page.contains("data-unverified"));
        let (status, board) = s.app.get(&desk, "/staff").await;
        assert_eq!(status, 200);
        assert!(board.contains("state-unverified"), "{board}");
        assert!(board.contains("Ended (entry not reported)"));
        assert!(
            !crate::today::attention(&board)
                .iter()
                .any(|(_, b)| *b == id),
            "{board}"
        );

        // The renter: the time has passed, book another; no "missed".
        let (status, html) = s.app.get(&client(), &page).await;
        assert_eq!(status, 200);
        assert!(html.contains("Your tour time has passed"), "{html}");
        assert!(!html.to_lowercase().contains("missed"), "{html}");
        assert!(html.contains("/tours/maple-court"));

        // "I took my tour": completed with its one visit; nothing more after.
        s.finish(&page).await;
        assert_eq!(state_of(&s.app, &id).await, BookingState::Completed);
        s.drain().await;
        assert_eq!(s.app.sandbox.snapshot().visits.len(), 1, "one visit");
        s.finish_again_changes_nothing(&page).await;
        s.app
            .bookings
            .sweep_ended_windows(Utc::now() + Duration::days(1))
            .await
            .unwrap();
        s.drain().await;
        assert_eq!(s.app.sandbox.snapshot().visits.len(), 1);
    }
);

on_both_backends!(
    a_late_report_from_inside_the_window_completes_an_unverified_tour_and_a_later_one_does_not,
    |b: Backend| async move {
        let s = seam_app(b, seeds::LOCKBOX, Duration::minutes(4)).await;
        let (first, _, _) = s.silent_window(seeds::LOCKBOX).await;
        let b1 = s.booking(&first).await;
        assert_eq!(b1.state, BookingState::Unverified);
        let report = |hook: &str, id: &BookingId, at| AccessCallback {
            webhook_id: hook.into(),
            kind: CallbackKind::TourCompleted,
            booking: id.clone(),
            occurred_at: at,
            unit_names: vec!["101".into()],
        };
        // A partner's tour.completed from after the grace proves nothing about the tour.
        let late = report(
            "msg_unverified_late",
            &b1.id,
            b1.slot_end + Duration::minutes(20),
        );
        let now = b1.slot_end + Duration::minutes(30);
        let outcome = s.app.bookings.apply_callback(&late, now).await.unwrap();
        assert!(
            matches!(
                outcome,
                tourgate::booking::CallbackOutcome::Refused(BookingState::Unverified)
            ),
            "{outcome:?}"
        );
        // One from inside the window, arriving late, completes it with one visit.
        let inside = report(
            "msg_unverified_inside",
            &b1.id,
            b1.slot_start() + Duration::minutes(5),
        );
        let outcome = s.app.bookings.apply_callback(&inside, now).await.unwrap();
        assert!(
            matches!(
                outcome,
                tourgate::booking::CallbackOutcome::Accepted { changed: true }
            ),
            "{outcome:?}"
        );
        assert_eq!(state_of(&s.app, &first).await, BookingState::Completed);
        s.app.outbox.drain(now).await.unwrap();
        let visits = s.app.sandbox.snapshot().visits;
        assert_eq!(visits.len(), 1, "one visit");
        assert!(
            visits[0].unit_names.contains(&"101".to_string()),
            "{visits:?}"
        );
    }
);

on_both_backends!(
    the_same_silent_window_on_a_lock_that_reports_entries_is_still_a_no_show,
    |b: Backend| async move {
        let s = seam_app(b, seeds::FRONT_DOOR, Duration::minutes(4)).await;
        let (id, page, sweep) = s.silent_window(seeds::FRONT_DOOR).await;
        assert_eq!(sweep.no_shows, [BookingId::parse(&id).unwrap()]);
        assert!(sweep.unverified.is_empty());
        assert_eq!(state_of(&s.app, &id).await, BookingState::NoShow);
        assert!(s.app.sandbox.snapshot().visits.is_empty(), "no visit");
        assert!(s.no_show_offer_queued(&id).await);
        assert!(!s.jobs(&id, JobKind::AccessRevoke).await.is_empty());
        let (_, html) = s.app.get(&client(), &page).await;
        assert!(html.contains("This tour was missed"), "{html}");
        assert!(!html.contains("/done\""), "a no-show cannot be finished");
    }
);
