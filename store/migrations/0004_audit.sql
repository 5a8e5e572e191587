-- The audit log: every admin action, who did it, what it touched, the
-- object before and after (JSON), when and from where. Rows are only ever
-- inserted; the console reads them newest first.

-- +goose Up
CREATE TABLE audit_log (
    id         {{ID}},
    at         BIGINT        NOT NULL,               -- Unix milliseconds
    actor      VARCHAR(64)   NOT NULL,               -- userid of the admin
    action     VARCHAR(64)   NOT NULL,               -- e.g. workbench.tile.update
    object     VARCHAR(255)  NOT NULL DEFAULT '',    -- e.g. workbench/undergraduate/tile/12
    before_json TEXT         NOT NULL,
    after_json  TEXT         NOT NULL,
    ip         VARCHAR(64)   NOT NULL DEFAULT '',
    user_agent VARCHAR(255)  NOT NULL DEFAULT ''
) {{TABLE}};
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, at);

-- +goose Down
DROP TABLE audit_log;
