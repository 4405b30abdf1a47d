-- E-mail to renters rides the outbox too ('email': sent through the Mailer, then logged to
-- Knock as an 'email_log'). Each mail has its own dedupe_key (the natural key of 0004).
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_kind_check;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_kind_check
    CHECK (kind IN ('visit', 'appointment_cancel', 'email_log', 'email'));
