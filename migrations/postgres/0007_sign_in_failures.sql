-- Refused staff sign-ins by client address (its rate key) and e-mail as typed, so that every
-- `serve` process sharing the database counts the same attempts. Rows older than the limits'
-- window are deleted as new ones arrive.
CREATE TABLE sign_in_failures (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    client  TEXT NOT NULL,
    account TEXT
);
CREATE INDEX sign_in_failures_by_client ON sign_in_failures (client, at);
CREATE INDEX sign_in_failures_by_account ON sign_in_failures (account, at);
