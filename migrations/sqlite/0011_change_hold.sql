-- One change to a booking at a time, across processes: a reschedule holds its booking until
-- this time while Knock decides, and a cancel needs it free. A dead process's hold runs out.
ALTER TABLE bookings ADD COLUMN change_held_until TIMESTAMPTZ;
