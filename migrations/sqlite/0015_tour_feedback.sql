-- The renter's one answer to "How was your tour?" on the finished-tour page (README "When a
-- tour ends"). One row per booking: a second, different answer is refused (the primary key),
-- the same one again is taken as a double tap. Shown to staff on the booking's page.
CREATE TABLE tour_feedback (
    booking_id  TEXT PRIMARY KEY REFERENCES bookings (id),
    rating      TEXT NOT NULL CHECK (rating IN ('great', 'good', 'okay', 'poor')),
    comment     TEXT,
    answered_at TIMESTAMPTZ NOT NULL
);
