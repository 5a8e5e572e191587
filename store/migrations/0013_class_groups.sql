-- Class group chats (package classgroup): one app group chat per class of
-- the data center (appchat, docs/wecom.md §13), owned by the class's
-- counselor and holding its students. A row is our record of a chat as we
-- last wrote it, updated after each successful call. WeCom has no list of
-- an app's chats and no delete, so the chatids live only here; a class the
-- data center abolishes keeps its row (and its chat). Timestamps are Unix
-- milliseconds.

-- +goose Up
CREATE TABLE class_groups (
    chatid      VARCHAR(32)  NOT NULL PRIMARY KEY,  -- 0-9a-zA-Z, chosen by us from the class code
    class_code  VARCHAR(32)  NOT NULL,              -- dc_departments.code of the class
    agent_id    BIGINT       NOT NULL,              -- the app that created it: the only one that may use it
    name        VARCHAR(64)  NOT NULL,              -- as sent (WeCom keeps 50 characters)
    owner       VARCHAR(64)  NOT NULL,              -- the counselor's userid
    members     {{TEXT}}     NOT NULL,              -- userids as sent, owner included, sorted, comma-separated
    created_at  BIGINT       NOT NULL,
    written_at  BIGINT       NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX class_groups_class ON class_groups (class_code);

-- +goose Down
DROP TABLE class_groups;
