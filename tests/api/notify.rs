//! Mail to the renter through the outbox: queued with the confirmation, sent over a real SMTP
//! conversation when due, each one logged to Knock's guest card afterwards.
use chrono::{DateTime, Duration, Utc};
use knock_sandbox::EmailType;
use mailparse::{parse_mail, MailHeaderMap};
use tourgate::access::CodeProvider;
use tourgate::booking::BookingId;
use tourgate::outbox::{Job, JobKind, JobState, OutboxJob};

use crate::callbacks::{booking_id, MAPLE};
use crate::helpers::{client, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::{Received, TestSmtp};

async fn mail_jobs(app: &TestApp, id: &str) -> Vec<OutboxJob> {
    app.app_store
        .outbox_jobs_for_booking(&BookingId::parse(id).unwrap())
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JobKind::Email)
        .collect()
}

fn mail_of(job: &OutboxJob) -> String {
    match job.job().unwrap() {
        Job::Email(e) => e.mail,
        other => panic!("not an e-mail job: {other:?}"),
    }
}

fn subject(m: &Received) -> String {
    parse_mail(&m.data)
        .unwrap()
        .headers
        .get_first_value("Subject")
        .unwrap()
}

/// Books the first offered slot starting at least `ahead` from now; returns (id, start).
async fn book_ahead(app: &TestApp, ahead: Duration) -> (String, DateTime<Utc>) {
    let c = client();
    let form = app.landing(&c, MAPLE).await;
    let start = form
        .starts
        .iter()
        .find(|s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc) > Utc::now() + ahead)
        .expect("a slot far enough ahead")
        .clone();
    let page = app.book(&c, MAPLE, Some(&start)).await;
    let (_, html) = app.get(&c, &page).await;
    let at = DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .with_timezone(&Utc);
    (booking_id(&html), at)
}

on_both_backends!(
    a_confirmation_is_queued_with_the_booking_sent_over_smtp_and_logged_in_knock,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = spawn_app_with(b, &[("SMTP_URL", smtp.url.as_str())]).await;
        let (id, _) = book_ahead(&app, Duration::hours(30)).await;

        // Queued in the confirm transaction, before any worker ran.
        let jobs = mail_jobs(&app, &id).await;
        let kinds: Vec<String> = jobs.iter().map(mail_of).collect();
        assert_eq!(
            kinds,
            [
                "confirmation",
                "reminder_24h",
                "reminder_1h",
                "access_instructions"
            ]
        );
        assert!(jobs.iter().all(|j| j.state == JobState::Pending));
        assert!(smtp.received().is_empty());

        app.outbox.drain(Utc::now()).await.unwrap();
        let got = smtp.wait_for(1);
        assert_eq!(got.len(), 1, "only the confirmation is due now");
        assert_eq!(got[0].to, vec!["grace@example.com".to_string()]);
        assert_eq!(
            subject(&got[0]),
            "Your booking link: self-guided tour of Maple Court Apartments"
        );
        let confirmation = &mail_jobs(&app, &id).await[0];
        assert_eq!(confirmation.state, JobState::Delivered);

        // The same drain delivered the log that the send queued.
        let snap = app.sandbox.snapshot();
        assert_eq!(snap.emails.len(), 1);
        let log = &snap.emails[0];
        assert_eq!(log.email_type, EmailType::EmailAutomatedMessageSent);
        assert_eq!(
            Some(&log.prospect_id),
            snap.prospects.first().map(|p| &p.id)
        );
        assert_eq!(log.subject, subject(&got[0]));
        assert!(log.body.contains("100 Maple St"), "{}", log.body);
        assert!(!log.agent_username.is_empty());

        // Nothing is sent or logged twice.
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(smtp.received().len(), 1);
        assert_eq!(app.sandbox.snapshot().emails.len(), 1);
    }
);

on_both_backends!(
    reminders_and_access_instructions_go_out_at_their_due_times_with_the_door_code,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = spawn_app_with(b, &[("SMTP_URL", smtp.url.as_str())]).await;
        let (id, start) = book_ahead(&app, Duration::hours(30)).await;
        let due: Vec<(String, DateTime<Utc>)> = mail_jobs(&app, &id)
            .await
            .iter()
            .map(|j| (mail_of(j), j.next_attempt_at))
            .collect();
        let due_of = |k: &str| due.iter().find(|(m, _)| m == k).unwrap().1;
        assert_eq!(due_of("reminder_24h"), start - Duration::hours(24));
        assert_eq!(due_of("reminder_1h"), start - Duration::hours(1));
        // The booking page shows the code from an hour before (the default): so does the mail.
        assert_eq!(due_of("access_instructions"), start - Duration::minutes(60));

        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(smtp.wait_for(1).len(), 1);
        // A second before the day-ahead reminder: nothing new.
        app.outbox
            .drain(start - Duration::hours(24) - Duration::seconds(1))
            .await
            .unwrap();
        assert_eq!(smtp.received().len(), 1);
        app.outbox.drain(start - Duration::hours(24)).await.unwrap();
        let got = smtp.wait_for(2);
        assert_eq!(
            subject(&got[1]),
            "Tomorrow: your self-guided tour of Maple Court Apartments"
        );
        app.outbox.drain(start - Duration::hours(1)).await.unwrap();
        let got = smtp.wait_for(4);
        assert_eq!(got.len(), 4);
        let subjects: Vec<String> = got.iter().map(subject).collect();
        assert!(subjects
            .contains(&"In an hour: your self-guided tour of Maple Court Apartments".into()));
        let access = got
            .iter()
            .find(|m| subject(m) == "How to get in: your tour of Maple Court Apartments")
            .expect("access instructions");
        let code = CodeProvider::new(app.settings.secret_key.expose())
            .code_for(&BookingId::parse(&id).unwrap(), start);
        let raw = String::from_utf8_lossy(&access.data).to_string();
        let body = parse_mail(&access.data)
            .unwrap()
            .subparts
            .iter()
            .map(|p| p.get_body().unwrap())
            .collect::<String>();
        assert!(body.contains(code.reveal()), "{raw}");
        // Each mail sent is on the guest card once.
        assert_eq!(app.sandbox.snapshot().emails.len(), 4);
        assert!(mail_jobs(&app, &id)
            .await
            .iter()
            .all(|j| j.state == JobState::Delivered && j.knock_result.as_deref() == Some("sent")));
    }
);

on_both_backends!(
    an_unreachable_mail_server_leaves_the_confirmation_pending_and_nothing_logged,
    |b: Backend| async move {
        // A port nobody listens on: connection refused, a failure for now.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
        drop(closed);
        let app = spawn_app_with(b, &[("SMTP_URL", url.as_str())]).await;
        let (id, _) = book_ahead(&app, Duration::hours(30)).await;
        let now = Utc::now();
        app.outbox.drain(now).await.unwrap();
        let confirmation = mail_jobs(&app, &id).await.remove(0);
        assert_eq!(mail_of(&confirmation), "confirmation");
        assert_eq!(confirmation.state, JobState::Pending);
        assert!(confirmation.next_attempt_at > now);
        assert!(confirmation.last_error.is_some());
        assert!(app.sandbox.snapshot().emails.is_empty());
    }
);

on_both_backends!(
    the_demo_mailbox_lists_the_mail_written_to_files_and_shows_each_one,
    |b: Backend| async move {
        let app = spawn_app_with(b, &[]).await;
        let c = client();
        let (_, empty) = app.get(&c, "/sandbox/mail").await;
        assert!(empty.contains("data-mail-empty"), "{empty}");
        book_ahead(&app, Duration::hours(2)).await;
        app.outbox.drain(Utc::now()).await.unwrap();

        let (status, html) = app.get(&c, "/sandbox/mail").await;
        assert_eq!(status, 200);
        let doc = scraper::Html::parse_document(&html);
        let link = scraper::Selector::parse("[data-mail] a").unwrap();
        let first = doc.select(&link).next().expect("a listed mail");
        assert_eq!(
            first.text().collect::<String>(),
            "Your booking link: self-guided tour of Maple Court Apartments"
        );
        let (status, raw) = app.get(&c, first.attr("href").unwrap()).await;
        assert_eq!(status, 200);
        assert!(raw.contains("grace@example.com"), "{raw}");

        for bad in [
            "/sandbox/mail/..%2Fsecret.eml",
            "/sandbox/mail/nothing.eml",
            "/sandbox/mail/x.txt",
        ] {
            assert_eq!(app.get(&c, bad).await.0, 404, "{bad}");
        }
    }
);

#[tokio::test]
async fn there_is_no_demo_mailbox_when_mail_goes_over_smtp() {
    let smtp = TestSmtp::start();
    let app = spawn_app_with(Backend::Sqlite, &[("SMTP_URL", smtp.url.as_str())]).await;
    assert_eq!(app.get(&client(), "/sandbox/mail").await.0, 404);
}

on_both_backends!(
    a_cancelled_tour_gets_a_calendar_cancel_and_no_reminders,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = spawn_app_with(b, &[("SMTP_URL", smtp.url.as_str())]).await;
        let (id, start) = book_ahead(&app, Duration::hours(30)).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        assert_eq!(smtp.wait_for(1).len(), 1, "the confirmation");
        let bid = BookingId::parse(&id).unwrap();
        app.bookings
            .cancel(&bid, tourgate::booking::Canceller::Renter, Utc::now())
            .await
            .unwrap();
        // Driven past every reminder's time: only the cancellation goes out.
        app.outbox
            .drain(start - Duration::minutes(5))
            .await
            .unwrap();
        let got = smtp.wait_for(2);
        assert_eq!(
            got.len(),
            2,
            "{:?}",
            got.iter().map(subject).collect::<Vec<_>>()
        );
        assert_eq!(
            subject(&got[1]),
            "Cancelled: your tour of Maple Court Apartments"
        );
        let raw = String::from_utf8_lossy(&got[1].data).to_string();
        assert!(raw.contains("METHOD:CANCEL"), "{raw}");
        assert!(raw.contains(&format!("UID:{id}@tourgate")));
        // One Knock e-mail log per message sent.
        assert_eq!(app.sandbox.snapshot().emails.len(), 2);
    }
);

on_both_backends!(
    the_sender_and_the_knock_agent_come_from_the_settings,
    |b: Backend| async move {
        let smtp = TestSmtp::start();
        let app = spawn_app_with(
            b,
            &[
                ("SMTP_URL", smtp.url.as_str()),
                ("MAIL_FROM", "Maple Tours <tours@maple.example>"),
                (
                    "KNOCK_AGENT_USERNAME",
                    "2be16a9e-b3ab-4b1f-9632-575aca1a3d20",
                ),
            ],
        )
        .await;
        book_ahead(&app, Duration::hours(30)).await;
        app.outbox.drain(Utc::now()).await.unwrap();
        let got = smtp.wait_for(1);
        assert_eq!(got[0].from, "tours@maple.example");
        let snap = app.sandbox.snapshot();
        assert_eq!(
            snap.emails[0].agent_username,
            "2be16a9e-b3ab-4b1f-9632-575aca1a3d20"
        );
    }
);
