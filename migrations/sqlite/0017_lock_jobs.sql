-- Lock writes ride the outbox ('access_issue': a code on an outside lock for the booking's
-- window; 'access_revoke': its removal), and so do alerts mailed to a community's staff contact
-- ('staff_alert': a code that could not be set or removed).
-- SQLite cannot alter a CHECK: the table is rebuilt (nothing references it).
CREATE TABLE outbox_jobs_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('visit', 'appointment_cancel', 'email_log', 'email', 'access_issue',
        'access_revoke', 'staff_alert')),
    booking_id          TEXT NOT NULL REFERENCES bookings (id),
    payload             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'skipped', 'dead')),
    attempts            INTEGER NOT NULL,
    next_attempt_at     TIMESTAMPTZ NOT NULL,
    lease_until         TIMESTAMPTZ,
    give_up_at          TIMESTAMPTZ NOT NULL,
    uncertain           BOOLEAN NOT NULL,
    last_error          TEXT,
    knock_error_message TEXT,
    knock_result        TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    delivered_at        TIMESTAMPTZ,
    dedupe_key          TEXT NOT NULL DEFAULT '',
    UNIQUE (booking_id, kind, dedupe_key)
);
INSERT INTO outbox_jobs_new (id, kind, booking_id, payload, state, attempts, next_attempt_at,
    lease_until, give_up_at, uncertain, last_error, knock_error_message, knock_result,
    created_at, updated_at, delivered_at, dedupe_key)
SELECT id, kind, booking_id, payload, state, attempts, next_attempt_at, lease_until, give_up_at,
    uncertain, last_error, knock_error_message, knock_result, created_at, updated_at, delivered_at,
    dedupe_key
FROM outbox_jobs;
DROP TABLE outbox_jobs;
ALTER TABLE outbox_jobs_new RENAME TO outbox_jobs;
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, next_attempt_at);
