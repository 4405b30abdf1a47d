-- One live booking per renter per community, by e-mail or by phone: Knock merges prospects on
-- either (e-mail case-insensitively) and a new appointment request replaces the prospect's
-- upcoming one at the community (API.md §4, behaviour 5), so a second live booking here would
-- stand for an appointment Knock has cancelled. The second of two racing requests is refused
-- here; the booking path tells it apart by looking again (README: "One tour per renter").
-- The state list is `BookingState::holds_slot`, as for bookings_slot_held (0001).
--
-- A database that already holds two such bookings refuses this migration (nothing is
-- changed); find them with
--   SELECT community_slug, lower(email), count(*) FROM bookings
--   WHERE state IN ('requesting', 'confirmed', 'in_progress')
--   GROUP BY community_slug, lower(email) HAVING count(*) > 1;
-- (and the same by phone), cancel the older one (Knock has already replaced it), then migrate.
CREATE UNIQUE INDEX bookings_renter_email_live ON bookings (community_slug, lower(email))
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
CREATE UNIQUE INDEX bookings_renter_phone_live ON bookings (community_slug, phone)
    WHERE state IN ('requesting', 'confirmed', 'in_progress');
