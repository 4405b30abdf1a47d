-- One grant per booking per lock (a community's building lock and its units' locks): the key
-- becomes (booking_id, device_id). `unit` names the unit whose lock it is (NULL: the building's
-- own lock); `opened_at` is the first time that lock opened with the booking's code, so that
-- the units whose doors opened are the visit's unit names.
-- SQLite cannot change a primary key: the table is rebuilt (nothing references it).
CREATE TABLE access_grants_new (
    booking_id          TEXT NOT NULL REFERENCES bookings (id),
    device_id           TEXT NOT NULL,
    unit                TEXT,
    provider            TEXT NOT NULL,
    generation          INTEGER NOT NULL,
    starts_at           TIMESTAMPTZ NOT NULL,
    ends_at             TIMESTAMPTZ NOT NULL,
    access_code_id      TEXT,
    state               TEXT NOT NULL,
    problem             TEXT,
    state_at            TIMESTAMPTZ NOT NULL,
    arrival_attribution TEXT,
    alerted_at          TIMESTAMPTZ,
    opened_at           TIMESTAMPTZ,
    updated_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (booking_id, device_id)
);
INSERT INTO access_grants_new (booking_id, device_id, unit, provider, generation, starts_at,
    ends_at, access_code_id, state, problem, state_at, arrival_attribution, alerted_at,
    opened_at, updated_at)
SELECT booking_id, device_id, NULL, provider, generation, starts_at, ends_at, access_code_id,
    state, problem, state_at, arrival_attribution, alerted_at, NULL, updated_at
FROM access_grants;
DROP TABLE access_grants;
ALTER TABLE access_grants_new RENAME TO access_grants;
CREATE INDEX access_grants_by_code ON access_grants (access_code_id);
CREATE INDEX access_grants_by_state ON access_grants (state);
CREATE INDEX access_grants_by_device ON access_grants (device_id, starts_at);
