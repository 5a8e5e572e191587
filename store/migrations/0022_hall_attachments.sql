-- Files an applicant uploads with a service-hall form (a hospital's
-- certificate for sick leave, a notice for official leave): sealed at
-- rest, named by a random token (what the form's value holds), owned by
-- the uploader until an application is submitted with them, then readable
-- by whoever may read that application. Timestamps are Unix milliseconds.

-- +goose Up
CREATE TABLE hall_attachments (
    id             {{ID}},
    token          VARCHAR(32)  NOT NULL,
    owner          VARCHAR(80)  NOT NULL,   -- the uploader: a userid, or "guest:" and the E.164 number
    filename       VARCHAR(255) NOT NULL,
    content_type   VARCHAR(100) NOT NULL,
    size           INTEGER      NOT NULL,
    sha256         VARCHAR(64)  NOT NULL,
    data           {{BLOB}}     NOT NULL,   -- sealed
    application_id BIGINT       NOT NULL DEFAULT 0,
    created_at     BIGINT       NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX hall_attachments_token ON hall_attachments (token);
CREATE INDEX hall_attachments_app ON hall_attachments (application_id);

-- +goose Down
DROP TABLE hall_attachments;
