-- The message center's outbox: every notice, card and broadcast any
-- producer submits, committed before the producer hears back, expanded
-- to one row per recipient when dispatched, each with its outcome.
-- Dispatchers on any instance claim work with leases (lease_owner,
-- lease_until). Timestamps are Unix milliseconds; 0 is unset.

-- +goose Up
CREATE TABLE outbox_messages (
    id          {{ID}},
    producer    VARCHAR(64)  NOT NULL,
    lane        SMALLINT     NOT NULL,
    msgtype     VARCHAR(16)  NOT NULL,
    body        {{TEXT}}     NOT NULL,   -- the msgtype's object, JSON
    safe        SMALLINT     NOT NULL DEFAULT 0,
    sms_text    {{TEXT}}     NOT NULL,
    recipients  {{TEXT}}     NOT NULL,   -- notify.Recipients, JSON (mobiles sealed in outbox_recipients only)
    named       INTEGER      NOT NULL,   -- how many recipients the message names
    actor       VARCHAR(64)  NOT NULL DEFAULT '',
    state       VARCHAR(16)  NOT NULL,   -- queued | sending | done | recalled | expired
    send_at     BIGINT       NOT NULL,
    expire_at   BIGINT       NOT NULL DEFAULT 0,
    created_at  BIGINT       NOT NULL,
    expanded_at BIGINT       NOT NULL DEFAULT 0,
    done_at     BIGINT       NOT NULL DEFAULT 0,
    lease_owner VARCHAR(64)  NOT NULL DEFAULT '',
    lease_until BIGINT       NOT NULL DEFAULT 0,
    last_error  {{TEXT}}     NOT NULL
) {{TABLE}};
CREATE INDEX outbox_messages_due ON outbox_messages (state, send_at);

-- A producer's idempotency key names one message.
CREATE TABLE outbox_idempotency (
    producer   VARCHAR(64)  NOT NULL,
    idem_key   VARCHAR(128) NOT NULL,
    message_id BIGINT       NOT NULL,
    PRIMARY KEY (producer, idem_key)
) {{TABLE}};

-- One row per recipient of a message.
CREATE TABLE outbox_recipients (
    id          {{ID}},
    message_id  BIGINT       NOT NULL,
    lane        SMALLINT     NOT NULL,
    userid      VARCHAR(64)  NOT NULL DEFAULT '',
    mobile      {{BLOB}},                -- sealed; SMS recipients only
    channel     VARCHAR(16)  NOT NULL,   -- wecom | wecom_textcard | sms
    outcome     VARCHAR(16)  NOT NULL,   -- notify.Outcome*
    errcode     INTEGER      NOT NULL DEFAULT 0,
    attempts    INTEGER      NOT NULL DEFAULT 0,
    next_at     BIGINT       NOT NULL,
    sent_at     BIGINT       NOT NULL DEFAULT 0,
    wecom_msgid VARCHAR(64)  NOT NULL DEFAULT '',
    -- A send in flight: the rows of one message/send call share a chunk
    -- (outcome 'sending'); a dispatcher that dies mid-call leaves them so,
    -- and whoever takes them over after the lease sends the very same
    -- request again, which WeCom's duplicate check does not deliver twice.
    chunk       VARCHAR(32)  NOT NULL DEFAULT '',
    read_at     BIGINT       NOT NULL DEFAULT 0,   -- opened in the H5 message center
    lease_owner VARCHAR(64)  NOT NULL DEFAULT '',
    lease_until BIGINT       NOT NULL DEFAULT 0
) {{TABLE}};
CREATE INDEX outbox_recipients_chunk ON outbox_recipients (chunk);
CREATE INDEX outbox_recipients_due ON outbox_recipients (outcome, lane, next_at);
CREATE INDEX outbox_recipients_msg ON outbox_recipients (message_id, outcome);
CREATE INDEX outbox_recipients_user ON outbox_recipients (userid, message_id);

-- +goose Down
DROP TABLE outbox_recipients;
DROP TABLE outbox_idempotency;
DROP TABLE outbox_messages;
