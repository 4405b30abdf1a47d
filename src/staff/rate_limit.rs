//! Sign-in attempt limits (governor's keyed GCRA), each so many per WINDOW:
//!
//! - per account and client address (PAIR_ATTEMPTS): one address guessing one account;
//! - per client address (ADDRESS_ATTEMPTS), whatever the account: one address spraying many;
//! - per account across all addresses (ACCOUNT_ATTEMPTS), but only for browsers without a
//!   device cookie for the account: many addresses guessing one account cannot lock out the
//!   member's own browser;
//! - per device cookie (DEVICE_ATTEMPTS): a stolen device cookie is no licence to guess.
//!
//! Every attempt takes a cell, a successful one too: governor cannot hand a cell back, and a
//! staff member signs in a few times a day, far below the limits. These limits are per
//! process, a cheap first line; the same limits hold across processes through the refusals on
//! record in the database (see `sign_in`).
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::rate_key;

pub const PAIR_ATTEMPTS: u32 = 5;
pub const ADDRESS_ATTEMPTS: u32 = 20;
pub const ACCOUNT_ATTEMPTS: u32 = 10;
pub const DEVICE_ATTEMPTS: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Past this many remembered keys, keys whose limits have fully recovered are forgotten.
const PRUNE_ABOVE: usize = 10_000;

/// Who an attempt is charged to.
pub struct AttemptKeys<'a> {
    /// The lower-cased e-mail; None for input that cannot be any account's e-mail.
    pub account: Option<&'a str>,
    pub ip: IpAddr,
    /// The nonce of a device cookie valid for `account`: the account's own limit is spared,
    /// the device's is charged instead.
    pub device: Option<&'a str>,
}

pub struct SignInLimits {
    by_pair: DefaultKeyedRateLimiter<(String, IpAddr)>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
    by_device: DefaultKeyedRateLimiter<String>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl SignInLimits {
    pub fn new() -> Self {
        Self {
            by_pair: RateLimiter::keyed(quota(PAIR_ATTEMPTS)),
            by_address: RateLimiter::keyed(quota(ADDRESS_ATTEMPTS)),
            by_account: RateLimiter::keyed(quota(ACCOUNT_ATTEMPTS)),
            by_device: RateLimiter::keyed(quota(DEVICE_ATTEMPTS)),
        }
    }

    /// Takes one attempt from every budget that applies; Err with the wait until the attempt
    /// would be allowed when any is spent. Every budget that applies is always charged, so
    /// spreading guesses over accounts does not spare the address budget.
    pub fn allow(&self, k: &AttemptKeys<'_>) -> Result<(), Duration> {
        let ip = rate_key(k.ip);
        let mut checks = vec![self.by_address.check_key(&ip)];
        if let Some(account) = k.account {
            checks.push(self.by_pair.check_key(&(account.to_string(), ip)));
            match k.device {
                Some(device) => checks.push(self.by_device.check_key(&device.to_string())),
                None => checks.push(self.by_account.check_key(&account.to_string())),
            }
        }
        self.prune();
        let now = DefaultClock::default().now();
        let wait = checks
            .into_iter()
            .filter_map(|c| c.err())
            .map(|not_until| not_until.wait_time_from(now))
            .max();
        match wait {
            Some(w) => Err(w),
            None => Ok(()),
        }
    }

    fn prune(&self) {
        if self.by_pair.len() > PRUNE_ABOVE {
            self.by_pair.retain_recent();
            self.by_pair.shrink_to_fit();
        }
        if self.by_address.len() > PRUNE_ABOVE {
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
        }
        if self.by_account.len() > PRUNE_ABOVE {
            self.by_account.retain_recent();
            self.by_account.shrink_to_fit();
        }
        if self.by_device.len() > PRUNE_ABOVE {
            self.by_device.retain_recent();
            self.by_device.shrink_to_fit();
        }
    }
}

/// `burst` attempts at once, then one more each WINDOW / burst: `burst` per window sustained.
fn quota(burst: u32) -> Quota {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(WINDOW / burst.get())
        .unwrap_or_else(|| Quota::per_minute(burst))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys<'a>(account: Option<&'a str>, ip: IpAddr, device: Option<&'a str>) -> AttemptKeys<'a> {
        AttemptKeys {
            account,
            ip,
            device,
        }
    }

    const ANN: Option<&str> = Some("ann@example.com");

    #[test]
    fn one_address_is_stopped_on_one_account_after_its_pair_budget() {
        let limits = SignInLimits::new();
        let ip = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..PAIR_ATTEMPTS {
            assert!(limits.allow(&keys(ANN, ip, None)).is_ok());
        }
        let wait = limits.allow(&keys(ANN, ip, None)).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= WINDOW, "{wait:?}");
        // The same address may still try another account.
        assert!(limits
            .allow(&keys(Some("bob@example.com"), ip, None))
            .is_ok());
    }

    #[test]
    fn an_account_is_stopped_after_its_budget_across_addresses_but_not_for_its_devices() {
        let limits = SignInLimits::new();
        for i in 0..ACCOUNT_ATTEMPTS {
            let ip = IpAddr::from([192, 0, 2, i as u8]);
            assert!(limits.allow(&keys(ANN, ip, None)).is_ok());
        }
        assert!(limits
            .allow(&keys(ANN, IpAddr::from([192, 0, 2, 200]), None))
            .is_err());
        // A browser with a device cookie for Ann is not held to her account's budget.
        assert!(limits
            .allow(&keys(ANN, IpAddr::from([192, 0, 2, 201]), Some("nonce")))
            .is_ok());
        assert!(limits
            .allow(&keys(
                Some("bob@example.com"),
                IpAddr::from([192, 0, 2, 202]),
                None
            ))
            .is_ok());
    }

    #[test]
    fn a_device_is_stopped_after_its_own_budget_across_addresses() {
        let limits = SignInLimits::new();
        for i in 0..DEVICE_ATTEMPTS {
            let ip = IpAddr::from([192, 0, 2, i as u8]);
            assert!(limits.allow(&keys(ANN, ip, Some("stolen"))).is_ok());
        }
        let ip = IpAddr::from([192, 0, 2, 200]);
        assert!(limits.allow(&keys(ANN, ip, Some("stolen"))).is_err());
        assert!(limits.allow(&keys(ANN, ip, Some("another"))).is_ok());
    }

    #[test]
    fn an_address_is_stopped_after_its_budget_whatever_the_account() {
        let limits = SignInLimits::new();
        let ip = IpAddr::from([198, 51, 100, 1]);
        for i in 0..ADDRESS_ATTEMPTS {
            let who = format!("user{i}@example.com");
            assert!(limits.allow(&keys(Some(&who), ip, None)).is_ok());
        }
        assert!(limits
            .allow(&keys(Some("new@example.com"), ip, Some("device")))
            .is_err());
        assert!(limits.allow(&keys(None, ip, None)).is_err());
        assert!(limits
            .allow(&keys(None, IpAddr::from([198, 51, 100, 2]), None))
            .is_ok());
    }
}
