-- The members' native WeCom workbench tiles (docs/wecom.md §7): which
-- members need their key figures pushed again (touched since the last
-- push), what was last pushed (a hash, to skip pushes that change
-- nothing), and how pushing went. A touch is durable, so a restart loses
-- no pending push. Timestamps are Unix milliseconds; 0 means "not set".

-- +goose Up
CREATE TABLE native_tiles (
    userid          VARCHAR(64)   NOT NULL PRIMARY KEY,
    -- 0 current, 1 waiting for a push, 2 claimed by the push round in
    -- progress (a touch during the round sets 1 again, so it is pushed
    -- once more: the last figures are never lost).
    dirty           SMALLINT      NOT NULL DEFAULT 0,
    touched_at      BIGINT        NOT NULL,
    pushed_at       BIGINT        NOT NULL DEFAULT 0,
    payload_hash    VARCHAR(64)   NOT NULL DEFAULT '',   -- hex SHA-256 of the last payload WeCom accepted
    attempts        INT           NOT NULL DEFAULT 0,    -- failed pushes since the last success
    next_attempt_at BIGINT        NOT NULL DEFAULT 0,    -- not pushed before (backoff, per-member limit)
    last_error      VARCHAR(1024) NOT NULL DEFAULT '',
    -- 1: WeCom refused the member for good (outside the app's visible
    -- range, unknown userid): not retried until touched again.
    refused         SMALLINT      NOT NULL DEFAULT 0
) {{TABLE}};
-- Claims scan the dirty rows that are due.
CREATE INDEX native_tiles_due ON native_tiles (dirty, next_attempt_at);

-- One row per push of a member's tile in the last minute or so, for the
-- per-member limit (10 a minute per member and app); older rows are pruned.
CREATE TABLE native_tile_pushes (
    id        {{ID}},
    userid    VARCHAR(64) NOT NULL,
    pushed_at BIGINT      NOT NULL
) {{TABLE}};
CREATE INDEX native_tile_pushes_user ON native_tile_pushes (userid, pushed_at);
CREATE INDEX native_tile_pushes_at ON native_tile_pushes (pushed_at);

-- +goose Down
DROP TABLE native_tile_pushes;
DROP TABLE native_tiles;
