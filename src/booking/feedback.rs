//! The renter's answer to "How was your tour?" on the finished-tour page: once per booking,
//! and only for a completed tour. The same answer twice (a double tap, the back button) is
//! taken quietly; a different second answer is refused, so what staff read does not change
//! under them.
use chrono::{DateTime, Utc};

use super::BookingService;
use crate::domain::{rules, BookingId, BookingState, TourFeedback};
use crate::store::StoreError;

#[derive(Debug, PartialEq, Eq)]
pub enum FeedbackOutcome {
    Saved,
    /// This very answer was given before: nothing changes.
    SameAgain,
    /// Another answer was given before; it stands.
    AlreadyAnswered,
    /// The tour is not completed (yet, or ever).
    NotFinished(BookingState),
    UnknownBooking,
}

impl BookingService {
    /// Stores `answer` with the booking, with a line in its history, in one transaction.
    pub async fn record_feedback(
        &self,
        id: &BookingId,
        answer: &TourFeedback,
        now: DateTime<Utc>,
    ) -> Result<FeedbackOutcome, StoreError> {
        let mut tx = self.store.begin().await?;
        let Some(booking) = tx.booking(id).await? else {
            return Ok(FeedbackOutcome::UnknownBooking);
        };
        if !rules::takes_feedback(booking.state) {
            return Ok(FeedbackOutcome::NotFinished(booking.state));
        }
        if !tx.insert_feedback(id, answer).await? {
            let before = tx.feedback(id).await?;
            return Ok(match before {
                Some(b) if b.same_answer(answer) => FeedbackOutcome::SameAgain,
                _ => FeedbackOutcome::AlreadyAnswered,
            });
        }
        // The comment stays in its own table: the history line says only that one came.
        let detail = format!(
            "How was the tour: {}{}",
            answer.rating.label(),
            if answer.comment.is_some() {
                ", with a comment"
            } else {
                ""
            }
        );
        tx.history(id, now, "renter", "feedback", &detail).await?;
        tx.commit().await?;
        Ok(FeedbackOutcome::Saved)
    }

    /// The renter's answer, if they gave one.
    pub async fn feedback(&self, id: &BookingId) -> Result<Option<TourFeedback>, StoreError> {
        self.store.feedback_for(id).await
    }
}
