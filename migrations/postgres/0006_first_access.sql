-- When the door first opened for a booking: the visit's time when the tour window ends after
-- an arrival without the provider reporting the tour complete (SPEC.md "States").
ALTER TABLE bookings ADD COLUMN first_access_at TIMESTAMPTZ;
