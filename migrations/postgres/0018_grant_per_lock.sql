-- One grant per booking per lock (a community's building lock and its units' locks): the key
-- becomes (booking_id, device_id). `unit` names the unit whose lock it is (NULL: the building's
-- own lock); `opened_at` is the first time that lock opened with the booking's code, so that
-- the units whose doors opened are the visit's unit names.
ALTER TABLE access_grants DROP CONSTRAINT access_grants_pkey;
ALTER TABLE access_grants ADD PRIMARY KEY (booking_id, device_id);
ALTER TABLE access_grants ADD COLUMN unit TEXT;
ALTER TABLE access_grants ADD COLUMN opened_at TIMESTAMPTZ;
