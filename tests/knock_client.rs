//! The Knock client over real HTTP: against the sandbox for every endpoint and failure class
//! (the tests that read Knock's answers against every sandbox profile: strict, sparse, gateway,
//! events-as-documented), and against a tiny contract-shape stub for what the sandbox cannot
//! show (headers on the wire, 2xx bodies of yet other plausible shapes, a key refused then
//! accepted).
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, FixedOffset, NaiveDate, TimeDelta, Utc};
use secrecy::SecretString;
use url::Url;

use knock_sandbox::{
    AppointmentStatus as SandboxStatus, Fault, FaultRoute, Profile as SandboxProfile, Sandbox,
    SandboxCommunity, SandboxConfig,
};
use tourgate::domain::Bedrooms;
use tourgate::knock::types::{
    Agent, AppointmentId, AppointmentRequest, AppointmentStatus, EmailLog, EmailLogType, Profile,
    ProspectId, ProspectRequest, RequestedTime, TourType, VisitRequest,
};
use tourgate::knock::{KnockClient, KnockClientConfig, KnockError, STAGE_COMMUNITY_ID};
use tourgate::metrics::Metrics;

const KEY: &str = "syndication-appointment-TEST-KEY";
const NEW_YORK_COMMUNITY: &str = "191b65d2686d11e9";
const TIMEOUT: Duration = Duration::from_secs(5);

fn client_for(base_url: Url, key: &str, timeout: Duration) -> (KnockClient, Metrics) {
    let metrics = Metrics::new();
    let config = KnockClientConfig {
        connect_timeout: Duration::from_secs(3),
        timeout,
        ..KnockClientConfig::new(base_url, SecretString::from(key))
    };
    let client = KnockClient::new(config, metrics.clone()).expect("client builds");
    (client, metrics)
}

fn auth_failures(metrics: &Metrics, endpoint: &str) -> u64 {
    metrics
        .knock_auth_failures
        .with_label_values(&[endpoint])
        .get()
}

fn calls(metrics: &Metrics, endpoint: &str, outcome: &str) -> u64 {
    metrics
        .knock_calls
        .with_label_values(&[endpoint, outcome])
        .get()
}

fn latency_samples(metrics: &Metrics, endpoint: &str) -> u64 {
    metrics
        .knock_latency
        .with_label_values(&[endpoint])
        .get_sample_count()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("valid test time")
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------------
// The sandbox, served over HTTP on port 0, with its clock fixed.

struct TestKnock {
    sandbox: Sandbox,
    base_url: Url,
    client: KnockClient,
    metrics: Metrics,
}

/// Friday 2026-11-20, 08:55 in Los Angeles (the stage community's zone). The sandbox clock
/// keeps running from here, so the first slot (10:00, with an hour's notice) has 5 min slack.
const LA_NOW: &str = "2026-11-20T16:55:00Z";

/// One test per sandbox profile (`knock_sandbox::Profile`): the body gets the profile and
/// asserts what that Knock answers where it answers differently on purpose.
macro_rules! on_every_profile {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test]
            async fn strict() {
                ($body)(SandboxProfile::Strict).await;
            }
            #[tokio::test]
            async fn sparse() {
                ($body)(SandboxProfile::Sparse).await;
            }
            #[tokio::test]
            async fn gateway() {
                ($body)(SandboxProfile::Gateway).await;
            }
            #[tokio::test]
            async fn events_as_documented() {
                ($body)(SandboxProfile::EventsAsDocumented).await;
            }
        }
    };
}

async fn spawn_knock() -> TestKnock {
    spawn_knock_at(LA_NOW).await
}

async fn spawn_knock_on(profile: SandboxProfile) -> TestKnock {
    spawn_knock_at_on(LA_NOW, profile).await
}

async fn spawn_knock_at(now: &str) -> TestKnock {
    spawn_knock_at_on(now, SandboxProfile::Strict).await
}

async fn spawn_knock_at_on(now: &str, profile: SandboxProfile) -> TestKnock {
    let sandbox = Sandbox::new(SandboxConfig {
        profile,
        communities: vec![
            SandboxCommunity::stage_test_community(),
            SandboxCommunity::new(
                NEW_YORK_COMMUNITY,
                "Hudson Court",
                chrono_tz::America::New_York,
                30,
                vec!["1A".into()],
            ),
        ],
        ..Default::default()
    });
    sandbox.set_now(Some(utc(now)));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind sandbox");
    let port = listener.local_addr().expect("sandbox address").port();
    let server = sandbox.start(listener).expect("sandbox starts");
    tokio::spawn(server);
    let base_url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("sandbox url");
    let (client, metrics) = client_for(base_url.clone(), KEY, TIMEOUT);
    TestKnock {
        sandbox,
        base_url,
        client,
        metrics,
    }
}

impl TestKnock {
    fn client_with(&self, key: &str, timeout: Duration) -> (KnockClient, Metrics) {
        client_for(self.base_url.clone(), key, timeout)
    }

    /// How many calls the sandbox received on `path` (to prove the client never retries).
    fn requests_to(&self, path: &str) -> usize {
        self.sandbox
            .snapshot()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    async fn first_self_guided_slot(&self, community: &str) -> DateTime<FixedOffset> {
        let times = self
            .client
            .available_times(community, true)
            .await
            .expect("available times");
        *times.first().expect("at least one slot")
    }

    async fn create_prospect(&self) -> ProspectId {
        self.client
            .create_prospect(&prospect_request())
            .await
            .expect("prospect created")
    }

    async fn book(&self, start: DateTime<FixedOffset>) -> tourgate::knock::types::Appointment {
        self.client
            .request_appointment(&appointment_request(STAGE_COMMUNITY_ID, start))
            .await
            .expect("appointment booked")
    }
}

fn prospect_request() -> ProspectRequest {
    ProspectRequest {
        community_id: STAGE_COMMUNITY_ID.into(),
        source_title: "Property Website".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: Some("ada@example.com".into()),
        phone: Some("2065550155".into()),
        move_date: NaiveDate::from_ymd_opt(2027, 1, 15),
        bedrooms: Some(vec![Bedrooms::Two]),
        sms_consent: Some(true),
        ..Default::default()
    }
}

fn appointment_request(community: &str, start: DateTime<FixedOffset>) -> AppointmentRequest {
    AppointmentRequest {
        community_id: community.into(),
        requested_times: vec![RequestedTime {
            start_time: start,
            end_time: Some(start + TimeDelta::minutes(30)),
        }],
        tour_type: TourType::SelfGuided,
        source_title: Some("Property Website".into()),
        sms_consent: true,
        sms_consent_disclaimer: Some("I agree to receive texts about my tour.".into()),
        profile: Profile {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            email: Some("ada@example.com".into()),
            phone: Some("2065550155".into()),
            ..Default::default()
        },
    }
}

// --- happy paths, one per endpoint

#[tokio::test]
async fn available_times_are_future_starts_in_the_communitys_own_offset() {
    let knock = spawn_knock().await;

    let times = knock
        .client
        .available_times(STAGE_COMMUNITY_ID, true)
        .await
        .expect("available times");

    assert!(!times.is_empty());
    // 08:55 local now, an hour's notice: the first slot is 10:00 Pacific standard time.
    assert_eq!(times[0].to_rfc3339(), "2026-11-20T10:00:00-08:00");
    assert!(times
        .iter()
        .all(|t| t.offset().local_minus_utc() == -8 * 3600));
    assert!(times.windows(2).all(|w| w[0] < w[1]), "ascending");
    assert!(times.iter().all(|t| *t > utc(LA_NOW)));
    assert_eq!(
        knock.sandbox.snapshot().requests[0].query,
        "forSelfGuided=true"
    );
}

#[tokio::test]
async fn available_times_across_the_dst_change_keep_minus_four_then_minus_five() {
    // Thursday 2026-10-29 08:00 in New York; clocks fall back on Sunday 2026-11-01.
    let knock = spawn_knock_at("2026-10-29T12:00:00Z").await;

    let times = knock
        .client
        .available_times(NEW_YORK_COMMUNITY, true)
        .await
        .expect("available times");

    let shown: Vec<String> = times.iter().map(|t| t.to_rfc3339()).collect();
    assert!(
        shown.contains(&"2026-10-31T10:00:00-04:00".to_owned()),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"2026-11-02T10:00:00-05:00".to_owned()),
        "{shown:?}"
    );
    let change = utc("2026-11-01T06:00:00Z");
    for t in &times {
        let expected = if *t < change { -4 } else { -5 };
        assert_eq!(t.offset().local_minus_utc(), expected * 3600, "{t}");
    }

    // The -05:00 start goes back to Knock exactly as offered, and is booked.
    let after_change = times
        .iter()
        .find(|t| t.to_rfc3339() == "2026-11-02T10:00:00-05:00")
        .copied()
        .expect("offered");
    let booked = knock
        .client
        .request_appointment(&appointment_request(NEW_YORK_COMMUNITY, after_change))
        .await
        .expect("booked");
    assert_eq!(booked.status, AppointmentStatus::Confirmed);
    let snapshot = knock.sandbox.snapshot();
    assert_eq!(snapshot.appointments[0].start, utc("2026-11-02T15:00:00Z"));
    let sent = snapshot
        .requests
        .iter()
        .find(|r| r.path == "/appointment/request")
        .and_then(|r| r.body.as_ref().map(|b| b.value()))
        .expect("request body logged");
    assert_eq!(
        sent["requestedTimes"][0]["startTime"],
        "2026-11-02T10:00:00-05:00"
    );
    assert_eq!(
        sent["requestedTimes"][0]["endTime"],
        "2026-11-02T10:30:00-05:00"
    );
}

on_every_profile!(
    a_created_prospect_reads_back_as_knocks_guest_card,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;

        let id = knock.create_prospect().await;
        let prospect = knock.client.get_prospect(&id).await.expect("prospect");

        assert_eq!(prospect.prospect_id, id);
        assert_eq!(prospect.community_id, STAGE_COMMUNITY_ID);
        assert_eq!(prospect.first_name.as_deref(), Some("Ada"));
        assert_eq!(prospect.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(prospect.email.as_deref(), Some("ada@example.com"));
        assert_eq!(prospect.phone.as_deref(), Some("+12065550155"));
        assert_eq!(prospect.move_date, NaiveDate::from_ymd_opt(2027, 1, 15));
        assert_eq!(prospect.known_bedrooms(), vec![Bedrooms::Two]);
        assert_eq!(
            prospect.source.and_then(|s| s.title).as_deref(),
            Some("Property Website")
        );
        assert_eq!(prospect.status.as_deref(), Some("new"));
        assert_eq!(knock.sandbox.snapshot().prospects[0].id, id.as_str());
        // Knock de-duplicates on e-mail/phone: the same person gets the same id.
        assert_eq!(knock.create_prospect().await, id);
    }
);

on_every_profile!(
    requesting_an_offered_slot_books_it_and_cancel_cancels_it,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let start = knock.first_self_guided_slot(STAGE_COMMUNITY_ID).await;

        let booked = knock.book(start).await;
        assert_eq!(booked.status, AppointmentStatus::Confirmed);
        let snapshot = knock.sandbox.snapshot();
        assert_eq!(snapshot.appointments.len(), 1);
        assert_eq!(snapshot.appointments[0].id, booked.id.as_str());
        assert_eq!(snapshot.appointments[0].start, start.with_timezone(&Utc));
        // The booked slot is no longer offered.
        let times = knock
            .client
            .available_times(STAGE_COMMUNITY_ID, true)
            .await
            .expect("available times");
        assert!(!times.contains(&start));

        let cancelled = knock
            .client
            .cancel_appointment(&booked.id)
            .await
            .expect("cancelled");
        // `sparse` answers the cancel `{}`: done, with nothing read from it.
        let echoed = profile != SandboxProfile::Sparse;
        assert_eq!(
            cancelled.appointment_id.as_ref(),
            echoed.then_some(&booked.id)
        );
        let said = echoed.then_some(AppointmentStatus::Cancelled);
        assert_eq!(cancelled.status, said);
        assert_eq!(
            knock.sandbox.snapshot().appointments[0].status,
            SandboxStatus::Cancelled
        );
        // Cancelling again is answered like the first time (API.md §12.8): done.
        let again = knock
            .client
            .cancel_appointment(&booked.id)
            .await
            .expect("a second cancel is done too");
        assert_eq!(again.status, said);
    }
);

on_every_profile!(
    prospect_events_are_paged_through_with_the_cursor,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let id = knock.create_prospect().await;
        let start = knock.first_self_guided_slot(STAGE_COMMUNITY_ID).await;
        knock.book(start).await;

        let everything = knock.client.prospect_events(&id, 100, None).await;
        if profile == SandboxProfile::Gateway {
            // The feed is refused to our key: our key refused, retryable, not a verdict.
            let err = everything.expect_err("the gateway refuses the feed");
            assert_eq!(
                err,
                KnockError::Unauthorized {
                    endpoint: "prospect_events",
                    status: 403,
                    message: Some("Forbidden".into()),
                }
            );
            assert!(err.is_retryable());
            return;
        }
        let everything = everything.expect("one big page");
        assert!(!everything.has_next_page);
        if profile == SandboxProfile::EventsAsDocumented {
            // Only the documented type: the booking's own event, none of Knock's messages.
            assert_eq!(everything.events.len(), 1, "{everything:?}");
            assert_eq!(
                everything.events[0].kind.as_deref(),
                Some("APPOINTMENT_CREATED")
            );
        } else {
            assert!(everything.events.len() >= 2, "{everything:?}");
        }
        let created = everything
            .events
            .iter()
            .find_map(|e| e.appointment())
            .expect("an APPOINTMENT_CREATED event");
        assert_eq!(
            created.start_time.map(|t| t.with_timezone(&Utc)),
            Some(start.with_timezone(&Utc))
        );

        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..everything.events.len() {
            let page = knock
                .client
                .prospect_events(&id, 1, after.as_deref())
                .await
                .expect("page");
            assert_eq!(page.events.len(), 1);
            paged.extend(page.events);
            if !page.has_next_page {
                break;
            }
            after = Some(
                page.end_cursor
                    .expect("a cursor while there is a next page"),
            );
        }
        assert_eq!(paged, everything.events);
    }
);

on_every_profile!(
    a_past_visit_is_recorded_with_units_matched_loosely,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let prospect_id = knock.create_prospect().await;
        let start = knock.first_self_guided_slot(STAGE_COMMUNITY_ID).await;
        let appointment = knock.book(start).await;
        let visit_time = knock.sandbox.now() - TimeDelta::minutes(5);

        let visit_id = knock
            .client
            .post_visit(&VisitRequest {
                prospect_id: prospect_id.clone(),
                visit_time,
                appointment_id: Some(appointment.id.clone()),
                is_self_guided: true,
                source_title: Some("Property Website".into()),
                unit_names: vec!["unit5a".into(), "no such unit".into()],
            })
            .await
            .expect("visit recorded");

        let visits = knock.sandbox.snapshot().visits;
        assert_eq!(visits.len(), 1);
        // `sparse` answers `{}`: recorded all the same, no id to keep.
        let answered = (profile != SandboxProfile::Sparse).then(|| visits[0].id.clone());
        assert_eq!(visit_id.map(|v| v.to_string()), answered);
        assert_eq!(visits[0].prospect_id, prospect_id.as_str());
        assert_eq!(
            visits[0].appointment_id.as_deref(),
            Some(appointment.id.as_str())
        );
        assert_eq!(visits[0].is_self_guided, Some(true));
        assert_eq!(visits[0].matched_units, vec!["Unit 5A".to_owned()]);
        // Millisecond precision survives the trip.
        assert_eq!(
            visits[0].visit_time.timestamp_millis(),
            visit_time.timestamp_millis()
        );
    }
);

on_every_profile!(
    a_logged_email_is_recorded_and_its_communication_id_returned,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let prospect_id = knock.create_prospect().await;

        let communication_id = knock
            .client
            .log_email(
                &prospect_id,
                &EmailLog {
                    kind: EmailLogType::ToProspectSent,
                    sent_time: knock.sandbox.now() - TimeDelta::seconds(3),
                    agent: Agent {
                        username: "2be16a9e-b3ab-4b1f-9632-575aca1a3d20".into(),
                    },
                    subject: "Your self-guided tour".into(),
                    body: "<html>See you soon</html>".into(),
                },
            )
            .await
            .expect("e-mail logged");

        let emails = knock.sandbox.snapshot().emails;
        assert_eq!(emails.len(), 1);
        let answered =
            (profile != SandboxProfile::Sparse).then(|| emails[0].communication_id.clone());
        assert_eq!(communication_id.map(|c| c.to_string()), answered);
        assert_eq!(emails[0].prospect_id, prospect_id.as_str());
        assert_eq!(emails[0].subject, "Your self-guided tour");
        // An outbound first contact opens the prospect (K-EM).
        let prospect = knock
            .client
            .get_prospect(&prospect_id)
            .await
            .expect("prospect");
        assert_eq!(prospect.status.as_deref(), Some("open"));
    }
);

// --- Knock refusing for good

#[tokio::test]
async fn a_future_visit_is_refused_for_good_with_knocks_message() {
    let knock = spawn_knock().await;
    let prospect_id = knock.create_prospect().await;

    let err = knock
        .client
        .post_visit(&VisitRequest {
            prospect_id,
            visit_time: knock.sandbox.now() + TimeDelta::hours(1),
            appointment_id: None,
            is_self_guided: true,
            source_title: None,
            unit_names: vec![],
        })
        .await
        .expect_err("future visit");

    assert_eq!(
        err,
        KnockError::Permanent {
            endpoint: "visit",
            status: 400,
            error_message: Some("visitTime: must not be in the future".into()),
            error_code: None,
        }
    );
    assert!(knock.sandbox.snapshot().visits.is_empty());
    assert_eq!(calls(&knock.metrics, "visit", "permanent"), 1);
}

#[tokio::test]
async fn an_unknown_prospect_is_refused_with_knocks_code_and_text() {
    let knock = spawn_knock().await;

    let err = knock
        .client
        .get_prospect(&ProspectId::parse("0").expect("id"))
        .await
        .expect_err("no such prospect");

    assert_eq!(
        err,
        KnockError::Permanent {
            endpoint: "prospect_get",
            status: 400,
            error_message: Some(
                "Unable to get prospect upstream - Prospect_id 0 does not exist.".into()
            ),
            error_code: Some("CORE_API_GET_PROSPECT_FAIL".into()),
        }
    );
}

on_every_profile!(
    a_wrong_key_is_our_key_refused_not_a_verdict_and_is_counted,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let (client, metrics) = knock.client_with("not-a-knock-key", TIMEOUT);
        assert_eq!(client.auth_refused_since(), None);

        let before = Utc::now();
        let err = client
            .available_times(STAGE_COMMUNITY_ID, true)
            .await
            .expect_err("wrong key");

        // The gateway profile tells an unknown key (401) from a missing one (403).
        let (status, message) = match profile {
            SandboxProfile::Gateway => (401, "Unauthorized"),
            _ => (403, "Forbidden"),
        };
        assert_eq!(
            err,
            KnockError::Unauthorized {
                endpoint: "available_times",
                status,
                message: Some(message.into()),
            }
        );
        assert!(err.is_retryable() && err.is_unauthorized());
        assert_eq!(calls(&metrics, "available_times", "unauthorized"), 1);
        assert_eq!(auth_failures(&metrics, "available_times"), 1);
        let since = client.auth_refused_since().expect("refusal on record");
        assert!(since >= before && since <= Utc::now());
        assert!(metrics
            .render()
            .contains(r#"tourgate_knock_auth_failures_total{endpoint="available_times"} 1"#));
        // The good key's client has its own record: untouched.
        assert_eq!(knock.client.auth_refused_since(), None);
        assert_eq!(auth_failures(&knock.metrics, "available_times"), 0);
    }
);

// --- failures worth retrying, through the sandbox's fault injection

on_every_profile!(
    a_503_with_retry_after_is_retryable_and_the_client_does_not_retry_it,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let start = knock.first_self_guided_slot(STAGE_COMMUNITY_ID).await;
        knock
            .sandbox
            .inject_fault(Fault::status(FaultRoute::AppointmentRequest, 503).with_retry_after(2));

        let err = knock
            .client
            .request_appointment(&appointment_request(STAGE_COMMUNITY_ID, start))
            .await
            .expect_err("fault");

        assert!(err.is_retryable(), "{err:?}");
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(err.endpoint(), Some("appointment_request"));
        assert_eq!(knock.requests_to("/appointment/request"), 1);
        assert!(knock.sandbox.snapshot().appointments.is_empty());
        // The fault was for one call: the caller's retry goes through (`sparse` answers only the
        // id, and an appointment with no status is a confirmed one).
        let booked = knock.book(start).await;
        assert_eq!(booked.status, AppointmentStatus::Confirmed);
        assert_eq!(
            knock.sandbox.snapshot().appointments[0].id,
            booked.id.as_str()
        );
    }
);

#[tokio::test]
async fn a_500_is_retryable_with_its_status() {
    let knock = spawn_knock().await;
    knock
        .sandbox
        .inject_fault(Fault::status(FaultRoute::ProspectCreate, 500));

    let err = knock
        .client
        .create_prospect(&prospect_request())
        .await
        .expect_err("fault");

    assert!(
        matches!(
            err,
            KnockError::Retryable {
                endpoint: "prospect_create",
                status: Some(500),
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_carries_the_retry_after_knock_asked_for() {
    let knock = spawn_knock().await;
    knock
        .sandbox
        .inject_fault(Fault::status(FaultRoute::AvailableTimes, 429).with_retry_after(7));

    let err = knock
        .client
        .available_times(STAGE_COMMUNITY_ID, true)
        .await
        .expect_err("throttled");

    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(err.to_string().contains("Too Many Requests"), "{err}");
}

#[tokio::test]
async fn an_answer_slower_than_the_client_timeout_is_a_retryable_timeout() {
    let knock = spawn_knock().await;
    let (client, metrics) = knock.client_with(KEY, Duration::from_millis(300));
    knock
        .sandbox
        .inject_fault(Fault::latency(FaultRoute::ProspectGet, 5_000));
    let id = knock.create_prospect().await;

    let started = std::time::Instant::now();
    let err = client.get_prospect(&id).await.expect_err("too slow");

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "gave up on time"
    );
    match &err {
        KnockError::Retryable {
            endpoint: "prospect_get",
            status: None,
            detail,
            ..
        } => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("expected a retryable timeout, got {other:?}"),
    }
    assert_eq!(calls(&metrics, "prospect_get", "retryable"), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_answer_is_retryable() {
    let knock = spawn_knock().await;
    knock
        .sandbox
        .inject_fault(Fault::drop_connection(FaultRoute::ProspectEmail));
    let prospect_id = knock.create_prospect().await;

    let err = knock
        .client
        .log_email(
            &prospect_id,
            &EmailLog {
                kind: EmailLogType::AutomatedSent,
                sent_time: knock.sandbox.now(),
                agent: Agent {
                    username: "agent".into(),
                },
                subject: "s".into(),
                body: "b".into(),
            },
        )
        .await
        .expect_err("dropped");

    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.endpoint(), Some("prospect_email"));
}

#[tokio::test]
async fn every_call_is_counted_by_endpoint_and_outcome_and_timed() {
    let knock = spawn_knock().await;
    knock
        .sandbox
        .inject_fault(Fault::status(FaultRoute::AvailableTimes, 502));

    let _ = knock.client.available_times(STAGE_COMMUNITY_ID, true).await;
    knock
        .client
        .available_times(STAGE_COMMUNITY_ID, true)
        .await
        .expect("second call goes through");
    let _ = knock
        .client
        .cancel_appointment(&AppointmentId::parse("999999").expect("id"))
        .await;

    assert_eq!(calls(&knock.metrics, "available_times", "retryable"), 1);
    assert_eq!(calls(&knock.metrics, "available_times", "ok"), 1);
    assert_eq!(calls(&knock.metrics, "appointment_cancel", "permanent"), 1);
    assert_eq!(latency_samples(&knock.metrics, "available_times"), 2);
    assert_eq!(latency_samples(&knock.metrics, "appointment_cancel"), 1);
    let text = knock.metrics.render();
    assert!(
        text.contains(
            r#"tourgate_knock_calls_total{endpoint="available_times",outcome="retryable"} 1"#
        ),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Contract-shape stub: a stand-in for Knock answering with fixed statuses and bodies of the
// shapes API.md allows but the sandbox does not give (e.g. `200 {}` to a visit, the gateway's
// 403), in order (the last answer repeats); it remembers what it got.

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct Stub {
    base_url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("stub log").clone()
    }
}

async fn spawn_stub(status: u16, body: &'static str) -> Stub {
    spawn_stub_answers(&[(status, body)]).await
}

async fn spawn_stub_answers(answers: &[(u16, &'static str)]) -> Stub {
    let answers: Arc<Vec<(u16, &'static str)>> = Arc::new(answers.to_vec());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind stub");
    let port = listener.local_addr().expect("stub address").port();
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let log = seen.clone();
    let server = HttpServer::new(move || {
        let log = log.clone();
        let answers = answers.clone();
        App::new().default_service(web::to(move |req: HttpRequest, bytes: web::Bytes| {
            let log = log.clone();
            let answers = answers.clone();
            async move {
                let mut headers: Vec<(String, String)> = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
                    .collect();
                headers.sort();
                let n = {
                    let mut log = log.lock().expect("stub log");
                    log.push(Seen {
                        method: req.method().to_string(),
                        uri: req.uri().to_string(),
                        headers,
                        body: String::from_utf8_lossy(&bytes).into_owned(),
                    });
                    log.len() - 1
                };
                let (status, body) = answers[n.min(answers.len() - 1)];
                let status = actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
                HttpResponse::build(status)
                    .content_type("application/json")
                    .body(body)
            }
        }))
    })
    .workers(1)
    .listen(listener)
    .expect("stub listens")
    .run();
    tokio::spawn(server);
    let base_url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("stub url");
    Stub { base_url, seen }
}

#[tokio::test]
async fn every_request_carries_the_key_and_json_headers_even_get_and_bodyless_put() {
    let stub = spawn_stub(200, r#"{"appointment":{"id":"9","status":"CANCELLED"}}"#).await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let id = AppointmentId::parse("9").expect("id");
    let cancelled = client
        .cancel_appointment(&id)
        .await
        .expect("cancel answered");
    assert_eq!(cancelled.appointment_id, Some(id));
    // A GET whose answer is the wrong shape still shows what went on the wire.
    let _ = client
        .get_prospect(&ProspectId::parse("47569637").expect("id"))
        .await;

    let seen = stub.seen();
    assert_eq!(seen.len(), 2, "no retries: one request per call");
    for request in &seen {
        assert_eq!(request.header("x-api-key"), Some(KEY), "{request:?}");
        assert_eq!(
            request.header("content-type"),
            Some("application/json"),
            "{request:?}"
        );
        assert_eq!(
            request.header("accept"),
            Some("application/json"),
            "{request:?}"
        );
    }
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].uri, "/appointment/9/cancel");
    assert_eq!(seen[0].body, "");
    assert_eq!(seen[0].header("content-length"), Some("0"));
    assert_eq!(seen[1].method, "GET");
    assert_eq!(seen[1].uri, "/prospect/47569637");
}

#[tokio::test]
async fn path_segments_and_query_values_are_percent_encoded_on_the_wire() {
    let stub = spawn_stub(200, r#"{"acceptableTimes":[]}"#).await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let times = client
        .available_times("a/b c?", true)
        .await
        .expect("answered");
    assert!(times.is_empty());
    let pid = ProspectId::parse("5").expect("id");
    client
        .prospect_events(&pid, 25, Some("MQ==&x"))
        .await
        .expect_err("wrong shape is fine here");

    let seen = stub.seen();
    assert_eq!(
        seen[0].uri,
        "/community/a%2Fb%20c%3F/available-times?forSelfGuided=true"
    );
    assert_eq!(
        seen[1].uri,
        "/prospect/5/events?first=25&after=MQ%3D%3D%26x"
    );
}

#[tokio::test]
async fn an_appointment_answer_without_an_appointment_id_is_a_contract_error() {
    let stub = spawn_stub(200, r#"{"appointment":{"status":"CONFIRMED"}}"#).await;
    let (client, metrics) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .request_appointment(&appointment_request(
            "c",
            utc("2026-11-23T18:00:00Z").into(),
        ))
        .await
        .expect_err("no id");
    assert!(
        matches!(
            err,
            KnockError::Contract {
                endpoint: "appointment_request",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert_eq!(calls(&metrics, "appointment_request", "contract"), 1);
    assert_eq!(calls(&metrics, "appointment_request", "ok"), 0);
}

#[tokio::test]
async fn a_success_that_is_not_json_is_a_contract_error() {
    let stub = spawn_stub(200, "<html>maintenance</html>").await;
    let (client, metrics) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", false)
        .await
        .expect_err("not json");
    match &err {
        KnockError::Contract { endpoint, detail } => {
            assert_eq!(*endpoint, "available_times");
            assert!(detail.contains("maintenance"), "{detail}");
        }
        other => panic!("expected a contract error, got {other:?}"),
    }
    assert_eq!(calls(&metrics, "available_times", "contract"), 1);
}

#[tokio::test]
async fn an_unparseable_available_time_is_a_contract_error_not_a_silent_drop() {
    let stub = spawn_stub(
        200,
        r#"{"acceptableTimes":["2026-11-02T10:00:00-05:00","10am"]}"#,
    )
    .await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("bad entry");
    assert!(matches!(err, KnockError::Contract { .. }), "{err:?}");
}

#[tokio::test]
async fn a_success_cut_off_mid_body_is_retryable_and_keeps_its_status() {
    // A raw server: promises 100 bytes, sends a few, hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut stream, _)) = listener.accept() {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"visitId\"");
        }
    });
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let (client, metrics) = client_for(url, KEY, TIMEOUT);

    let err = client
        .post_visit(&VisitRequest {
            prospect_id: ProspectId::parse("1").expect("id"),
            visit_time: utc("2026-11-20T16:00:00Z"),
            appointment_id: None,
            is_self_guided: true,
            source_title: None,
            unit_names: vec![],
        })
        .await
        .expect_err("cut off");

    // Status 200 tells the caller Knock may have recorded the visit before the cut.
    match &err {
        KnockError::Retryable {
            endpoint: "visit",
            status: Some(200),
            detail,
            ..
        } => assert!(detail.contains("cut off"), "{detail}"),
        other => panic!("expected a retryable cut-off, got {other:?}"),
    }
    assert_eq!(calls(&metrics, "visit", "retryable"), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retryable_without_status() {
    // Bind then drop: the port is very likely closed for the instant of the test.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let (client, metrics) = client_for(url, KEY, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("nothing listens");
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(err.status(), None);
    assert_eq!(calls(&metrics, "available_times", "retryable"), 1);
    assert_eq!(latency_samples(&metrics, "available_times"), 1);
}

#[tokio::test]
async fn errors_never_show_the_api_key() {
    let stub = spawn_stub(400, r#"{"errorMessage":"communityId: required"}"#).await;
    let secret = "very-secret-partner-key-0123456789";
    let (client, _) = client_for(stub.base_url.clone(), secret, Duration::from_secs(5));

    let err = client
        .available_times("c", true)
        .await
        .expect_err("refused");
    assert!(!err.to_string().contains(secret));
    assert!(!format!("{err:?}").contains(secret));
    assert!(!format!("{client:?}").contains(secret));
    assert_eq!(stub.seen()[0].header("x-api-key"), Some(secret));
}

// --- writes that cannot be repeated: any 2xx is success, whatever its body

fn visit_request() -> VisitRequest {
    VisitRequest {
        prospect_id: ProspectId::parse("47569637").expect("id"),
        visit_time: utc("2026-11-20T16:00:00Z"),
        appointment_id: Some(AppointmentId::parse("2").expect("id")),
        is_self_guided: true,
        source_title: None,
        unit_names: vec![],
    }
}

fn email_log() -> EmailLog {
    EmailLog {
        kind: EmailLogType::AutomatedSent,
        sent_time: utc("2026-11-20T16:00:00Z"),
        agent: Agent {
            username: "tourgate".into(),
        },
        subject: "s".into(),
        body: "b".into(),
    }
}

#[tokio::test]
async fn a_visit_or_email_log_answered_2xx_without_an_id_is_a_success_posted_once() {
    for body in [
        "{}",
        "",
        "null",
        r#"{"visitId":{"odd":true}}"#,
        "<html>OK</html>",
    ] {
        let stub = spawn_stub(200, body).await;
        let (client, metrics) = client_for(stub.base_url.clone(), KEY, TIMEOUT);

        let visit = client.post_visit(&visit_request()).await;
        assert_eq!(visit, Ok(None), "{body:?}");
        let logged = client
            .log_email(&ProspectId::parse("47569637").expect("id"), &email_log())
            .await;
        assert_eq!(logged, Ok(None), "{body:?}");

        assert_eq!(stub.seen().len(), 2, "one request per call: {body:?}");
        assert_eq!(calls(&metrics, "visit", "ok"), 1);
        assert_eq!(calls(&metrics, "prospect_email", "ok"), 1);
    }
}

#[tokio::test]
async fn a_201_with_a_numeric_visit_id_keeps_the_id() {
    let stub = spawn_stub(201, r#"{"visitId":12345,"extra":[1]}"#).await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, TIMEOUT);

    let visit = client.post_visit(&visit_request()).await.expect("success");
    assert_eq!(visit.map(|v| v.to_string()), Some("12345".into()));
}

#[tokio::test]
async fn an_appointment_answer_of_any_plausible_shape_is_read_for_its_id() {
    for (body, id) in [
        (r#"{"appointment":{"id":7}}"#, "7"),
        (r#"{"appointmentId":"7"}"#, "7"),
        (r#"{"id":7}"#, "7"),
        (
            r#"{"appointment":{"id":"7","status":3,"startTime":"2026-11-23T10:00:00",
                "prospectId":"P-1","tourType":["SELF_GUIDED"]}}"#,
            "7",
        ),
    ] {
        let stub = spawn_stub(200, body).await;
        let (client, metrics) = client_for(stub.base_url.clone(), KEY, TIMEOUT);

        let booked = client
            .request_appointment(&appointment_request(
                "c",
                utc("2026-11-23T18:00:00Z").into(),
            ))
            .await
            .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(booked.id.as_str(), id, "{body}");
        assert_eq!(booked.status, AppointmentStatus::Confirmed, "{body}");
        assert_eq!((booked.start_time, booked.prospect_id), (None, None));
        assert_eq!(calls(&metrics, "appointment_request", "ok"), 1);
    }
}

#[tokio::test]
async fn a_cancel_answered_2xx_is_done_whatever_its_body() {
    for body in ["{}", "", r#"{"status":"CANCELLED"}"#, "OK"] {
        let stub = spawn_stub(200, body).await;
        let (client, metrics) = client_for(stub.base_url.clone(), KEY, TIMEOUT);

        let answer = client
            .cancel_appointment(&AppointmentId::parse("3").expect("id"))
            .await
            .unwrap_or_else(|e| panic!("{body:?}: {e}"));
        assert_eq!(answer.appointment_id, None, "{body:?}");
        assert_eq!(calls(&metrics, "appointment_cancel", "ok"), 1);
    }
}

#[tokio::test]
async fn a_cancel_refused_as_cancelled_already_says_so_and_other_refusals_do_not() {
    let stub = spawn_stub_answers(&[
        (
            400,
            r#"{"errorMessage":"Appointment 3 is already cancelled."}"#,
        ),
        (400, r#"{"errorMessage":"Appointment 3 does not exist."}"#),
    ])
    .await;
    let (client, _) = client_for(stub.base_url.clone(), KEY, TIMEOUT);
    let id = AppointmentId::parse("3").expect("id");

    let err = client.cancel_appointment(&id).await.expect_err("refused");
    assert!(err.says_already_cancelled(), "{err:?}");
    let err = client.cancel_appointment(&id).await.expect_err("refused");
    assert!(!err.says_already_cancelled(), "{err:?}");
    assert!(matches!(err, KnockError::Permanent { status: 400, .. }));
}

// --- our key refused: a configuration outage, tracked until a 2xx

#[tokio::test]
async fn the_gateways_403_and_a_401_are_our_key_refused_until_a_2xx_clears_it() {
    let stub = spawn_stub_answers(&[
        (403, r#"{"message":"Forbidden"}"#),
        (401, r#"{"message":"Unauthorized"}"#),
        (200, r#"{"visitId":"12345"}"#),
    ])
    .await;
    let secret = "rotated-partner-key-0123456789";
    let (client, metrics) = client_for(stub.base_url.clone(), secret, TIMEOUT);

    let err = client.post_visit(&visit_request()).await.expect_err("403");
    assert_eq!(
        err,
        KnockError::Unauthorized {
            endpoint: "visit",
            status: 403,
            message: Some("Forbidden".into()),
        }
    );
    assert!(!err.to_string().contains(secret) && !format!("{err:?}").contains(secret));
    let first = client.auth_refused_since().expect("refused since the 403");

    let err = client.post_visit(&visit_request()).await.expect_err("401");
    assert!(
        matches!(err, KnockError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(
        client.auth_refused_since(),
        Some(first),
        "since the first refusal"
    );
    assert_eq!(auth_failures(&metrics, "visit"), 2);
    assert_eq!(calls(&metrics, "visit", "unauthorized"), 2);

    // A clone (as the outbox and the booking service hold) shares the record.
    let shared = client.clone();
    shared
        .post_visit(&visit_request())
        .await
        .expect("key fixed");
    assert_eq!(client.auth_refused_since(), None);
    assert_eq!(auth_failures(&metrics, "visit"), 2);
}

// --- keys per endpoint family, in a header of our choosing

#[tokio::test]
async fn each_endpoint_sends_the_key_of_its_family_in_the_configured_header() {
    let stub = spawn_stub(200, "{}").await;
    let metrics = Metrics::new();
    let config = KnockClientConfig {
        prospect_api_key: SecretString::from("prospect-key"),
        appointment_api_key: SecretString::from("appointment-key"),
        api_key_header: "apikey".into(),
        ..KnockClientConfig::new(stub.base_url.clone(), SecretString::from("unused"))
    };
    let client = KnockClient::new(config, metrics).expect("client");
    let pid = ProspectId::parse("47569637").expect("id");
    let aid = AppointmentId::parse("2").expect("id");

    let _ = client.available_times("c", true).await;
    let _ = client.create_prospect(&prospect_request()).await;
    let _ = client.get_prospect(&pid).await;
    let _ = client.prospect_events(&pid, 10, None).await;
    let _ = client
        .request_appointment(&appointment_request(
            "c",
            utc("2026-11-23T18:00:00Z").into(),
        ))
        .await;
    let _ = client.cancel_appointment(&aid).await;
    let _ = client.post_visit(&visit_request()).await;
    let _ = client.log_email(&pid, &email_log()).await;

    let sent: Vec<(String, Option<String>, Option<String>)> = stub
        .seen()
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.uri.split('?').next().unwrap_or("")),
                r.header("apikey").map(str::to_owned),
                r.header("x-api-key").map(str::to_owned),
            )
        })
        .collect();
    let want = |route: &str, key: &str| (route.to_owned(), Some(key.to_owned()), None);
    assert_eq!(
        sent,
        vec![
            want("GET /community/c/available-times", "appointment-key"),
            want("POST /prospect", "prospect-key"),
            want("GET /prospect/47569637", "prospect-key"),
            want("GET /prospect/47569637/events", "prospect-key"),
            want("POST /appointment/request", "appointment-key"),
            want("PUT /appointment/2/cancel", "appointment-key"),
            want("POST /visit", "prospect-key"),
            want("POST /prospect/47569637/email", "appointment-key"),
        ]
    );
}

on_every_profile!(
    a_refused_prospect_key_does_not_mark_the_appointment_key_working_as_refused,
    |profile| async move {
        let knock = spawn_knock_on(profile).await;
        let metrics = Metrics::new();
        let config = KnockClientConfig {
            prospect_api_key: SecretString::from("revoked-prospect-key"),
            appointment_api_key: SecretString::from(KEY),
            ..KnockClientConfig::new(knock.base_url.clone(), SecretString::from(KEY))
        };
        let client = KnockClient::new(config, metrics.clone()).expect("client");

        let err = client
            .create_prospect(&prospect_request())
            .await
            .expect_err("prospect key refused");
        assert!(err.is_unauthorized(), "{err:?}");
        client
            .available_times(STAGE_COMMUNITY_ID, true)
            .await
            .expect("the appointment key works");
        assert!(
            client.auth_refused_since().is_some(),
            "the prospect key is still refused"
        );
        assert!(client
            .auth_health()
            .refused_since_for(tourgate::knock::KeyFamily::Appointment)
            .is_none());
        assert_eq!(auth_failures(&metrics, "prospect_create"), 1);
    }
);
