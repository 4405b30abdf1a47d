-- Bookings: one row per renter request, written before Knock is called.
-- Times are UTC, bound from Rust (never SQL defaults).
CREATE TABLE bookings (
    id                   TEXT PRIMARY KEY,
    token                TEXT NOT NULL UNIQUE,
    idempotency_key      TEXT NOT NULL UNIQUE,
    community_slug       TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('requesting', 'confirmed', 'in_progress', 'completed', 'no_show', 'cancelled', 'failed')),
    first_name           TEXT NOT NULL,
    last_name            TEXT NOT NULL,
    email                TEXT NOT NULL,
    phone                TEXT NOT NULL,
    sms_consent          BOOLEAN NOT NULL,
    move_date            DATE,
    bedrooms             TEXT,
    message              TEXT,
    source_title         TEXT NOT NULL,
    slot_start           TIMESTAMPTZ NOT NULL,
    slot_start_knock     TEXT NOT NULL,
    slot_end             TIMESTAMPTZ NOT NULL,
    knock_prospect_id    TEXT,
    knock_appointment_id TEXT,
    failure              TEXT,
    knock_attempts       INTEGER NOT NULL,
    next_attempt_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

-- One live holder per slot and community: the second of two racing renters is refused here.
CREATE UNIQUE INDEX bookings_slot_held ON bookings (community_slug, slot_start)
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
CREATE INDEX bookings_due ON bookings (next_attempt_at) WHERE state = 'requesting';
CREATE INDEX bookings_by_community_start ON bookings (community_slug, slot_start);

-- What happened to a booking, in order: shown to staff, never rewritten.
CREATE TABLE booking_events (
    id         BIGSERIAL PRIMARY KEY,
    booking_id TEXT NOT NULL REFERENCES bookings (id),
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX booking_events_by_booking ON booking_events (booking_id, id);
