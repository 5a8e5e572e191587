-- Contacts sync operations: what started each run (the schedule, the
-- command line, the console, a self-registration, the platform's start)
-- and who, the full plan it applied (gzip'd JSON lines, mobile and email
-- masked: the run history shows it), and the enrolments of people who
-- registered themselves (sync.members = registered makes only them
-- members; in every mode an enrolment is when and how someone joined).
-- Timestamps are Unix milliseconds.

-- +goose Up
ALTER TABLE sync_runs ADD COLUMN trigger_by VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN actor VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE sync_runs ADD COLUMN plan_gz {{BLOB}};

CREATE TABLE contacts_enrolments (
    userid      VARCHAR(64)  NOT NULL PRIMARY KEY,
    via         VARCHAR(16)  NOT NULL,              -- selfreg | console
    actor       VARCHAR(64)  NOT NULL,
    enrolled_at BIGINT       NOT NULL
) {{TABLE}};

-- +goose Down
DROP TABLE contacts_enrolments;
ALTER TABLE sync_runs DROP COLUMN plan_gz;
ALTER TABLE sync_runs DROP COLUMN actor;
ALTER TABLE sync_runs DROP COLUMN trigger_by;
