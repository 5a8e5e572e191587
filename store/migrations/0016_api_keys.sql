-- API keys of the ingest API (package apikey): one row per key a business
-- system signs its requests with (POST /api/v1/messages). The secret is
-- sealed (store/seal.go, store.APIKeySecret): a copy of the database does
-- not let anyone sign. A revoked key keeps its row (revoked_at > 0), so
-- the audit log and its messages still name it. Timestamps are Unix
-- milliseconds; 0 is unset.

-- +goose Up
CREATE TABLE api_keys (
    id           {{ID}},                           -- for wecomapp rekey; key_id is the key's name
    key_id       VARCHAR(32)   NOT NULL,           -- sent in X-Wecomapp-Key
    system_name  VARCHAR(60)   NOT NULL,           -- the producer is "api:" + this
    secret       VARCHAR(255)  NOT NULL,           -- sealed
    scope        VARCHAR(2048) NOT NULL,           -- apikey.Scope in its text form
    rate_n       INTEGER       NOT NULL,           -- requests allowed …
    rate_per     INTEGER       NOT NULL,           -- … per this many seconds
    created_at   BIGINT        NOT NULL,
    created_by   VARCHAR(64)   NOT NULL,
    revoked_at   BIGINT        NOT NULL DEFAULT 0,
    revoked_by   VARCHAR(64)   NOT NULL DEFAULT '',
    last_used_at BIGINT        NOT NULL DEFAULT 0  -- a verified request, to the minute
) {{TABLE}};
CREATE UNIQUE INDEX api_keys_key_id ON api_keys (key_id);

-- The messages a key submitted (its answers' ids, duplicates included):
-- GET /api/v1/messages/{id} answers a key only about these.
CREATE TABLE api_key_messages (
    key_id     VARCHAR(32) NOT NULL,
    message_id BIGINT      NOT NULL,
    created_at BIGINT      NOT NULL,
    PRIMARY KEY (key_id, message_id)
) {{TABLE}};

-- +goose Down
DROP TABLE api_key_messages;
DROP TABLE api_keys;
