-- Lock writes ride the outbox ('access_issue': a code on an outside lock for the booking's
-- window; 'access_revoke': its removal), and so do alerts mailed to a community's staff contact
-- ('staff_alert': a code that could not be set or removed).
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_kind_check;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_kind_check
    CHECK (kind IN ('visit', 'appointment_cancel', 'email_log', 'email', 'access_issue',
        'access_revoke', 'staff_alert'));
