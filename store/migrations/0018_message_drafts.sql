-- Broadcasts waiting for a second admin (the message center's console):
-- a mass message reaching more members than the approval threshold is
-- kept here, as composed, until another admin with the message
-- permission approves it (then it is submitted to the outbox and
-- message_id names it) or someone rejects it. Timestamps are Unix
-- milliseconds; 0 is unset.

-- +goose Up
CREATE TABLE message_drafts (
    id          {{ID}},
    created_by  VARCHAR(64)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    form_token  VARCHAR(64)  NOT NULL,   -- the compose form's: a double click saves one draft
    summary     VARCHAR(255) NOT NULL,   -- the title the pages list it by
    message     {{TEXT}}     NOT NULL,   -- the composed message, JSON (handler's composed)
    reach       INTEGER      NOT NULL,   -- members it reached when counted at submission
    state       VARCHAR(16)  NOT NULL,   -- pending | sent | rejected
    decided_by  VARCHAR(64)  NOT NULL DEFAULT '',
    decided_at  BIGINT       NOT NULL DEFAULT 0,
    message_id  BIGINT       NOT NULL DEFAULT 0   -- the outbox message once sent
) {{TABLE}};
CREATE INDEX message_drafts_state ON message_drafts (state, id);
CREATE UNIQUE INDEX message_drafts_form ON message_drafts (created_by, form_token);

-- The console lists its own messages (producer 'console') newest first
-- among every producer's.
CREATE INDEX outbox_messages_producer ON outbox_messages (producer, id);

-- +goose Down
-- outbox_messages_producer stays: the engines spell DROP INDEX differently
-- and `migrate` offers no down; an extra index changes no result.
DROP TABLE message_drafts;
