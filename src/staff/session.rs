//! Staff session tokens: the cookie carries a random token, the database only its SHA-256, so
//! that a copy of the sessions table cannot be replayed as cookies.
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::store::{StaffMember, Store, StoreError, StoredSession};

/// Signed-in sessions end after this long without a request...
pub const IDLE_TIMEOUT: chrono::Duration = chrono::Duration::hours(8);
/// ...and this long after signing in, however busy: a stolen cookie does not live for ever,
/// and a working day needs one sign-in.
pub const MAX_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// The cookie's value. Debug hides it: it is a bearer credential.
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

impl SessionToken {
    /// 32 bytes from the OS generator, base64url without padding (43 characters).
    pub fn generate() -> Self {
        Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(crate::config::random_bytes::<32>()),
        )
    }

    /// Accepts only the shape `generate` makes, so that junk cookies never reach a query.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 43
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The session's id in the database.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// Page views need not each hit the disk: a session is marked seen once a minute at most.
const SEEN_EVERY: Duration = Duration::minutes(1);

/// What a presented session comes to at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionCheck {
    /// Idle too long, or begun too long ago: it ends.
    Over,
    /// Live; `mark_seen` when its last-seen time is due to be written.
    Live { mark_seen: bool },
}

pub fn check(s: &StoredSession, now: DateTime<Utc>) -> SessionCheck {
    if s.last_seen_at + IDLE_TIMEOUT <= now || s.created_at + MAX_LIFETIME <= now {
        SessionCheck::Over
    } else {
        SessionCheck::Live {
            mark_seen: now - s.last_seen_at >= SEEN_EVERY,
        }
    }
}

/// The staff member of a live session, marking it seen; a session that is over is deleted
/// and gives None.
pub async fn touch(
    store: &Store,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<StaffMember>, StoreError> {
    let Some(session) = store.staff_session(id).await? else {
        return Ok(None);
    };
    match check(&session, now) {
        SessionCheck::Over => {
            store.end_staff_session(id).await?;
            Ok(None)
        }
        SessionCheck::Live { mark_seen } => {
            if mark_seen {
                store.mark_session_seen(id, now).await?;
            }
            store.staff_member(session.staff_id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_session_ends_idle_or_old_and_is_marked_seen_once_a_minute() {
        let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let s = |created: i64, seen: i64| StoredSession {
            staff_id: 1,
            created_at: t0 + Duration::minutes(created),
            last_seen_at: t0 + Duration::minutes(seen),
        };
        let now = t0 + Duration::hours(9);
        // Seen 8 hours ago: idle too long.
        assert_eq!(check(&s(0, 60), now), SessionCheck::Over);
        // Seen just now but begun 12 hours ago: too old however busy.
        let late = t0 + Duration::hours(12);
        assert_eq!(check(&s(0, 12 * 60 - 1), late), SessionCheck::Over);
        assert_eq!(
            check(&s(0, 9 * 60), now),
            SessionCheck::Live { mark_seen: false }
        );
        assert_eq!(
            check(&s(0, 9 * 60 - 2), now),
            SessionCheck::Live { mark_seen: true }
        );
    }

    #[test]
    fn generated_tokens_parse_differ_and_hash_to_hex() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_ne!(a.as_str(), b.as_str());
        let parsed = SessionToken::parse(a.as_str()).unwrap();
        assert_eq!(parsed.id(), a.id());
        assert_eq!(a.id().len(), 64);
        assert_ne!(a.id(), a.as_str());
    }

    #[test]
    fn junk_is_not_a_token() {
        assert!(SessionToken::parse("").is_none());
        assert!(SessionToken::parse("attacker-chosen").is_none());
        assert!(SessionToken::parse(&"a'".repeat(22)[..43]).is_none());
    }
}
