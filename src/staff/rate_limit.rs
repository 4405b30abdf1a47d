//! Sign-in attempt limits per account and per client address (governor's keyed GCRA).
//!
//! Every attempt takes a cell, a successful one too: governor cannot hand a cell back, and a
//! staff member signs in a few times a day, far below the limits. These limits are per
//! process, a cheap first line; the same limits hold across processes through the refusals on
//! record in the database (see `sign_in`).
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_ip::rate_key;

pub const ACCOUNT_ATTEMPTS: u32 = 5;
pub const ADDRESS_ATTEMPTS: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Past this many remembered keys, keys whose limits have fully recovered are forgotten.
const PRUNE_ABOVE: usize = 10_000;

pub struct SignInLimits {
    by_account: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl SignInLimits {
    pub fn new() -> Self {
        Self {
            by_account: RateLimiter::keyed(quota(ACCOUNT_ATTEMPTS)),
            by_address: RateLimiter::keyed(quota(ADDRESS_ATTEMPTS)),
        }
    }

    /// Takes one attempt from both budgets; false when either is spent. Both are always
    /// charged, so spreading guesses over accounts does not spare the address budget.
    /// `account` is None for input that cannot be any account's e-mail.
    pub fn allow(&self, account: Option<&str>, ip: IpAddr) -> bool {
        let address_ok = self.by_address.check_key(&rate_key(ip)).is_ok();
        let account_ok = match account {
            Some(a) => self.by_account.check_key(&a.to_string()).is_ok(),
            None => true,
        };
        self.prune();
        address_ok && account_ok
    }

    fn prune(&self) {
        if self.by_account.len() > PRUNE_ABOVE {
            self.by_account.retain_recent();
            self.by_account.shrink_to_fit();
        }
        if self.by_address.len() > PRUNE_ABOVE {
            self.by_address.retain_recent();
            self.by_address.shrink_to_fit();
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

    #[test]
    fn an_account_is_stopped_after_its_budget_whatever_the_address() {
        let limits = SignInLimits::new();
        for i in 0..ACCOUNT_ATTEMPTS {
            let ip = IpAddr::from([192, 0, 2, i as u8]);
            assert!(limits.allow(Some("ann@example.com"), ip));
        }
        assert!(!limits.allow(Some("ann@example.com"), IpAddr::from([192, 0, 2, 200])));
        assert!(limits.allow(Some("bob@example.com"), IpAddr::from([192, 0, 2, 201])));
    }

    #[test]
    fn an_address_is_stopped_after_its_budget_whatever_the_account() {
        let limits = SignInLimits::new();
        let ip = IpAddr::from([198, 51, 100, 1]);
        for i in 0..ADDRESS_ATTEMPTS {
            assert!(limits.allow(Some(&format!("user{i}@example.com")), ip));
        }
        assert!(!limits.allow(Some("new@example.com"), ip));
        assert!(!limits.allow(None, ip));
        assert!(limits.allow(None, IpAddr::from([198, 51, 100, 2])));
    }
}
