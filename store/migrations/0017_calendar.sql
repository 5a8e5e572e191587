-- The university's own calendar periods, laid over China's statutory
-- holidays and make-up workdays (package calendar): vacations (寒假, 暑假,
-- 校运会停课) on which reminders do not go out, and extra workdays (a
-- Saturday of classes) on which they do. Dates are the university's
-- calendar dates (Asia/Shanghai) as YYYY-MM-DD, both ends inclusive, which
-- compare as text the same way on both engines. audience says whom a
-- period is for: a winter vacation of the students is no vacation of the
-- staff on duty. created_at is Unix milliseconds.

-- +goose Up
CREATE TABLE calendar_periods (
    id         {{ID}},
    name       VARCHAR(64) NOT NULL,              -- 寒假, 暑假, 校运会停课…
    kind       VARCHAR(16) NOT NULL,              -- vacation | workday
    start_date CHAR(10)    NOT NULL,              -- YYYY-MM-DD, inclusive
    end_date   CHAR(10)    NOT NULL,              -- YYYY-MM-DD, inclusive
    audience   VARCHAR(16) NOT NULL DEFAULT 'all', -- all | students | faculty
    created_by VARCHAR(64) NOT NULL DEFAULT '',   -- a userid, or cli:<user>
    created_at BIGINT      NOT NULL
) {{TABLE}};

-- +goose Down
DROP TABLE calendar_periods;
