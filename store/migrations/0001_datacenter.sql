-- The data center's nightly distribution lands in three intermediate tables,
-- named after the university's standard codes (Guilin Medical College's
-- JZG_T_BM, JZG_T_USER, XS_JBXX). Org sync reads them as the desired state.
-- Timestamps are Unix milliseconds.

-- +goose Up
CREATE TABLE dc_departments (
    code        VARCHAR(32)  NOT NULL PRIMARY KEY,   -- 部门代码 (BMDM)
    name        VARCHAR(64)  NOT NULL,               -- 部门名称
    parent_code VARCHAR(32)  NOT NULL DEFAULT '',    -- '' for level-1 units
    kind        VARCHAR(16)  NOT NULL,               -- college, office, institute, class, virtual
    sort_order  INT          NOT NULL DEFAULT 0,
    enabled     SMALLINT     NOT NULL DEFAULT 1,
    updated_at  BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX dc_departments_parent ON dc_departments (parent_code);

CREATE TABLE dc_faculty (
    staff_no    VARCHAR(32)  NOT NULL PRIMARY KEY,   -- 工号 (ZGH), the WeCom userid
    name        VARCHAR(64)  NOT NULL,
    dept_code   VARCHAR(32)  NOT NULL,
    gender      SMALLINT     NOT NULL DEFAULT 0,     -- 0 unknown, 1 male, 2 female (WeCom's coding)
    mobile      VARCHAR(32)  NOT NULL DEFAULT '',
    email       VARCHAR(128) NOT NULL DEFAULT '',
    position    VARCHAR(64)  NOT NULL DEFAULT '',    -- 职务
    category    VARCHAR(32)  NOT NULL,               -- leader, staff, non_staffed, retired, ...
    is_leader   SMALLINT     NOT NULL DEFAULT 0,     -- head of dept_code
    status      VARCHAR(16)  NOT NULL DEFAULT 'active', -- active, left, retired
    updated_at  BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX dc_faculty_dept ON dc_faculty (dept_code);

CREATE TABLE dc_students (
    student_no   VARCHAR(32)  NOT NULL PRIMARY KEY,  -- 学号 (XH), the WeCom userid
    name         VARCHAR(64)  NOT NULL,
    college_code VARCHAR(32)  NOT NULL,
    class_code   VARCHAR(32)  NOT NULL DEFAULT '',
    major        VARCHAR(64)  NOT NULL DEFAULT '',
    grade        INT          NOT NULL,              -- year of entry
    level        VARCHAR(16)  NOT NULL,              -- undergraduate, master, doctoral
    gender       SMALLINT     NOT NULL DEFAULT 0,
    mobile       VARCHAR(32)  NOT NULL DEFAULT '',
    email        VARCHAR(128) NOT NULL DEFAULT '',
    counselor_no VARCHAR(32)  NOT NULL DEFAULT '',   -- 辅导员 staff_no
    status       VARCHAR(16)  NOT NULL DEFAULT 'enrolled', -- enrolled, graduated, suspended, withdrawn
    updated_at   BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX dc_students_college ON dc_students (college_code);
CREATE INDEX dc_students_class ON dc_students (class_code);

-- +goose Down
DROP TABLE dc_students;
DROP TABLE dc_faculty;
DROP TABLE dc_departments;
