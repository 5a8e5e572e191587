-- The message center's second round:
--  * message/send answers a response_code for button, vote and multiple
--    cards (docs/wecom.md §6): kept per recipient, the service hall updates
--    an approver's card with it once someone has decided;
--  * a reminder rule reaching more members than the broadcast threshold
--    waits for a second admin before it fires (approval 'pending'); reach
--    is its member count when last saved;
--  * a queued message's SMS numbers move out of its recipients JSON into
--    their own sealed column, so `wecomapp rekey` re-encrypts them too;
--  * an admin may mark by hand which client a person reads messages in
--    (the WeChat plugin cannot show markdown or template cards), over
--    what their sign-ins said (person_clients).

-- +goose Up
ALTER TABLE outbox_recipients ADD COLUMN response_code VARCHAR(128) NOT NULL DEFAULT '';
ALTER TABLE outbox_messages ADD COLUMN mobiles {{BLOB}};
ALTER TABLE reminder_rules ADD COLUMN approval VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE reminder_rules ADD COLUMN reach INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reminder_rules ADD COLUMN updated_by VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE reminder_rules ADD COLUMN approved_by VARCHAR(64) NOT NULL DEFAULT '';
CREATE TABLE person_channels (
    userid  VARCHAR(64) NOT NULL PRIMARY KEY,
    client  VARCHAR(16) NOT NULL,   -- wechat (the WeChat plugin) | wecom
    note    VARCHAR(128) NOT NULL DEFAULT '',
    set_by  VARCHAR(64) NOT NULL,
    set_at  BIGINT      NOT NULL    -- Unix milliseconds
) {{TABLE}};

-- +goose Down
DROP TABLE person_channels;
ALTER TABLE reminder_rules DROP COLUMN approved_by;
ALTER TABLE reminder_rules DROP COLUMN updated_by;
ALTER TABLE reminder_rules DROP COLUMN reach;
ALTER TABLE reminder_rules DROP COLUMN approval;
ALTER TABLE outbox_messages DROP COLUMN mobiles;
ALTER TABLE outbox_recipients DROP COLUMN response_code;
