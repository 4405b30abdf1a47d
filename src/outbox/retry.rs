//! When to try again: exponential backoff with full jitter, Knock's Retry-After honoured, and
//! an end. A hiccup of a few failed calls is over within seconds; a long outage is tried about
//! hourly, not hammered; after about three days the job is dead and staff see it.
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// The first retry waits up to this long.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// No retry comes sooner than this: a failing Knock is never hit in a tight loop.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// No wait is longer than this (unless Knock asks for longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);
/// Retries stop this long after a job was queued (or retried by staff).
pub use crate::domain::job::GIVE_UP_AFTER;

/// The wait after the `attempts`-th failed try: uniform in [0, min(cap, first · 2^(n-1))]
/// ("full jitter", so that many jobs failing together do not come back together), and at
/// least what Knock's Retry-After asked for.
pub fn backoff(attempts: i32, retry_after: Option<Duration>, rng: &mut impl Rng) -> Duration {
    backoff_capped(attempts, retry_after, MAX_BACKOFF, rng)
}

/// [`backoff`] with another ceiling: a booking still waiting for Knock is retried at least
/// every few minutes, because its tour is near.
pub fn backoff_capped(
    attempts: i32,
    retry_after: Option<Duration>,
    cap: Duration,
    rng: &mut impl Rng,
) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let ceiling = FIRST_BACKOFF.saturating_mul(1u32 << doublings).min(cap);
    let jittered = Duration::from_millis(rng.gen_range(0..=ceiling.as_millis() as u64));
    jittered
        .max(MIN_BACKOFF)
        .max(retry_after.unwrap_or(Duration::ZERO))
}

/// When to try next, or `None` when that would be past `give_up_at`.
pub fn next_attempt(
    attempts: i32,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
    give_up_at: DateTime<Utc>,
    rng: &mut impl Rng,
) -> Option<DateTime<Utc>> {
    let wait = chrono::Duration::from_std(backoff(attempts, retry_after, rng)).ok()?;
    let at = now.checked_add_signed(wait)?;
    (at <= give_up_at).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0).unwrap()
    }

    #[test]
    fn the_first_retry_comes_within_a_second_and_the_ceiling_doubles() {
        let mut rng = rand::thread_rng();
        for _ in 0..200 {
            assert!(backoff(1, None, &mut rng) <= Duration::from_secs(1));
            assert!(backoff(2, None, &mut rng) <= Duration::from_secs(2));
            assert!(backoff(5, None, &mut rng) <= Duration::from_secs(16));
        }
    }

    #[test]
    fn waits_never_exceed_an_hour_however_many_tries() {
        let mut rng = rand::thread_rng();
        for attempts in [13, 40, i32::MAX] {
            assert!(backoff(attempts, None, &mut rng) <= MAX_BACKOFF);
        }
    }

    #[test]
    fn the_jitter_spreads_waits_over_the_whole_range() {
        let mut rng = rand::thread_rng();
        let waits: Vec<Duration> = (0..500).map(|_| backoff(12, None, &mut rng)).collect();
        assert!(waits.iter().any(|w| *w < Duration::from_secs(600)));
        assert!(waits.iter().any(|w| *w > Duration::from_secs(1800)));
    }

    #[test]
    fn a_lower_ceiling_holds_and_retry_after_still_wins() {
        let mut rng = rand::thread_rng();
        let cap = Duration::from_secs(300);
        for _ in 0..100 {
            assert!(backoff_capped(30, None, cap, &mut rng) <= cap);
        }
        let asked = Some(Duration::from_secs(900));
        assert!(backoff_capped(1, asked, cap, &mut rng) >= Duration::from_secs(900));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let mut rng = rand::thread_rng();
        for _ in 0..50 {
            let wait = backoff(1, Some(Duration::from_secs(120)), &mut rng);
            assert!(wait >= Duration::from_secs(120), "{wait:?}");
        }
    }

    #[test]
    fn a_few_quick_failures_are_over_within_seconds() {
        let mut rng = rand::thread_rng();
        let total: Duration = (1..=4).map(|n| backoff(n, None, &mut rng)).sum();
        assert!(total <= Duration::from_secs(15), "{total:?}");
    }

    #[test]
    fn retries_stop_at_the_give_up_time() {
        let mut rng = rand::thread_rng();
        let give_up = now() + chrono::Duration::seconds(30);
        assert!(next_attempt(1, None, now(), give_up, &mut rng).is_some());
        assert_eq!(
            next_attempt(1, Some(Duration::from_secs(60)), now(), give_up, &mut rng),
            None
        );
    }

    #[test]
    fn an_outage_is_retried_for_about_three_days() {
        let mut rng = rand::thread_rng();
        let start = now();
        let give_up = start + GIVE_UP_AFTER;
        let (mut at, mut tries) = (start, 0);
        while let Some(next) = next_attempt(tries + 1, None, at, give_up, &mut rng) {
            tries += 1;
            at = next;
        }
        assert!(at > start + chrono::Duration::days(2), "{at}");
        // Hourly at most, not hammering: a few hundred tries at the very most.
        assert!((30..400).contains(&tries), "{tries}");
    }
}
