-- A booking request whose answer from Knock was lost may have created the appointment all the
-- same: `knock_uncertain` says so, and Knock is looked at before asking again or giving up.
-- `review` marks a request that waits for staff instead of the worker: 'needs_attention' (Knock
-- holds an appointment we have no id for) or 'awaiting_office' (Knock answered a status other
-- than CONFIRMED: the leasing office reviews requests by hand). `review_detail` says what was
-- found. The booking stays 'requesting' (it holds its slot; the renter sees "being confirmed").
ALTER TABLE bookings ADD COLUMN knock_uncertain BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE bookings ADD COLUMN review TEXT CHECK (review IN ('needs_attention', 'awaiting_office'));
ALTER TABLE bookings ADD COLUMN review_detail TEXT;
