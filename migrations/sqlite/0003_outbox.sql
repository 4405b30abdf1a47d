-- The outbox: every write to Knock after booking, recorded in the same transaction as the state
-- change it reports and delivered by workers with retries. Times are UTC, bound from Rust.
CREATE TABLE outbox_jobs (
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
    -- The same report can never be queued twice for a booking.
    UNIQUE (booking_id, kind)
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, next_attempt_at);

-- Access-provider callbacks acted on: the webhook-id is written in the same transaction as the
-- effect, so a replay finds it and does nothing.
CREATE TABLE access_callbacks (
    webhook_id   TEXT PRIMARY KEY,
    booking_id   TEXT NOT NULL REFERENCES bookings (id),
    kind         TEXT NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    effect       TEXT NOT NULL
);
CREATE INDEX access_callbacks_by_booking ON access_callbacks (booking_id);
