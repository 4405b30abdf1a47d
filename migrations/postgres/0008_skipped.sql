-- A job deliberately not sent (a reminder after the tour began, mails dropped by a move) is
-- 'skipped', with its reason in knock_result, instead of passing for 'delivered'.
ALTER TABLE outbox_jobs DROP CONSTRAINT outbox_jobs_state_check;
ALTER TABLE outbox_jobs ADD CONSTRAINT outbox_jobs_state_check
    CHECK (state IN ('pending', 'delivering', 'delivered', 'skipped', 'dead'));
UPDATE outbox_jobs SET state = 'skipped' WHERE state = 'delivered' AND knock_result LIKE 'not sent:%';
