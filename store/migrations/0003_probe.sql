-- The readiness write probe: /readyz commits a heartbeat here to prove the
-- database can take a write now (a reachable server that is locked, read-only
-- or out of space passes a ping). One row for every instance, so it never
-- grows; which instance probed last is for operators only.

-- +goose Up
CREATE TABLE store_probe (
    id        INT           NOT NULL PRIMARY KEY,   -- always 1
    prober    VARCHAR(128)  NOT NULL DEFAULT '',    -- the instance that probed last
    probed_at BIGINT        NOT NULL                -- Unix milliseconds
) {{TABLE}};

-- +goose Down
DROP TABLE store_probe;
