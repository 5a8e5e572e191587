-- Tag rules: each makes one WeCom tag of the members whose data-center
-- record matches an expr-lang boolean rule (contacts.Env). Rules are data,
-- edited in the console; the contacts package validates a rule before it
-- is saved. A disabled rule freezes its tag (the sync leaves it alone);
-- deleting the rule deletes the tag. updated_at is Unix milliseconds.

-- +goose Up
CREATE TABLE tag_rules (
    name       VARCHAR(64) NOT NULL PRIMARY KEY,   -- the tag's name in WeCom (at most 32 characters)
    rule       {{TEXT}}    NOT NULL,
    kind       VARCHAR(16) NOT NULL DEFAULT 'user', -- user: the tag lists the members the rule matches
    enabled    SMALLINT    NOT NULL DEFAULT 1,
    updated_at BIGINT      NOT NULL
) {{TABLE}};

-- +goose Down
DROP TABLE tag_rules;
