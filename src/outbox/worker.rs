//! The outbox worker: claims due jobs, delivers them, writes how each try ended.
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::delivery::{deliver, Delivery};
use super::mail::try_mail;
use super::metrics::OutboxMetrics;
use super::retry::next_attempt;
use super::{JobKind, OutboxJob};
use crate::access::Access;
use crate::knock::{KnockClient, KnockError};
use crate::mail::MailDesk;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, TryOutcome};

/// A claim holds at least this long, and longer when Knock's time-out asks for it: the lease
/// must outlive the calls made under it, so no call starts later than the lease less the
/// Knock time-out less `LEASE_MARGIN` after the claim.
pub const LEASE: Duration = Duration::from_secs(30);
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// Jobs claimed at once; they are delivered concurrently.
const BATCH: i64 = 16;
/// How often an idle worker looks for work enqueued by other processes.
const POLL: Duration = Duration::from_millis(500);
/// How often the worker refreshes the queue-depth gauges.
const METRICS_EVERY: Duration = Duration::from_secs(5);

/// The outbox of one process: its store, its Knock client, and a bell rung on enqueue.
#[derive(Clone)]
pub struct Outbox {
    store: Store,
    knock: KnockClient,
    knock_timeout: Duration,
    metrics: OutboxMetrics,
    /// Sends the e-mail jobs; without it they wait (retried with backoff).
    mail: Option<Arc<MailDesk>>,
    /// Delivers the lock writes (`access_issue`, `access_revoke`).
    access: Option<Access>,
}

impl Outbox {
    /// `knock_timeout` is the client's total time-out for one call (bounds the lease budget).
    pub fn new(
        store: Store,
        knock: KnockClient,
        knock_timeout: Duration,
        metrics: &Metrics,
    ) -> Self {
        Self {
            store,
            knock,
            knock_timeout,
            metrics: OutboxMetrics::register(metrics),
            mail: None,
            access: None,
        }
    }

    /// This outbox delivers lock writes through `access`.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Some(access);
        self
    }

    /// This outbox sends e-mail jobs through `desk`.
    pub fn with_mail(mut self, desk: MailDesk) -> Self {
        self.mail = Some(Arc::new(desk));
        self
    }

    /// The same outbox over another pool (as a second process would have, with its own
    /// bell); metrics shared.
    pub fn with_store(&self, store: Store) -> Self {
        Self {
            store,
            ..self.clone()
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Room for a look at the prospect's events and a post, each up to the Knock time-out.
    fn lease_std(&self) -> Duration {
        LEASE.max(self.knock_timeout.saturating_mul(3) + LEASE_MARGIN)
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.lease_std()).unwrap_or(chrono::Duration::seconds(30))
    }

    /// Starts this process's worker at once. Transactions that queue a job ring the same
    /// bell when they commit, so callers rarely need this.
    pub fn wake(&self) {
        self.store.bell().notify_one();
    }

    /// One pass as if it were `now`: claims the jobs due then and delivers them. Returns how
    /// many were claimed.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let claimed_at = Instant::now();
        let jobs = self
            .store
            .claim_due_jobs(now, now + self.lease(), BATCH)
            .await?;
        let n = jobs.len();
        let deadline = claimed_at
            + self
                .lease_std()
                .saturating_sub(self.knock_timeout)
                .saturating_sub(LEASE_MARGIN);
        let results: Vec<Result<(), StoreError>> = futures_util::stream::iter(jobs)
            .map(|job| self.try_job(job, now, deadline))
            .buffer_unordered(BATCH as usize)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), StoreError>>()?;
        Ok(n)
    }

    /// Claims due jobs without delivering them: what a worker that dies right after its claim
    /// leaves behind. For tests and diagnostics.
    #[doc(hidden)]
    pub async fn claim_only(&self, now: DateTime<Utc>) -> Result<Vec<OutboxJob>, StoreError> {
        self.store
            .claim_due_jobs(now, now + self.lease(), BATCH)
            .await
    }

    /// Passes at `now` until nothing more is due then (jobs rescheduled later stay). For tests
    /// and the CLI: the worker without its timer.
    pub async fn drain(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let n = self.run_once(now).await?;
            total += n;
            if n == 0 {
                break;
            }
        }
        self.refresh_metrics(now).await?;
        Ok(total)
    }

    /// Reads queue depth and age from the database into the gauges.
    pub async fn refresh_metrics(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        let counts = self.store.outbox_counts().await?;
        self.metrics.observe(&counts, now);
        Ok(())
    }

    async fn try_job(
        &self,
        job: OutboxJob,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        let span = tracing::info_span!("outbox_try", job = job.id, kind = job.kind.as_str(),
            booking = %job.booking_id, attempt = job.attempts);
        self.try_job_in_span(job, now, deadline)
            .instrument(span)
            .await
    }

    async fn try_job_in_span(
        &self,
        job: OutboxJob,
        now: DateTime<Utc>,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        if job.kind.is_access() || job.kind == JobKind::StaffAlert {
            let (outcome, label) = match job.kind {
                JobKind::StaffAlert => {
                    super::lock::try_staff_alert(self.mail.as_deref(), &job, now).await
                }
                _ => super::lock::try_lock_write(self.access.as_ref(), &job, now).await?,
            };
            self.metrics
                .attempts
                .with_label_values(&[job.kind.as_str(), label])
                .inc();
            if !self
                .store
                .finish_outbox_try(job.id, job.attempts, &outcome, Utc::now().max(now))
                .await?
            {
                tracing::warn!("another worker took this job over after our lease ran out");
            }
            return Ok(());
        }
        if job.kind == JobKind::Email {
            let label = try_mail(&self.store, self.mail.as_deref(), &job, now).await?;
            self.metrics
                .attempts
                .with_label_values(&[job.kind.as_str(), label])
                .inc();
            return Ok(());
        }
        let delivery = match job.job() {
            Ok(payload) => deliver(&self.knock, payload, job.uncertain, deadline).await,
            Err(why) => Delivery::Unsendable(why),
        };
        // Our key refused: an outage of our configuration, said at error level once per try.
        let key_refused = match &delivery {
            Delivery::Failed(KnockError::Unauthorized {
                endpoint, status, ..
            }) => Some((*endpoint, *status)),
            _ => None,
        };
        let (outcome, label) = settle(&job, delivery, now);
        self.metrics
            .attempts
            .with_label_values(&[job.kind.as_str(), label])
            .inc();
        match (&outcome, key_refused) {
            (
                TryOutcome::Retry {
                    next_attempt_at,
                    error,
                    ..
                },
                Some((endpoint, status)),
            ) => {
                tracing::error!(endpoint, status, %error, next = %next_attempt_at,
                    "Knock refused our API key (check KNOCK_API_KEY, KNOCK_PROSPECT_API_KEY, \
                     KNOCK_APPOINTMENT_API_KEY, KNOCK_API_KEY_HEADER): delivery will be retried")
            }
            (TryOutcome::Delivered { knock_result }, _) => {
                tracing::info!(
                    knock_result = knock_result.as_deref().unwrap_or(""),
                    "delivered to Knock"
                )
            }
            (
                TryOutcome::Retry {
                    next_attempt_at,
                    error,
                    ..
                },
                None,
            ) => tracing::warn!(%error, next = %next_attempt_at, "Knock delivery will be retried"),
            (TryOutcome::Skipped { why }, _) => tracing::info!(%why, "not sent"),
            (
                TryOutcome::Dead {
                    error,
                    knock_error_message,
                },
                _,
            ) => {
                tracing::error!(%error, knock_error = knock_error_message.as_deref().unwrap_or(""),
                "Knock delivery is dead: staff can retry it")
            }
        }
        let written = self
            .store
            .finish_outbox_try(job.id, job.attempts, &outcome, Utc::now().max(now))
            .await?;
        if !written {
            tracing::warn!("another worker took this job over after our lease ran out");
        }
        Ok(())
    }
}

/// Turns a delivery into the row's next state and the metric's outcome label.
fn settle(job: &OutboxJob, delivery: Delivery, now: DateTime<Utc>) -> (TryOutcome, &'static str) {
    let retry = |error: String, retry_after, uncertain: bool| match next_attempt(
        job.attempts,
        retry_after,
        now,
        job.give_up_at,
        &mut rand::thread_rng(),
    ) {
        Some(at) => (
            TryOutcome::Retry {
                next_attempt_at: at,
                error,
                uncertain,
            },
            "retry",
        ),
        None => (
            TryOutcome::Dead {
                error: format!("gave up after {} tries: {error}", job.attempts),
                knock_error_message: None,
            },
            "dead",
        ),
    };
    match delivery {
        Delivery::Delivered {
            knock_result,
            found_earlier,
        } => (
            TryOutcome::Delivered { knock_result },
            if found_earlier {
                "found_earlier"
            } else {
                "delivered"
            },
        ),
        Delivery::OutOfTime => {
            let (outcome, label) = retry(
                "Knock was too slow: the claim ran short of time before the call".into(),
                None,
                job.uncertain,
            );
            (
                outcome,
                if label == "retry" {
                    "out_of_time"
                } else {
                    label
                },
            )
        }
        Delivery::Unsendable(why) => (
            TryOutcome::Dead {
                error: why,
                knock_error_message: None,
            },
            "dead",
        ),
        Delivery::Failed(e) => match &e {
            KnockError::Permanent { error_message, .. } => (
                TryOutcome::Dead {
                    error: e.to_string(),
                    knock_error_message: error_message.clone(),
                },
                "dead",
            ),
            // Throttled: Knock did not act on it.
            KnockError::Retryable {
                status: Some(429), ..
            } => retry(e.to_string(), e.retry_after(), job.uncertain),
            // Our key refused: Knock did not act on it either (not uncertain). Not a verdict
            // on the job: retried with the normal backoff until the job's give-up time, as
            // an outage is, so that fixing the key delivers everything queued meanwhile.
            KnockError::Unauthorized { .. } => retry(e.to_string(), None, job.uncertain),
            // Time-outs, 5xx, cut-off answers and unreadable successes (an appointment
            // answer without an id; other writes take any 2xx): Knock may have acted.
            KnockError::Retryable { .. } | KnockError::Contract { .. } => {
                retry(e.to_string(), e.retry_after(), writes(job.kind))
            }
            KnockError::Config(_) => (
                TryOutcome::Dead {
                    error: e.to_string(),
                    knock_error_message: None,
                },
                "dead",
            ),
        },
    }
}

/// Kinds for which a repeat would write twice in Knock (a cancel is harmless to repeat).
fn writes(kind: JobKind) -> bool {
    matches!(kind, JobKind::Visit | JobKind::EmailLog)
}

/// The worker of a `serve` process: a pass whenever woken, else every `POLL`.
pub async fn run_outbox_worker(outbox: Outbox, stop: CancellationToken) {
    let mut last_metrics: Option<Instant> = None;
    loop {
        let claimed = match outbox.run_once(Utc::now()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "outbox pass failed");
                0
            }
        };
        if last_metrics.is_none_or(|t| t.elapsed() >= METRICS_EVERY) {
            if let Err(e) = outbox.refresh_metrics(Utc::now()).await {
                tracing::error!(error = %e, "outbox metrics refresh failed");
            }
            last_metrics = Some(Instant::now());
        }
        if claimed as i64 >= BATCH {
            // More may be due right now.
            continue;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = outbox.store.bell().notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::booking::BookingId;
    use crate::outbox::{JobState, GIVE_UP_AFTER};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T18:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn job(kind: JobKind, attempts: i32, uncertain: bool) -> OutboxJob {
        OutboxJob {
            id: 1,
            kind,
            booking_id: BookingId::generate(),
            payload: "{}".into(),
            state: JobState::Delivering,
            attempts,
            next_attempt_at: now(),
            lease_until: None,
            give_up_at: now() + GIVE_UP_AFTER,
            uncertain,
            last_error: None,
            knock_error_message: None,
            knock_result: None,
            created_at: now(),
            updated_at: now(),
            delivered_at: None,
        }
    }

    fn refused(status: u16) -> Delivery {
        Delivery::Failed(KnockError::Unauthorized {
            endpoint: "visit",
            status,
            message: Some("Forbidden".into()),
        })
    }

    #[test]
    fn our_key_refused_is_retried_never_dead_and_never_makes_a_job_uncertain() {
        for status in [401, 403] {
            for uncertain in [false, true] {
                for kind in [
                    JobKind::Visit,
                    JobKind::EmailLog,
                    JobKind::AppointmentCancel,
                ] {
                    let (outcome, label) = settle(&job(kind, 1, uncertain), refused(status), now());
                    match outcome {
                        TryOutcome::Retry {
                            next_attempt_at,
                            error,
                            uncertain: after,
                        } => {
                            assert_eq!(after, uncertain, "unchanged: Knock did not act");
                            assert!(next_attempt_at > now());
                            assert!(next_attempt_at <= now() + chrono::Duration::seconds(1));
                            assert!(error.contains("API key was refused"), "{error}");
                        }
                        other => panic!("{status} {kind:?}: {other:?}"),
                    }
                    assert_eq!(label, "retry");
                }
            }
        }
    }

    #[test]
    fn our_key_refused_backs_off_like_an_outage_and_gives_up_with_it() {
        let (outcome, _) = settle(&job(JobKind::Visit, 40, false), refused(403), now());
        assert!(matches!(outcome, TryOutcome::Retry { next_attempt_at, .. }
            if next_attempt_at <= now() + chrono::Duration::hours(1)));
        let mut late = job(JobKind::Visit, 40, false);
        late.give_up_at = now();
        let (outcome, label) = settle(&late, refused(403), now());
        assert!(
            matches!(&outcome, TryOutcome::Dead { error, .. } if error.starts_with("gave up after 40 tries")),
            "{outcome:?}"
        );
        assert_eq!(label, "dead");
    }

    #[test]
    fn another_refusal_is_still_dead_at_once() {
        let refusal = Delivery::Failed(KnockError::Permanent {
            endpoint: "visit",
            status: 400,
            error_message: Some("visitTime: must not be in the future".into()),
            error_code: None,
        });
        let (outcome, label) = settle(&job(JobKind::Visit, 1, false), refusal, now());
        assert!(
            matches!(outcome, TryOutcome::Dead { knock_error_message: Some(m), .. }
            if m == "visitTime: must not be in the future")
        );
        assert_eq!(label, "dead");
    }

    #[test]
    fn a_time_out_makes_a_visit_uncertain_but_a_cancel_not() {
        let timeout = || {
            Delivery::Failed(KnockError::Retryable {
                endpoint: "visit",
                status: None,
                retry_after: None,
                detail: "timed out".into(),
            })
        };
        let uncertain_after = |kind| match settle(&job(kind, 1, false), timeout(), now()).0 {
            TryOutcome::Retry { uncertain, .. } => uncertain,
            other => panic!("{other:?}"),
        };
        assert!(uncertain_after(JobKind::Visit));
        assert!(!uncertain_after(JobKind::AppointmentCancel));
    }
}
