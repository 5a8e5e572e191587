-- Contacts sync runs (wecomapp sync): one row per run that got as far as
-- a plan, for the run history. A run is inserted as running once it holds
-- the sync's lock and finished with its status: converged (the whole plan
-- applied), failed (some ops failed; the failures are listed), guard (the
-- guard stopped it; nothing applied) or interrupted (stopped before the
-- end; a row left running was killed and is marked interrupted by the next
-- run). counts and failures are JSON; summary is the plan's summary.
-- Timestamps are Unix milliseconds; finished_at is 0 while running.

-- +goose Up
CREATE TABLE sync_runs (
    id          {{ID}},
    started_at  BIGINT       NOT NULL,
    finished_at BIGINT       NOT NULL DEFAULT 0,
    status      VARCHAR(16)  NOT NULL,
    summary     {{TEXT}}     NOT NULL,
    counts      {{TEXT}}     NOT NULL,
    failures    {{TEXT}}     NOT NULL
) {{TABLE}};
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- +goose Down
DROP TABLE sync_runs;
