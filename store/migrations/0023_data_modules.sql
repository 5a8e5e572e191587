-- The data modules' definitions (package datamod): one row a workbench
-- module (module_key = wb_modules.key), the declarative query over the
-- shared database as JSON (datamod.Definition). Seeded from
-- datamod/shipped/*.yaml when absent; from then on the console edits
-- them (every edit audited by the console). Timestamps are Unix
-- milliseconds.

-- +goose Up
CREATE TABLE dm_definitions (
    module_key  VARCHAR(64)  NOT NULL PRIMARY KEY,
    definition  {{TEXT}}     NOT NULL,   -- datamod.Definition, JSON
    updated_by  VARCHAR(64)  NOT NULL,   -- a userid, or "system" for the shipped ones
    updated_at  BIGINT       NOT NULL
) {{TABLE}};

-- +goose Down
DROP TABLE dm_definitions;
