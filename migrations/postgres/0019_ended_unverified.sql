-- A booking may end `unverified`: its window ended on a lock that reports no entries (an
-- offline-code lockbox), so nobody can tell whether the renter came (README "Seam locks").
ALTER TABLE bookings DROP CONSTRAINT bookings_state_check;
ALTER TABLE bookings ADD CONSTRAINT bookings_state_check CHECK (state IN ('requesting', 'confirmed', 'in_progress', 'completed', 'no_show', 'unverified', 'cancelled', 'failed'));
