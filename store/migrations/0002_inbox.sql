-- The callback inbox: every callback WeCom delivers is committed here before
-- we answer it, then a dispatcher hands it to its owner (docs/wecom.md §2:
-- answer within 5 s, WeCom re-sends what it got no answer for). One row per
-- distinct callback and receiver; re-deliveries collapse on the unique index.
-- Timestamps are Unix milliseconds; 0 means "not set".

-- +goose Up
CREATE TABLE inbox (
    id              {{ID}},
    receiver        VARCHAR(64)   NOT NULL,              -- app name, or "contacts"
    dedup_key       VARCHAR(80)   NOT NULL,              -- wecom.Event.DedupKey: ASCII, <= 68 bytes
    kind            VARCHAR(96)   NOT NULL,              -- wecom.Event.Kind, e.g. event.change_contact.update_user (ops copy; dispatch re-reads the payload)
    from_user       VARCHAR(128)  NOT NULL DEFAULT '',   -- FromUserName: member userid, "sys" for system events
    agent_id        BIGINT        NOT NULL DEFAULT 0,
    create_time     BIGINT        NOT NULL DEFAULT 0,    -- WeCom's CreateTime, Unix seconds as sent
    msg_id          VARCHAR(64)   NOT NULL DEFAULT '',   -- MsgId of messages
    event_key       VARCHAR(255)  NOT NULL DEFAULT '',   -- EventKey (or TaskId/ChangeType context), truncated: ops only
    payload         {{BLOB}}      NOT NULL,              -- the decrypted callback XML exactly as received, sealed (store/seal.go)
    state           VARCHAR(16)   NOT NULL DEFAULT 'pending', -- pending, processing, done, skipped, dead
    attempts        INT           NOT NULL DEFAULT 0,    -- claims so far; a claim counts as an attempt
    lease_owner     VARCHAR(128)  NOT NULL DEFAULT '',   -- dispatcher holding the row while processing
    lease_until     BIGINT        NOT NULL DEFAULT 0,
    -- When the row next needs a dispatcher: for pending rows when they are
    -- due, for processing rows when their lease expires (kept equal to
    -- lease_until), so one index serves both kinds of claim.
    next_attempt_at BIGINT        NOT NULL,
    last_error      VARCHAR(1024) NOT NULL DEFAULT '',   -- bounded by the store
    received_at     BIGINT        NOT NULL,
    done_at         BIGINT        NOT NULL DEFAULT 0     -- when it left the queue (done, skipped or dead)
) {{TABLE}};
-- (64 + 80) utf8mb4 characters = 576 bytes, inside every InnoDB key limit.
CREATE UNIQUE INDEX inbox_dedup ON inbox (receiver, dedup_key);
-- Claims scan (state, next_attempt_at) in order; InnoDB appends the id.
CREATE INDEX inbox_due ON inbox (state, next_attempt_at);
-- Purging finished rows by age.
CREATE INDEX inbox_finished ON inbox (state, done_at);

-- +goose Down
DROP TABLE inbox;
