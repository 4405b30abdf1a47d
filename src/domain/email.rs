use std::fmt;

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

/// SMTP's limit on a forward path (RFC 5321 with erratum 1690), in octets.
const MAX_OCTETS: usize = 254;

/// An e-mail address as the renter typed it (trimmed), known to be deliverable in shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your e-mail address.")]
    Empty,
    #[error("That e-mail address is too long. Enter a shorter one.")]
    TooLong,
    #[error("Enter an e-mail address like name@example.com.")]
    Invalid,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > MAX_OCTETS {
            return Err(EmailError::TooLong);
        }
        // A dot in the domain rules out intranet hosts like `name@localhost`; display names
        // ("Ann <ann@example.com>") and IP literals are not addresses a renter types.
        let options = Options {
            minimum_sub_domains: 2,
            allow_domain_literal: false,
            allow_display_text: false,
            ..Options::default()
        };
        EmailAddress::parse_with_options(trimmed, options).map_err(|_| EmailError::Invalid)?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Lower-cased, for comparing addresses the way Knock de-duplicates prospects.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_address_is_accepted_and_kept_as_typed() {
        let email = Email::parse("Ann.Lee@Example.com").expect("valid address");
        assert_eq!(email.as_str(), "Ann.Lee@Example.com");
        assert_eq!(email.to_string(), "Ann.Lee@Example.com");
    }

    #[test]
    fn surrounding_whitespace_is_trimmed() {
        let email = Email::parse("  ann@example.com \n").expect("valid address");
        assert_eq!(email.as_str(), "ann@example.com");
    }

    #[test]
    fn normalized_is_lower_case_so_that_case_variants_compare_equal() {
        let a = Email::parse("ANN@Example.COM").expect("valid");
        let b = Email::parse("ann@example.com").expect("valid");
        assert_ne!(a, b);
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn plus_tags_and_subdomains_are_accepted() {
        assert!(Email::parse("ann+tours@mail.example.co.uk").is_ok());
    }

    #[test]
    fn empty_and_blank_input_asks_for_an_address() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@@example.com",
            "ann example@example.com",
            "ann@example",
            "ann@localhost",
            "Ann <ann@example.com>",
            "ann@[127.0.0.1]",
            "ann@exa mple.com",
            "ann\n@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn an_address_of_254_octets_is_accepted_and_255_is_too_long() {
        // Labels of at most 63 octets keep the domain itself valid.
        let domain = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63)
        );
        let local_254 = "x".repeat(254 - 1 - domain.len());
        let at_limit = format!("{local_254}@{domain}");
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("y{at_limit}");
        assert_eq!(Email::parse(&over), Err(EmailError::TooLong));
    }

    #[test]
    fn the_error_reads_as_a_sentence_for_the_form() {
        assert_eq!(
            EmailError::Invalid.to_string(),
            "Enter an e-mail address like name@example.com."
        );
    }

    #[test]
    fn serde_round_trips_and_refuses_invalid_values() {
        let email = Email::parse("ann@example.com").expect("valid");
        let json = serde_json::to_string(&email).expect("serialize");
        assert_eq!(json, "\"ann@example.com\"");
        let back: Email = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, email);
        assert!(serde_json::from_str::<Email>("\"nope\"").is_err());
    }
}
