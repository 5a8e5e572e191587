-- Identities and role workbenches: people outside the data center and the
-- tags we put people in (what roles are computed from, beside dc_*), the
-- catalog of modules, roles and their workbenches (sections of tiles), each
-- member's remembered identity, favourites and recently used modules, and
-- the campus overview's editable content. Keys are named *_key because KEY
-- is reserved in MySQL. Timestamps are Unix milliseconds.

-- +goose Up
CREATE TABLE people_ext (
    userid     VARCHAR(64)  NOT NULL PRIMARY KEY,
    name       VARCHAR(64)  NOT NULL,
    kind       VARCHAR(16)  NOT NULL,               -- alumnus, examinee, visitor
    org        VARCHAR(128) NOT NULL DEFAULT '',    -- "2015届 计算机学院", "2027 本科报考", "来访单位"
    created_at BIGINT       NOT NULL
) {{TABLE}};

CREATE TABLE person_tags (
    userid VARCHAR(64) NOT NULL,
    tag    VARCHAR(64) NOT NULL,                    -- tag name
    PRIMARY KEY (userid, tag)
) {{TABLE}};
CREATE INDEX person_tags_tag ON person_tags (tag);

-- Counselees are counted per person on every workbench page.
CREATE INDEX dc_students_counselor ON dc_students (counselor_no);

CREATE TABLE wb_modules (
    module_key VARCHAR(64)   NOT NULL PRIMARY KEY,
    name       VARCHAR(64)   NOT NULL,
    category   VARCHAR(32)   NOT NULL,
    kind       VARCHAR(16)   NOT NULL,              -- builtin, external, process
    target     VARCHAR(512)  NOT NULL DEFAULT '',   -- external: URL; process: process key
    icon       VARCHAR(32)   NOT NULL DEFAULT '',
    badge      VARCHAR(32)   NOT NULL DEFAULT '',   -- badge source name
    status     VARCHAR(16)   NOT NULL DEFAULT 'live', -- live, soon
    summary    VARCHAR(512)  NOT NULL DEFAULT '',
    keywords   VARCHAR(1024) NOT NULL DEFAULT '[]', -- JSON array of strings
    sort_order INT           NOT NULL DEFAULT 0,
    updated_at BIGINT        NOT NULL
) {{TABLE}};

CREATE TABLE wb_workbenches (
    wb_key     VARCHAR(64) NOT NULL PRIMARY KEY,
    name       VARCHAR(64) NOT NULL,
    updated_at BIGINT      NOT NULL
) {{TABLE}};

CREATE TABLE wb_roles (
    role_key   VARCHAR(64)   NOT NULL PRIMARY KEY,
    name       VARCHAR(64)   NOT NULL,
    identity   VARCHAR(16)   NOT NULL,              -- record kind: faculty, student, alumnus, examinee, visitor
    priority   INT           NOT NULL DEFAULT 0,
    rule       VARCHAR(2048) NOT NULL,              -- expr-lang boolean expression over workbench.Env
    workbench  VARCHAR(64)   NOT NULL,
    enabled    SMALLINT      NOT NULL DEFAULT 1,
    updated_at BIGINT        NOT NULL
) {{TABLE}};

CREATE TABLE wb_sections (
    id         {{ID}},
    workbench  VARCHAR(64) NOT NULL,
    title      VARCHAR(64) NOT NULL,
    sort_order INT         NOT NULL DEFAULT 0
) {{TABLE}};
CREATE INDEX wb_sections_workbench ON wb_sections (workbench, sort_order);

CREATE TABLE wb_tiles (
    id         {{ID}},
    section_id BIGINT        NOT NULL,
    workbench  VARCHAR(64)   NOT NULL,              -- the section's, so a workbench's tiles are one scan
    module     VARCHAR(64)   NOT NULL,
    visible    VARCHAR(2048) NOT NULL DEFAULT '',   -- expr rule; '' = everyone holding the role
    sort_order INT           NOT NULL DEFAULT 0
) {{TABLE}};
CREATE INDEX wb_tiles_workbench ON wb_tiles (workbench, section_id, sort_order);
CREATE INDEX wb_tiles_section ON wb_tiles (section_id);

CREATE TABLE person_prefs (
    userid          VARCHAR(64) NOT NULL PRIMARY KEY,
    identity        VARCHAR(64) NOT NULL DEFAULT '', -- role key the person acts as
    notices_read_at BIGINT      NOT NULL DEFAULT 0,
    updated_at      BIGINT      NOT NULL
) {{TABLE}};

CREATE TABLE person_favourites (
    userid     VARCHAR(64) NOT NULL,
    module     VARCHAR(64) NOT NULL,
    created_at BIGINT      NOT NULL,
    PRIMARY KEY (userid, module)
) {{TABLE}};

CREATE TABLE person_recent (
    userid  VARCHAR(64) NOT NULL,
    module  VARCHAR(64) NOT NULL,
    used_at BIGINT      NOT NULL,
    PRIMARY KEY (userid, module)
) {{TABLE}};

CREATE TABLE campus_content (
    content_key  VARCHAR(64)  NOT NULL PRIMARY KEY,
    kind         VARCHAR(16)  NOT NULL,             -- section, notice, news
    title        VARCHAR(128) NOT NULL,
    body         {{TEXT}}     NOT NULL,
    sort_order   INT          NOT NULL DEFAULT 0,
    published_at BIGINT       NOT NULL DEFAULT 0,   -- notices and news
    updated_at   BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX campus_content_kind ON campus_content (kind, published_at);

-- +goose Down
DROP TABLE campus_content;
DROP TABLE person_recent;
DROP TABLE person_favourites;
DROP TABLE person_prefs;
DROP TABLE wb_tiles;
DROP TABLE wb_sections;
DROP TABLE wb_roles;
DROP TABLE wb_workbenches;
DROP TABLE wb_modules;
-- dc_students_counselor stays: the engines spell DROP INDEX differently and
-- `migrate` offers no down; an extra index changes no result.
DROP TABLE person_tags;
DROP TABLE people_ext;
