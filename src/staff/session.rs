//! Staff session tokens: the cookie carries a random token, the database only its SHA-256, so
//! that a copy of the sessions table cannot be replayed as cookies.
use base64::Engine;
use sha2::{Digest, Sha256};

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

#[cfg(test)]
mod tests {
    use super::*;

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
