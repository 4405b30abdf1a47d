use std::fmt;

use serde::Serialize;

const MAX_CHARS: usize = 2000;

/// The renter's optional note to the leasing team.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Message(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("Keep the message to 2000 characters or fewer.")]
    TooLong,
    #[error("Remove the special characters from the message.")]
    ForbiddenCharacter,
}

impl Message {
    /// A blank message is no message: `Ok(None)`.
    pub fn parse(input: &str) -> Result<Option<Self>, MessageError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > MAX_CHARS {
            return Err(MessageError::TooLong);
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(MessageError::ForbiddenCharacter);
        }
        Ok(Some(Self(trimmed.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> Option<String> {
        Message::parse(input)
            .expect("a valid message")
            .map(|m| m.as_str().to_owned())
    }

    #[test]
    fn a_blank_message_is_no_message() {
        assert_eq!(Message::parse(""), Ok(None));
        assert_eq!(Message::parse(" \r\n\t "), Ok(None));
    }

    #[test]
    fn a_message_is_trimmed_and_keeps_its_inner_lines() {
        assert_eq!(
            text("  Do you allow cats?\r\n\r\nThanks, Zoë  "),
            Some("Do you allow cats?\r\n\r\nThanks, Zoë".to_owned())
        );
    }

    #[test]
    fn two_thousand_characters_are_accepted_and_more_are_not() {
        assert!(Message::parse(&"ß".repeat(2000)).is_ok_and(|m| m.is_some()));
        assert_eq!(
            Message::parse(&"ß".repeat(2001)),
            Err(MessageError::TooLong)
        );
    }

    #[test]
    fn control_characters_other_than_line_breaks_and_tabs_are_refused() {
        assert_eq!(
            Message::parse("hello\u{0000}"),
            Err(MessageError::ForbiddenCharacter)
        );
        assert_eq!(
            Message::parse("bell\u{0007}"),
            Err(MessageError::ForbiddenCharacter)
        );
    }
}
