-- Bookings accepted from each client address (its rate key: an IPv6 client by its /64), so
-- that every `serve` process sharing the database counts the same bookings against the
-- per-address limit (TOURGATE_BOOKINGS_PER_HOUR). A row is written in the transaction that
-- writes its booking; rows older than the limit's window are deleted as new ones arrive.
CREATE TABLE client_bookings (
    id         BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    client     TEXT NOT NULL,
    booking_id TEXT NOT NULL
);
CREATE INDEX client_bookings_by_client ON client_bookings (client, at);
CREATE INDEX client_bookings_by_at ON client_bookings (at);
