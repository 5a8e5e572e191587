-- Attendance (考勤) for the personnel office: each month's punch records
-- and WeCom's monthly summaries of the active faculty, pulled from the
-- checkin APIs (docs/wecom.md §9), the state of each month's pull, and the
-- monthly workbooks kept for download. A re-pull replaces a month's rows in
-- one transaction; the unique keys make sure nothing doubles. Months are
-- "2006-01" in Beijing time; timestamps are Unix milliseconds, checkin
-- times Unix seconds as WeCom sends them.

-- +goose Up
CREATE TABLE attendance_pulls (
    id             {{ID}},
    month          VARCHAR(7)   NOT NULL,
    status         VARCHAR(16)  NOT NULL,   -- running | ok | failed (some batches failed)
    people         INTEGER      NOT NULL DEFAULT 0,
    records        INTEGER      NOT NULL DEFAULT 0,
    batches        INTEGER      NOT NULL DEFAULT 0,
    failed_batches INTEGER      NOT NULL DEFAULT 0,
    failures       {{TEXT}}     NOT NULL,   -- JSON: the failed batches, what and why
    started_at     BIGINT       NOT NULL,
    finished_at    BIGINT       NOT NULL DEFAULT 0,
    started_by     VARCHAR(64)  NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX attendance_pulls_month ON attendance_pulls (month);

-- One row per punch record (getcheckindata). raw is the record as WeCom
-- sent it, sealed: it holds locations, coordinates, Wi-Fi and device ids.
CREATE TABLE attendance_records (
    id               {{ID}},
    month            VARCHAR(7)   NOT NULL,
    userid           VARCHAR(64)  NOT NULL,
    checkin_type     VARCHAR(16)  NOT NULL,   -- 上班打卡 | 下班打卡 | 外出打卡
    checkin_time     BIGINT       NOT NULL,
    sch_checkin_time BIGINT       NOT NULL DEFAULT 0,
    exception_type   VARCHAR(128) NOT NULL DEFAULT '',
    raw              {{BLOB}}     NOT NULL    -- sealed
) {{TABLE}};
CREATE UNIQUE INDEX attendance_records_key ON attendance_records (month, userid, checkin_type, checkin_time);

-- One row per person and month: who was pulled (department and work type
-- as the data center had them then) and WeCom's monthly summary
-- (getcheckin_monthdata, the windows of the month summed), kept to
-- cross-check the figures computed from the records.
CREATE TABLE attendance_people (
    id              {{ID}},
    month           VARCHAR(7)   NOT NULL,
    userid          VARCHAR(64)  NOT NULL,
    name            VARCHAR(64)  NOT NULL,
    dept_code       VARCHAR(32)  NOT NULL,
    category        VARCHAR(32)  NOT NULL,
    has_summary     SMALLINT     NOT NULL DEFAULT 0,
    work_days       INTEGER      NOT NULL DEFAULT 0,
    late            INTEGER      NOT NULL DEFAULT 0,
    early           INTEGER      NOT NULL DEFAULT 0,
    missing         INTEGER      NOT NULL DEFAULT 0,
    absent          INTEGER      NOT NULL DEFAULT 0,
    overtime_sec    BIGINT       NOT NULL DEFAULT 0
) {{TABLE}};
CREATE UNIQUE INDEX attendance_people_key ON attendance_people (month, userid);

-- The month's workbook as the monthly job (or an admin) made it.
CREATE TABLE attendance_exports (
    id       {{ID}},
    month    VARCHAR(7)   NOT NULL,
    xlsx     {{BLOB}}     NOT NULL,
    made_at  BIGINT       NOT NULL,
    made_by  VARCHAR(64)  NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX attendance_exports_month ON attendance_exports (month);

-- +goose Down
DROP TABLE attendance_exports;
DROP TABLE attendance_people;
DROP TABLE attendance_records;
DROP TABLE attendance_pulls;
