-- A booking may need more than one job of a kind: a rescheduled booking cancels its old Knock
-- appointment and, if later cancelled, its new one. The natural key gains the appointment (or
-- whatever else tells two such jobs apart); '' where one per booking is the rule (visits).
ALTER TABLE outbox_jobs ADD COLUMN dedupe_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_booking_id_kind_key;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_natural_key UNIQUE (booking_id, kind, dedupe_key);
