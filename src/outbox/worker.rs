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
        }
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
        let (outcome, label) = settle(&job, delivery, now);
        self.metrics
            .attempts
            .with_label_values(&[job.kind.as_str(), label])
            .inc();
        match &outcome {
            TryOutcome::Delivered { knock_result } => {
                tracing::info!(
                    knock_result = knock_result.as_deref().unwrap_or(""),
                    "delivered to Knock"
                )
            }
            TryOutcome::Retry {
                next_attempt_at,
                error,
                ..
            } => tracing::warn!(%error, next = %next_attempt_at, "Knock delivery will be retried"),
            TryOutcome::Skipped { why } => tracing::info!(%why, "not sent"),
            TryOutcome::Dead {
                error,
                knock_error_message,
            } => {
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
            // Time-outs, 5xx, cut-off answers and unreadable successes: Knock may have acted.
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
