use std::fmt;

use serde::{Deserialize, Serialize};

const MAX_CHARS: usize = 200;

/// Doorway's `utm_knock_source_title`, kept exactly as received: Knock matches it against
/// its own source names, so even spaces matter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceTitle(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SourceTitleError {
    #[error("This tour link is incomplete. Open it again from the community's website.")]
    Empty,
    #[error("This tour link is damaged. Open it again from the community's website.")]
    Malformed,
}

impl SourceTitle {
    pub fn parse(input: &str) -> Result<Self, SourceTitleError> {
        if input.is_empty() {
            return Err(SourceTitleError::Empty);
        }
        if input.chars().count() > MAX_CHARS || input.chars().any(char::is_control) {
            return Err(SourceTitleError::Malformed);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SourceTitle {
    type Error = SourceTitleError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SourceTitle> for String {
    fn from(title: SourceTitle) -> Self {
        title.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_title_is_kept_exactly_with_spaces_and_ampersands() {
        for input in [
            "Self-Guided Tour Vendor",
            "  Padded  &  Spaced  ",
            "Apartments.com & Zillow",
            "Café Résidences – Führung",
            "見学ツアー",
            "🏠 Tours",
            "a",
        ] {
            assert_eq!(
                SourceTitle::parse(input).map(String::from),
                Ok(input.to_owned())
            );
        }
    }

    #[test]
    fn an_empty_title_is_refused() {
        assert_eq!(SourceTitle::parse(""), Err(SourceTitleError::Empty));
    }

    #[test]
    fn two_hundred_characters_are_accepted_and_two_hundred_and_one_are_not() {
        assert!(SourceTitle::parse(&"ü".repeat(200)).is_ok());
        assert_eq!(
            SourceTitle::parse(&"ü".repeat(201)),
            Err(SourceTitleError::Malformed)
        );
    }

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "Tour\nVendor",
            "Tour\tVendor",
            "Tour\u{0000}",
            "Tour\u{009B}",
        ] {
            assert_eq!(
                SourceTitle::parse(bad),
                Err(SourceTitleError::Malformed),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_printable_title_up_to_200_chars_survives_unchanged(input in "\\PC{1,200}") {
            let title = SourceTitle::parse(&input);
            prop_assert_eq!(title.as_ref().map(SourceTitle::as_str), Ok(input.as_str()));
            let json = serde_json::to_string(&input).expect("a string serializes");
            let back: SourceTitle = serde_json::from_str(&json).expect("a valid title deserializes");
            prop_assert_eq!(back.as_str(), input.as_str());
        }
    }
}
