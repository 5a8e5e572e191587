-- Reminder rules: recurring notices (punch-card, commuting, health
-- report, custom) on cron schedules to tags, departments or roles,
-- skipping the days the calendar says are not working days for their
-- audience. Each firing is submitted to the message center with the
-- rule and the minute as its idempotency key, so it is sent once however
-- many instances see it due. Timestamps are Unix milliseconds.

-- +goose Up
CREATE TABLE reminder_rules (
    id          {{ID}},
    name        VARCHAR(64)  NOT NULL,
    schedule    VARCHAR(64)  NOT NULL,   -- cron: minute hour day month weekday (Beijing time)
    audience    VARCHAR(16)  NOT NULL DEFAULT 'all',  -- all | students | faculty: whose working days
    workdays    SMALLINT     NOT NULL DEFAULT 1,      -- only on working days
    recipients  {{TEXT}}     NOT NULL,   -- notify.Recipients, JSON
    msgtype     VARCHAR(16)  NOT NULL,
    body        {{TEXT}}     NOT NULL,
    enabled     SMALLINT     NOT NULL DEFAULT 1,
    last_fired  BIGINT       NOT NULL DEFAULT 0,
    created_by  VARCHAR(64)  NOT NULL,
    updated_at  BIGINT       NOT NULL
) {{TABLE}};

-- +goose Down
DROP TABLE reminder_rules;
