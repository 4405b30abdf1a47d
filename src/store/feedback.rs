//! The renter's answer to "How was your tour?" (table `tour_feedback`, migration 0015).
use chrono::{DateTime, Utc};

use super::{on_backend, Store, StoreError};
use crate::domain::{BookingId, TourFeedback, TourRating};

pub(super) const SELECT: &str =
    "SELECT rating, comment, answered_at FROM tour_feedback WHERE booking_id = $1";

#[derive(sqlx::FromRow)]
pub(super) struct FeedbackRow {
    rating: String,
    comment: Option<String>,
    answered_at: DateTime<Utc>,
}

impl FeedbackRow {
    pub(super) fn parse(self) -> Result<TourFeedback, StoreError> {
        let rating = TourRating::parse(&self.rating)
            .ok_or_else(|| StoreError::Corrupt(format!("tour rating `{}`", self.rating)))?;
        Ok(TourFeedback {
            rating,
            comment: self.comment,
            answered_at: self.answered_at,
        })
    }
}

impl Store {
    /// The booking's answer, if the renter gave one.
    pub async fn feedback_for(&self, id: &BookingId) -> Result<Option<TourFeedback>, StoreError> {
        let row: Option<FeedbackRow> = on_backend!(self, p => {
            sqlx::query_as(SELECT).bind(id.as_str()).fetch_optional(p).await?
        });
        row.map(FeedbackRow::parse).transpose()
    }
}
