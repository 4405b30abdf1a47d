use std::fmt;

use serde::{Deserialize, Serialize};

const MAX_CHARS: usize = 80;

/// A first or last name: trimmed, inner whitespace collapsed to single spaces, 1..=80 chars,
/// with at least one letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("Enter a name.")]
    Empty,
    #[error("Use at most 80 characters for a name.")]
    TooLong,
    #[error("Remove the special characters from the name.")]
    ForbiddenCharacter,
}

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, PersonNameError> {
        // Tabs and line breaks are whitespace to collapse; other control characters and the
        // bidi overrides (which can make a name display as something else) are refused.
        if input
            .chars()
            .any(|c| (c.is_control() && !c.is_whitespace()) || is_bidi_control(c))
        {
            return Err(PersonNameError::ForbiddenCharacter);
        }
        let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
        // "." or "-" typed to get past a required field is not a name Knock should keep.
        if !collapsed.chars().any(char::is_alphabetic) {
            return Err(PersonNameError::Empty);
        }
        if collapsed.chars().count() > MAX_CHARS {
            return Err(PersonNameError::TooLong);
        }
        Ok(Self(collapsed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PersonName {
    type Error = PersonNameError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonName> for String {
    fn from(name: PersonName) -> Self {
        name.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_name_is_trimmed_and_inner_whitespace_collapsed() {
        let name = PersonName::parse("  Mary   Ann\t van\u{00A0}Dyke \n").expect("valid");
        assert_eq!(name.as_str(), "Mary Ann van Dyke");
    }

    #[test]
    fn non_ascii_names_are_kept() {
        for input in ["Zoë", "José-María", "Nguyễn", "王小明", "O'Brien"] {
            assert_eq!(
                PersonName::parse(input).map(String::from),
                Ok(input.to_owned())
            );
        }
    }

    #[test]
    fn empty_and_blank_names_are_refused() {
        assert_eq!(PersonName::parse(""), Err(PersonNameError::Empty));
        assert_eq!(PersonName::parse(" \t\n "), Err(PersonNameError::Empty));
    }

    #[test]
    fn a_name_without_any_letter_is_refused() {
        for bad in [".", "-", "123", "\u{200B}", "?? !!"] {
            assert_eq!(
                PersonName::parse(bad),
                Err(PersonNameError::Empty),
                "{bad:?}"
            );
        }
        assert!(PersonName::parse("Ø").is_ok());
    }

    #[test]
    fn eighty_characters_are_accepted_and_eighty_one_are_not() {
        let eighty = "é".repeat(80);
        assert!(PersonName::parse(&eighty).is_ok());
        let eighty_one = "é".repeat(81);
        assert_eq!(
            PersonName::parse(&eighty_one),
            Err(PersonNameError::TooLong)
        );
    }

    #[test]
    fn the_length_limit_applies_after_collapsing_whitespace() {
        let padded = format!("   {}   {}   ", "a".repeat(39), "b".repeat(40));
        assert_eq!(
            PersonName::parse(&padded).map(|n| n.as_str().chars().count()),
            Ok(80)
        );
    }

    #[test]
    fn control_and_bidi_override_characters_are_refused() {
        for bad in [
            "Ann\u{0000}",
            "Ann\u{0007}Lee",
            "Ann\u{007F}",
            "\u{202E}eeL nnA",
        ] {
            assert_eq!(
                PersonName::parse(bad),
                Err(PersonNameError::ForbiddenCharacter),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn a_parsed_name_is_a_fixed_point(input in "\\PC{0,100}") {
            if let Ok(name) = PersonName::parse(&input) {
                prop_assert!(!name.as_str().starts_with(' ') && !name.as_str().ends_with(' '));
                prop_assert!(!name.as_str().contains("  "));
                prop_assert!((1..=80).contains(&name.as_str().chars().count()));
                prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
            }
        }
    }
}
