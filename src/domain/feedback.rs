//! The renter's one answer to "How was your tour?" on the finished-tour page.
use chrono::{DateTime, Utc};

/// The choices offered, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TourRating {
    Great,
    Good,
    Okay,
    Poor,
}

impl TourRating {
    pub const ALL: [TourRating; 4] = [Self::Great, Self::Good, Self::Okay, Self::Poor];

    /// The form's and the database's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Great => "great",
            Self::Good => "good",
            Self::Okay => "okay",
            Self::Poor => "poor",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Great => "Great",
            Self::Good => "Good",
            Self::Okay => "Okay",
            Self::Poor => "Not good",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// The longest comment kept: a few sentences, not an essay.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// What the renter answered: a rating, and a comment when they wrote one (trimmed, never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TourFeedback {
    pub rating: TourRating,
    pub comment: Option<String>,
    pub answered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackError {
    #[error("Choose how your tour was: Great, Good, Okay or Not good.")]
    NoRating,
    #[error("Keep your comment to 1000 characters or fewer.")]
    CommentTooLong,
    #[error("Remove the special characters from your comment.")]
    ForbiddenCharacter,
}

impl TourFeedback {
    /// The form's `rating` and optional `comment`, as posted.
    pub fn parse(
        rating: Option<&str>,
        comment: Option<&str>,
        answered_at: DateTime<Utc>,
    ) -> Result<Self, FeedbackError> {
        let rating = rating
            .and_then(TourRating::parse)
            .ok_or(FeedbackError::NoRating)?;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
            return Err(FeedbackError::CommentTooLong);
        }
        // As the booking form's message: control characters (a NUL, which PostgreSQL's text
        // refuses) are not what a renter types.
        if comment.is_some_and(|c| {
            c.chars()
                .any(|ch| ch.is_control() && !matches!(ch, '\n' | '\r' | '\t'))
        }) {
            return Err(FeedbackError::ForbiddenCharacter);
        }
        Ok(Self {
            rating,
            comment: comment.map(str::to_string),
            answered_at,
        })
    }

    /// The same answer (a double tap, a resubmitted form), whenever it was given.
    pub fn same_answer(&self, other: &TourFeedback) -> bool {
        self.rating == other.rating && self.comment == other.comment
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_is_needed_and_a_comment_is_trimmed_and_bounded() {
        let now = Utc::now();
        let f = TourFeedback::parse(Some("good"), Some("  Lovely light \n"), now).unwrap();
        assert_eq!(f.rating, TourRating::Good);
        assert_eq!(f.comment.as_deref(), Some("Lovely light"));
        assert_eq!(
            TourFeedback::parse(Some("great"), Some("   "), now)
                .unwrap()
                .comment,
            None
        );
        assert_eq!(
            TourFeedback::parse(None, None, now),
            Err(FeedbackError::NoRating)
        );
        assert_eq!(
            TourFeedback::parse(Some("superb"), None, now),
            Err(FeedbackError::NoRating)
        );
        let long = "é".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            TourFeedback::parse(Some("okay"), Some(&long), now),
            Err(FeedbackError::CommentTooLong)
        );
        assert_eq!(
            TourFeedback::parse(Some("okay"), Some("nul \u{0} here"), now),
            Err(FeedbackError::ForbiddenCharacter)
        );
        assert!(TourFeedback::parse(Some("okay"), Some("two\nlines\ttab"), now).is_ok());
        for r in TourRating::ALL {
            assert_eq!(TourRating::parse(r.as_str()), Some(r));
        }
    }
}
