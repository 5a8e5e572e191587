-- Which client each person opens the platform from: the WeCom client, or
-- personal WeChat through the WeChat plugin (which shows neither markdown
-- nor template cards, so the message center sends them text or textcards).
-- No WeCom API says this; the user agent at sign-in does.

-- +goose Up
CREATE TABLE person_clients (
    userid     VARCHAR(64) NOT NULL,
    client     VARCHAR(16) NOT NULL,   -- wecom, wechat, pc
    first_seen BIGINT      NOT NULL,   -- Unix milliseconds
    last_seen  BIGINT      NOT NULL,
    PRIMARY KEY (userid, client)
) {{TABLE}};

-- +goose Down
DROP TABLE person_clients;
