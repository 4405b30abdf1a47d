-- Staff accounts, their communities, their sign-in sessions and what they did.
-- Times are UTC, bound from Rust (never SQL defaults).
CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Lower-cased, so that sign-in does not depend on how the address was typed.
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE staff_communities (
    staff_id       INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    community_slug TEXT NOT NULL,
    PRIMARY KEY (staff_id, community_slug)
);

-- id is the SHA-256 of the cookie's token: a leaked table does not give usable cookies.
CREATE TABLE staff_sessions (
    id           TEXT PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

-- Who did what, when. Keyed by e-mail, not by id, so that it outlives a removed account.
CREATE TABLE staff_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TIMESTAMPTZ NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    booking_id TEXT,
    detail     TEXT NOT NULL
);
CREATE INDEX staff_audit_by_actor ON staff_audit (actor, id);
CREATE INDEX staff_audit_by_booking ON staff_audit (booking_id, id);
