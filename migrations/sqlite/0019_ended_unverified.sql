-- A booking may end `unverified`: its window ended on a lock that reports no entries (an
-- offline-code lockbox), so nobody can tell whether the renter came (README "Seam locks").
-- SQLite cannot change a CHECK constraint: the table is rebuilt. Other tables reference
-- bookings (id), so the rows are put back into the new table under the same name: the
-- foreign keys the drop left dangling are deferred to the commit and met again by the
-- re-inserted rows (nothing references bookings with ON DELETE). Every index is made again.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE bookings_copy AS SELECT * FROM bookings;
DROP TABLE bookings;
CREATE TABLE bookings (
    id                   TEXT PRIMARY KEY,
    token                TEXT NOT NULL UNIQUE,
    idempotency_key      TEXT NOT NULL UNIQUE,
    community_slug       TEXT NOT NULL,
    state                TEXT NOT NULL CHECK (state IN ('requesting', 'confirmed', 'in_progress', 'completed', 'no_show', 'unverified', 'cancelled', 'failed')),
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
    updated_at           TIMESTAMPTZ NOT NULL,
    first_access_at      TIMESTAMPTZ,
    knock_uncertain      BOOLEAN NOT NULL DEFAULT FALSE,
    review               TEXT CHECK (review IN ('needs_attention', 'awaiting_office')),
    review_detail        TEXT,
    change_held_until    TIMESTAMPTZ
);
INSERT INTO bookings (id, token, idempotency_key, community_slug, state, first_name, last_name,
    email, phone, sms_consent, move_date, bedrooms, message, source_title, slot_start,
    slot_start_knock, slot_end, knock_prospect_id, knock_appointment_id, failure,
    knock_attempts, next_attempt_at, created_at, updated_at, first_access_at, knock_uncertain,
    review, review_detail, change_held_until)
SELECT id, token, idempotency_key, community_slug, state, first_name, last_name,
    email, phone, sms_consent, move_date, bedrooms, message, source_title, slot_start,
    slot_start_knock, slot_end, knock_prospect_id, knock_appointment_id, failure,
    knock_attempts, next_attempt_at, created_at, updated_at, first_access_at, knock_uncertain,
    review, review_detail, change_held_until
FROM bookings_copy;
DROP TABLE bookings_copy;
-- The state lists are `BookingState::holds_slot` (0001, 0010).
CREATE UNIQUE INDEX bookings_slot_held ON bookings (community_slug, slot_start)
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
CREATE INDEX bookings_due ON bookings (next_attempt_at) WHERE state = 'requesting';
CREATE INDEX bookings_by_community_start ON bookings (community_slug, slot_start);
CREATE UNIQUE INDEX bookings_renter_email_live ON bookings (community_slug, lower(email))
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
CREATE UNIQUE INDEX bookings_renter_phone_live ON bookings (community_slug, phone)
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
