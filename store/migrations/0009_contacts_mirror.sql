-- The contacts mirror: our record of what we wrote to WeCom through the
-- contacts-sync secret. Under today's rules that secret reads back only ids
-- (docs/wecom.md §5.1) and change_contact carries only ids (§3), so the
-- sync diffs the desired state against these tables, not against WeCom.
-- A row is written after each successful API call; written_at is when.
-- Touches (contacts_touched) are ids someone else changed in WeCom (the
-- console, a member, another app), to be looked at again. Timestamps are
-- Unix milliseconds.

-- +goose Up
CREATE TABLE contacts_departments (
    id          BIGINT       NOT NULL PRIMARY KEY,   -- WeCom department id (we choose it; 1 is the root)
    dc_code     VARCHAR(32)  NOT NULL DEFAULT '',    -- dc_departments.code it was made from; '' for none
    name        VARCHAR(64)  NOT NULL,
    parent_id   BIGINT       NOT NULL,
    sort_order  BIGINT       NOT NULL DEFAULT 0,     -- WeCom's order: unsigned 32-bit, larger first
    leaders     {{TEXT}}     NOT NULL,               -- department_leader userids, comma-separated
    written_at  BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX contacts_departments_parent ON contacts_departments (parent_id);
CREATE INDEX contacts_departments_dc ON contacts_departments (dc_code);

-- One row per member. The integer id exists for wecomapp rekey, which
-- walks sealed columns in integer-key order; userid is the member's key.
CREATE TABLE contacts_members (
    id              {{ID}},
    userid          VARCHAR(64)  NOT NULL,
    name            VARCHAR(64)  NOT NULL,
    -- The memberships as sent: department ids, and aligned with them the
    -- order in each and whether a leader there ("3,4" / "100,0" / "1,0").
    departments     VARCHAR(2048) NOT NULL DEFAULT '',
    dept_orders     VARCHAR(2048) NOT NULL DEFAULT '',
    dept_leaders    VARCHAR(512)  NOT NULL DEFAULT '',
    main_department BIGINT       NOT NULL DEFAULT 0,
    position        VARCHAR(128) NOT NULL DEFAULT '',
    gender          SMALLINT     NOT NULL DEFAULT 0,    -- 0 unknown, 1 male, 2 female
    enabled         SMALLINT     NOT NULL DEFAULT 1,    -- enable as sent: 1 enabled, 0 disabled
    status          SMALLINT     NOT NULL DEFAULT 0,    -- WeCom's status when known (1, 2, 4, 5); 0 unknown
    -- Sealed (store/seal.go): mobile and email never sit here in plaintext;
    -- the hash columns hold Sealer.Hash for lookups (self-registration
    -- matches a phone number), '' when the value is empty.
    mobile          VARCHAR(255) NOT NULL DEFAULT '',
    mobile_hash     VARCHAR(64)  NOT NULL DEFAULT '',
    email           VARCHAR(255) NOT NULL DEFAULT '',
    email_hash      VARCHAR(64)  NOT NULL DEFAULT '',
    written_at      BIGINT       NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX contacts_members_userid ON contacts_members (userid);
CREATE INDEX contacts_members_mobile ON contacts_members (mobile_hash);
CREATE INDEX contacts_members_email ON contacts_members (email_hash);

CREATE TABLE contacts_tags (
    id         BIGINT      NOT NULL PRIMARY KEY,    -- WeCom tagid
    name       VARCHAR(64) NOT NULL,
    written_at BIGINT      NOT NULL
) {{TABLE}};

-- A tag's members as added: a member (userid, party_id 0) or a department
-- (userid '', party_id).
CREATE TABLE contacts_tag_members (
    tag_id     BIGINT      NOT NULL,
    userid     VARCHAR(64) NOT NULL DEFAULT '',
    party_id   BIGINT      NOT NULL DEFAULT 0,
    written_at BIGINT      NOT NULL,
    PRIMARY KEY (tag_id, userid, party_id)
) {{TABLE}};

-- Objects someone else changed in WeCom, from change_contact: one row per
-- object, the latest event winning, until the sync has looked at it again
-- and clears it. The object may be one we never wrote (created in the
-- console), so this is its own table rather than columns of the mirror.
CREATE TABLE contacts_touched (
    kind       VARCHAR(16) NOT NULL,              -- department, member, tag
    object_id  VARCHAR(64) NOT NULL,              -- department or tag id in decimal, or userid
    event      VARCHAR(32) NOT NULL,              -- the ChangeType of the latest event: update_user, ...
    deleted    SMALLINT    NOT NULL DEFAULT 0,    -- 1: the latest event says it is gone from WeCom
    new_id     VARCHAR(64) NOT NULL DEFAULT '',   -- update_user that changed the userid: the new one
    touched_at BIGINT      NOT NULL,              -- the latest event's CreateTime
    first_at   BIGINT      NOT NULL,              -- the earliest event since the last clear
    PRIMARY KEY (kind, object_id)
) {{TABLE}};
CREATE INDEX contacts_touched_at ON contacts_touched (touched_at);

-- +goose Down
DROP TABLE contacts_touched;
DROP TABLE contacts_tag_members;
DROP TABLE contacts_tags;
DROP TABLE contacts_members;
DROP TABLE contacts_departments;
