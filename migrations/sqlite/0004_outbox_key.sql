-- A booking may need more than one job of a kind: a rescheduled booking cancels its old Knock
-- appointment and, if later cancelled, its new one. The natural key gains the appointment (or
-- whatever else tells two such jobs apart); '' where one per booking is the rule (visits).
-- SQLite cannot drop a table constraint: the table is rebuilt (kept in step with PostgreSQL).
CREATE TABLE outbox_jobs_new (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    kind                TEXT NOT NULL CHECK (kind IN ('visit', 'appointment_cancel', 'email_log')),
    booking_id          TEXT NOT NULL REFERENCES bookings (id),
    -- The request as it will be sent (JSON text), fixed when the job is queued.
    payload             TEXT NOT NULL,
    state               TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'dead')),
    attempts            INTEGER NOT NULL,
    next_attempt_at     TIMESTAMPTZ NOT NULL,
    -- While delivering: the claim holds until then; a dead worker's job is taken again after it.
    lease_until         TIMESTAMPTZ,
    -- Retries stop here (three days after queueing, or after a staff retry).
    give_up_at          TIMESTAMPTZ NOT NULL,
    -- A try may have reached Knock without our hearing the answer (time-out, 5xx, a worker that
    -- died mid-call): the next try first looks whether Knock has it.
    uncertain           BOOLEAN NOT NULL,
    last_error          TEXT,
    knock_error_message TEXT,
    -- What Knock answered on delivery (visitId, communicationId, ...).
    knock_result        TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    delivered_at        TIMESTAMPTZ,
    dedupe_key          TEXT NOT NULL DEFAULT '',
    UNIQUE (booking_id, kind, dedupe_key)
);
INSERT INTO outbox_jobs_new (id, kind, booking_id, payload, state, attempts, next_attempt_at,
    lease_until, give_up_at, uncertain, last_error, knock_error_message, knock_result,
    created_at, updated_at, delivered_at)
SELECT id, kind, booking_id, payload, state, attempts, next_attempt_at, lease_until, give_up_at,
    uncertain, last_error, knock_error_message, knock_result, created_at, updated_at, delivered_at
FROM outbox_jobs;
DROP TABLE outbox_jobs;
ALTER TABLE outbox_jobs_new RENAME TO outbox_jobs;
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, next_attempt_at);
