//! Where a booking's code on an outside lock is in its life (`access_grants.state`, migration
//! 0016), and which reports may move it: pure, so that late, duplicated and reordered
//! deliveries come to the same state whatever order they arrive in.
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantState {
    /// The create is queued (or being retried) in the outbox.
    Issuing,
    /// The provider has it; not on the lock yet.
    Unset,
    /// Being programmed onto the lock.
    Setting,
    /// On the lock ahead of its window (native scheduling): the renter may be sent it.
    Scheduled,
    /// On the lock.
    Set,
    /// Could not be set (offline, no space, a constraint): staff see it.
    Failed,
    /// The delete is queued or sent; the lock has not confirmed it.
    Revoking,
    /// Gone from the lock.
    Removed,
    /// The removal did not reach the lock: a security alert until it does.
    RevokeFailed,
}

impl GrantState {
    pub const ALL: [Self; 9] = [
        Self::Issuing,
        Self::Unset,
        Self::Setting,
        Self::Scheduled,
        Self::Set,
        Self::Failed,
        Self::Revoking,
        Self::Removed,
        Self::RevokeFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issuing => "issuing",
            Self::Unset => "unset",
            Self::Setting => "setting",
            Self::Scheduled => "scheduled",
            Self::Set => "set",
            Self::Failed => "failed",
            Self::Revoking => "revoking",
            Self::Removed => "removed",
            Self::RevokeFailed => "revoke_failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The lock has the code (or has it scheduled): only now is the renter shown or sent it.
    pub fn lock_has_it(self) -> bool {
        matches!(self, Self::Scheduled | Self::Set)
    }

    /// Staff must act: a code that could not be set, or one that could not be removed.
    pub fn needs_attention(self) -> bool {
        matches!(self, Self::Failed | Self::RevokeFailed)
    }

    /// On the way out (or out): no report of the code being set brings it back.
    fn is_revocation(self) -> bool {
        matches!(self, Self::Revoking | Self::Removed | Self::RevokeFailed)
    }
}

/// Whether a report that the code is `to` as of `at` replaces the stored `from` as of
/// `from_at`. The newer report wins; on a revoked code, reports of it being set never do
/// (a set_on_device that arrives after removed_from_device is old news), and a removal is
/// final. Equal times: the later state in the code's life wins, so order does not matter.
pub fn grant_moves(
    from: GrantState,
    from_at: DateTime<Utc>,
    to: GrantState,
    at: DateTime<Utc>,
) -> bool {
    use GrantState as G;
    if from == to {
        return false;
    }
    if from == G::Removed {
        return false;
    }
    if from.is_revocation() && !to.is_revocation() {
        return false;
    }
    if to == G::Removed {
        return true;
    }
    if at != from_at {
        return at > from_at;
    }
    rank(to) > rank(from)
}

fn rank(s: GrantState) -> u8 {
    use GrantState as G;
    match s {
        G::Issuing => 0,
        G::Unset => 1,
        G::Setting => 2,
        G::Failed => 3,
        G::Scheduled => 4,
        G::Set => 5,
        G::Revoking => 6,
        G::RevokeFailed => 7,
        G::Removed => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use GrantState as G;

    fn t(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, m, 0).unwrap()
    }

    #[test]
    fn states_round_trip_and_only_a_scheduled_or_set_code_is_sent() {
        for s in G::ALL {
            assert_eq!(G::parse(s.as_str()), Some(s));
        }
        let sendable: Vec<G> = G::ALL.into_iter().filter(|s| s.lock_has_it()).collect();
        assert_eq!(sendable, [G::Scheduled, G::Set]);
        let alerts: Vec<G> = G::ALL.into_iter().filter(|s| s.needs_attention()).collect();
        assert_eq!(alerts, [G::Failed, G::RevokeFailed]);
    }

    #[test]
    fn reports_in_any_order_end_in_the_same_state() {
        // unset(0) -> setting(1) -> set(2) -> revoking(3) -> removed(4), delivered shuffled.
        let reports = [
            (G::Setting, t(1)),
            (G::Set, t(2)),
            (G::Revoking, t(3)),
            (G::Removed, t(4)),
            (G::Set, t(2)),
        ];
        let orders: [[usize; 5]; 4] = [
            [0, 1, 2, 3, 4],
            [4, 3, 2, 1, 0],
            [1, 4, 0, 2, 3],
            [3, 1, 4, 4, 0],
        ];
        for order in orders {
            let (mut s, mut at) = (G::Unset, t(0));
            for i in order {
                let (to, when) = reports[i];
                if grant_moves(s, at, to, when) {
                    (s, at) = (to, when);
                }
            }
            assert_eq!(s, G::Removed, "{order:?}");
        }
    }

    #[test]
    fn a_failure_is_cleared_by_a_later_set_and_a_revoked_code_is_never_set_again() {
        assert!(grant_moves(G::Failed, t(1), G::Set, t(5)));
        assert!(!grant_moves(G::Set, t(5), G::Failed, t(1)));
        assert!(!grant_moves(G::Revoking, t(1), G::Set, t(5)));
        assert!(grant_moves(G::Revoking, t(1), G::RevokeFailed, t(2)));
        assert!(grant_moves(G::RevokeFailed, t(2), G::Removed, t(1)));
        assert!(!grant_moves(G::Removed, t(1), G::RevokeFailed, t(9)));
    }
}
