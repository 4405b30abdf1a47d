use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use subtle::ConstantTimeEq;

const TOKEN_BYTES: usize = 32;
/// base64url of 32 bytes without padding.
const TOKEN_CHARS: usize = 43;

/// The capability in a renter's booking links (`/bookings/{token}`): whoever holds it may see,
/// cancel and reschedule the booking, so it is unguessable and never printed by `Debug`.
#[derive(Clone)]
pub struct BookingToken(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("This booking link is not valid. Check that you copied all of it.")]
pub struct BookingTokenError;

impl BookingToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng.fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Checks the shape only; whether a booking has this token is the store's question.
    pub fn parse(input: &str) -> Result<Self, BookingTokenError> {
        if input.len() != TOKEN_CHARS {
            return Err(BookingTokenError);
        }
        // Decoding also refuses non-canonical spellings (stray low bits in the last
        // character), so one token has exactly one string form.
        match URL_SAFE_NO_PAD.decode(input) {
            Ok(bytes) if bytes.len() == TOKEN_BYTES => Ok(Self(input.to_owned())),
            _ => Err(BookingTokenError),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq for BookingToken {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for BookingToken {}

impl fmt::Debug for BookingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BookingToken(…)")
    }
}

impl fmt::Display for BookingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_generated_token_is_43_url_safe_characters_that_parse_back() {
        let token = BookingToken::generate();
        assert_eq!(token.as_str().len(), 43);
        assert!(token
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(BookingToken::parse(token.as_str()), Ok(token.clone()));
        assert_eq!(token.to_string(), token.as_str());
    }

    #[test]
    fn generated_tokens_do_not_repeat() {
        let tokens: HashSet<String> = (0..1000)
            .map(|_| BookingToken::generate().to_string())
            .collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn debug_does_not_print_the_token() {
        let token = BookingToken::generate();
        let debug = format!("{token:?}");
        assert_eq!(debug, "BookingToken(…)");
        assert!(!debug.contains(token.as_str()));
    }

    #[test]
    fn wrong_shapes_are_refused() {
        let good = BookingToken::generate().to_string();
        let too_short = &good[..42];
        let too_long = format!("{good}A");
        let padded = format!("{}=", &good[..42]);
        let bad_alphabet = format!("{}+", &good[..42]);
        let non_ascii = format!("{}é", &good[..41]);
        for bad in [
            "",
            too_short,
            too_long.as_str(),
            padded.as_str(),
            bad_alphabet.as_str(),
            non_ascii.as_str(),
            "../../../../../../../../../../etc/passwd...",
        ] {
            assert_eq!(BookingToken::parse(bad), Err(BookingTokenError), "{bad:?}");
        }
    }

    #[test]
    fn a_non_canonical_last_character_is_refused() {
        // 32 zero bytes encode to 42 'A's and a final 'A'; 'B' sets a bit that is not data.
        let canonical = "A".repeat(43);
        assert!(BookingToken::parse(&canonical).is_ok());
        let non_canonical = format!("{}B", "A".repeat(42));
        assert_eq!(BookingToken::parse(&non_canonical), Err(BookingTokenError));
    }

    #[test]
    fn tokens_compare_by_value() {
        let token = BookingToken::generate();
        let same = BookingToken::parse(token.as_str()).expect("valid");
        assert_eq!(token, same);
        assert_ne!(token, BookingToken::generate());
    }
}
