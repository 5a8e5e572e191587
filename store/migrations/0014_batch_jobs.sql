-- Contacts batch jobs (batch/syncuser, batch/replaceparty) the sync
-- submitted: a job runs in WeCom whatever becomes of the run that
-- submitted it, so a run killed while one was running finds it here and
-- collects its result instead of submitting the rows again. finished_at
-- is 0 while the job may still be running. Timestamps are Unix
-- milliseconds.

-- +goose Up
CREATE TABLE contacts_batch_jobs (
    jobid        VARCHAR(64)  NOT NULL PRIMARY KEY,
    kind         VARCHAR(16)  NOT NULL,   -- sync_user | replace_party
    submitted_at BIGINT       NOT NULL,
    finished_at  BIGINT       NOT NULL DEFAULT 0,
    outcome      VARCHAR(16)  NOT NULL DEFAULT ''  -- finished | lost (WeCom no longer knows it)
) {{TABLE}};

-- +goose Down
DROP TABLE contacts_batch_jobs;
