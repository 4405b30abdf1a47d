-- E-mail to renters rides the outbox too ('email': sent through the Mailer, then logged to
-- Knock as an 'email_log'). A booking gets several mails, so the natural key gains the mail's
-- own key ('' for the one-per-booking Knock writes).
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_kind_check;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_kind_check
    CHECK (kind IN ('visit', 'appointment_cancel', 'email_log', 'email'));
ALTER TABLE outbox_jobs ADD COLUMN dedupe_key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_booking_id_kind_key;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_natural_key UNIQUE (booking_id, kind, dedupe_key);
