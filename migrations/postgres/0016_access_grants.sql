-- A booking's access on a lock of an outside provider (Seam): the window asked of the lock,
-- the provider's id for the code, and where the code is in its life. The code itself is
-- never stored: it is the booking's built-in code (an HMAC), set on the lock as a custom PIN.
--
-- state, one of:
--   issuing        the create is queued in the outbox (or being retried)
--   unset          the provider has it, not yet on the lock
--   setting        being programmed onto the lock
--   scheduled      on the lock ahead of the window (native scheduling): safe to send
--   set            on the lock: safe to send
--   failed         could not be set (device offline, no space, constraint): `problem` says why;
--                  staff see it under "codes that could not be set"
--   revoking       the delete is queued or sent, the lock has not confirmed it yet
--   removed        gone from the lock
--   revoke_failed  the removal did not reach the lock: a security alert until it does
-- `state_at` is when the provider says the state began, so that late or reordered reports
-- never move a code back.
CREATE TABLE access_grants (
    booking_id          TEXT PRIMARY KEY REFERENCES bookings (id),
    provider            TEXT NOT NULL,
    device_id           TEXT NOT NULL,
    -- Bumped with each new window or revoke; jobs of an older generation are skipped.
    generation          BIGINT NOT NULL,
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ NOT NULL,
    access_code_id      TEXT,
    state               TEXT NOT NULL,
    problem             TEXT,
    state_at            TIMESTAMPTZ NOT NULL,
    -- How the arrival was tied to this booking: code_id | code | probable (staff check it).
    arrival_attribution TEXT,
    -- When staff were mailed about the current failure (one mail per failure).
    alerted_at          TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_grants_by_code ON access_grants (access_code_id);
CREATE INDEX access_grants_by_state ON access_grants (state);
CREATE INDEX access_grants_by_device ON access_grants (device_id, starts_at);

-- The newest provider event seen (by its occurred_at): the catch-up after downtime reads the
-- provider's event log from a little before it.
CREATE TABLE access_event_cursors (
    provider       TEXT PRIMARY KEY,
    last_event_at  TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
