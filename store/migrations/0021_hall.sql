-- The online service hall: published process definitions (every version
-- kept, so an application runs under the version it was submitted
-- with), applications, the approvers' tasks, the template card each open
-- task put on a phone, and the trail an application's page shows. The
-- form's values hold ID numbers and phones, so the whole column is
-- sealed; an off-campus applicant's mobile is sealed with a lookup hash.
-- Every state change is conditional on the state it leaves (WHERE state
-- = 'open'), so a double tap or a callback delivered again changes
-- nothing twice. Timestamps are Unix milliseconds; 0 is unset.

-- +goose Up
CREATE TABLE hall_processes (
    id           {{ID}},
    process_key  VARCHAR(32)  NOT NULL,
    version      INTEGER      NOT NULL,
    owner        VARCHAR(32)  NOT NULL,   -- data-center code of the department running it
    name         VARCHAR(64)  NOT NULL,
    definition   {{TEXT}}     NOT NULL,   -- def.Process, JSON
    published_by VARCHAR(64)  NOT NULL,
    published_at BIGINT       NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX hall_processes_version ON hall_processes (process_key, version);

CREATE TABLE hall_applications (
    id                    {{ID}},
    process_key           VARCHAR(32)  NOT NULL,
    version               INTEGER      NOT NULL,
    applicant_userid      VARCHAR(64)  NOT NULL DEFAULT '',  -- '' for an off-campus applicant
    applicant_mobile      {{BLOB}},                          -- sealed; off-campus applicants
    applicant_mobile_hash VARCHAR(64)  NOT NULL DEFAULT '',
    applicant_name        VARCHAR(64)  NOT NULL,
    applicant_kind        VARCHAR(16)  NOT NULL,             -- student | faculty | offcampus
    applicant             {{TEXT}}     NOT NULL,             -- def.Applicant without the mobile, JSON
    form_values           {{BLOB}}     NOT NULL,             -- def.Values, JSON, sealed
    state                 VARCHAR(16)  NOT NULL,             -- submitted | approved | rejected | returned | withdrawn | confirmed
    step_id               VARCHAR(32)  NOT NULL DEFAULT '',  -- the current step
    round                 INTEGER      NOT NULL DEFAULT 1,   -- 1, then +1 per resubmission
    created_at            BIGINT       NOT NULL,
    updated_at            BIGINT       NOT NULL,
    decided_at            BIGINT       NOT NULL DEFAULT 0,
    confirmed_at          BIGINT       NOT NULL DEFAULT 0,
    urged_at              BIGINT       NOT NULL DEFAULT 0
) {{TABLE}};
CREATE INDEX hall_applications_userid ON hall_applications (applicant_userid);
CREATE INDEX hall_applications_mobile ON hall_applications (applicant_mobile_hash);
CREATE INDEX hall_applications_process ON hall_applications (process_key, state);

-- One approver's task. A sequential step's later approvers wait
-- ('waiting') until the one before them approves.
CREATE TABLE hall_tasks (
    id             {{ID}},
    application_id BIGINT       NOT NULL,
    round          INTEGER      NOT NULL,
    step_id        VARCHAR(32)  NOT NULL,
    seq            INTEGER      NOT NULL DEFAULT 0,
    assignee       VARCHAR(64)  NOT NULL,
    origin         VARCHAR(16)  NOT NULL,   -- resolved | transfer | added | reassign | reresolve: only resolved ones follow org changes
    state          VARCHAR(16)  NOT NULL,   -- waiting | open | approved | rejected | returned | transferred | cancelled | superseded
    opened_at      BIGINT       NOT NULL DEFAULT 0,
    due_at         BIGINT       NOT NULL DEFAULT 0,
    next_remind_at BIGINT       NOT NULL DEFAULT 0,
    remind_count   INTEGER      NOT NULL DEFAULT 0,
    escalated      SMALLINT     NOT NULL DEFAULT 0,
    decided_at     BIGINT       NOT NULL DEFAULT 0,
    decided_by     VARCHAR(64)  NOT NULL DEFAULT '',
    comment        {{TEXT}}     NOT NULL
) {{TABLE}};
CREATE INDEX hall_tasks_application ON hall_tasks (application_id);
CREATE INDEX hall_tasks_assignee ON hall_tasks (assignee, state);
CREATE INDEX hall_tasks_state ON hall_tasks (state, next_remind_at);

-- The template card an open task put on its assignee's phone: the outbox
-- message, the latest response code not yet spent (from message/send or
-- from the assignee's press) and the last one spent, and whether the
-- card shows its final text yet.
CREATE TABLE hall_cards (
    id            {{ID}},
    task_id       BIGINT        NOT NULL,
    userid        VARCHAR(64)   NOT NULL,
    message_id    BIGINT        NOT NULL,
    response_code VARCHAR(128)  NOT NULL DEFAULT '',
    used_code     VARCHAR(128)  NOT NULL DEFAULT '',
    state         VARCHAR(16)   NOT NULL,   -- live | final
    final_text    VARCHAR(128)  NOT NULL DEFAULT '',
    updated_at    BIGINT        NOT NULL
) {{TABLE}};
CREATE UNIQUE INDEX hall_cards_task ON hall_cards (task_id);
CREATE INDEX hall_cards_state ON hall_cards (state, response_code);

-- The trail: who did what to an application and when.
CREATE TABLE hall_actions (
    id             {{ID}},
    application_id BIGINT       NOT NULL,
    task_id        BIGINT       NOT NULL DEFAULT 0,
    actor          VARCHAR(64)  NOT NULL,
    action         VARCHAR(32)  NOT NULL,
    comment        {{TEXT}}     NOT NULL,
    at             BIGINT       NOT NULL
) {{TABLE}};
CREATE INDEX hall_actions_application ON hall_actions (application_id, id);

-- +goose Down
DROP TABLE hall_actions;
DROP TABLE hall_cards;
DROP TABLE hall_tasks;
DROP TABLE hall_applications;
DROP TABLE hall_processes;
