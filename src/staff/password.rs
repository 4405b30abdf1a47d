//! Staff passwords: a policy checked when an operator sets one, argon2id hashing, and a
//! verification that costs the same whether or not the account exists.
use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

/// Passwords long enough to pass the length rule that still top the breached-password lists.
const COMMON: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456789123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abc123456789",
    "abcdefghijkl",
    "administrator",
    "baseball1234",
    "changeme1234",
    "football1234",
    "iloveyou1234",
    "letmein12345",
    "monkey123456",
    "password1234",
    "password12345",
    "password123!",
    "passwordpassword",
    "password1!password1!",
    "p@ssw0rd1234",
    "p@ssword1234",
    "qwerty123456",
    "qwertyuiop12",
    "qwertyuiopasdf",
    "qwertyuiopas",
    "superman1234",
    "trustno11234",
    "welcome12345",
    "welcome123456",
    "zaq12wsxcde3",
    "tourgate1234",
    "tourgatetourgate",
];

/// A password that passed the policy. Never printed: Debug hides it.
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password is shorter than {MIN_CHARS} characters")]
    TooShort,
    #[error("the password is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("the password is too common; choose another")]
    Common,
}

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, PasswordProblem> {
        let chars = raw.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordProblem::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordProblem::TooLong);
        }
        let lower = raw.to_lowercase();
        let first = lower.chars().next();
        let one_character_repeated = lower.chars().all(|c| Some(c) == first);
        if one_character_repeated || COMMON.contains(&lower.as_str()) {
            return Err(PasswordProblem::Common);
        }
        Ok(Self(raw.to_string()))
    }

    /// argon2id with the crate's default (OWASP-recommended) parameters, in PHC string form.
    pub fn hash(&self) -> Result<String, argon2::password_hash::Error> {
        hash(&self.0)
    }
}

fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&crate::config::random_bytes::<16>())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// A hash of nothing anyone knows, with the same parameters as real ones: checked against when
/// the e-mail is unknown, so that the answer takes as long as for a real account.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let unguessable = hex::encode(crate::config::random_bytes::<32>());
        hash(&unguessable).unwrap_or_default()
    })
}

/// True when `candidate` matches `stored`. With no stored hash (unknown account) the dummy
/// is verified instead and the answer is false. The comparison of argon2 outputs is constant
/// time (password-hash compares with `subtle`). CPU-heavy: call it off the async threads.
pub fn verify(candidate: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (dummy_hash(), false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!("a stored staff password hash does not parse");
        return false;
    };
    let matches = Argon2::default()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok();
    matches && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_repeated_passwords_are_refused() {
        assert_eq!(
            NewPassword::parse("short").unwrap_err(),
            PasswordProblem::TooShort
        );
        assert_eq!(
            NewPassword::parse("Password1234").unwrap_err(),
            PasswordProblem::Common
        );
        assert_eq!(
            NewPassword::parse("xxxxxxxxxxxxxxx").unwrap_err(),
            PasswordProblem::Common
        );
        assert_eq!(
            NewPassword::parse(&"a".repeat(MAX_CHARS + 1)).unwrap_err(),
            PasswordProblem::TooLong
        );
        assert!(NewPassword::parse("correct horse battery").is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 11 characters, 22 bytes: still too short.
        assert_eq!(
            NewPassword::parse("ééééééééééé").unwrap_err(),
            PasswordProblem::TooShort
        );
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let p = NewPassword::parse("correct horse battery").unwrap();
        let h = p.hash().unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(&h)));
        assert!(!verify("correct horse batterY", Some(&h)));
        assert!(!verify("correct horse battery", None));
        assert!(!verify("correct horse battery", Some("not a hash")));
    }
}
