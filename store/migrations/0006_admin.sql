-- Admin grants: who may use the admin console, in which role. A person may
-- hold several roles (one row each). A department admin's reach is the
-- departments listed in depts (comma-separated dc_departments codes, with
-- their sub-departments); the other roles ignore depts. Every change is
-- written to audit_log in the same transaction (auth.Admins).

-- +goose Up
CREATE TABLE admin_grants (
    userid     VARCHAR(64)   NOT NULL,               -- the WeCom userid of the admin
    role       VARCHAR(32)   NOT NULL,               -- super, dept_admin, sender, auditor
    depts      VARCHAR(1024) NOT NULL DEFAULT '',    -- dept_admin: "0301,0302"
    granted_by VARCHAR(64)   NOT NULL,               -- userid of the granting admin, or "system"
    granted_at BIGINT        NOT NULL,               -- Unix milliseconds
    PRIMARY KEY (userid, role)
) {{TABLE}};
CREATE INDEX admin_grants_role ON admin_grants (role);

-- +goose Down
DROP TABLE admin_grants;
