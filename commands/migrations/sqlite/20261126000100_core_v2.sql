-- Core v2: people by id, timers owned by any subject, an outbox of chat operations in lanes,
-- messages bound to their subjects, each subject's place, and inbound events handled once.

-- People: the id decides, the name is shown. Rows from before have no id; they get one that
-- no chat user can hold, so nobody inherits an authorisation by taking a name.
ALTER TABLE incidents ADD COLUMN commander_id TEXT;
ALTER TABLE incidents ADD COLUMN declared_by_id TEXT;
ALTER TABLE incidents ADD COLUMN acked_by_id TEXT;
-- What the status page says is affected ("sign-in"); empty means "services".
ALTER TABLE incidents ADD COLUMN affected TEXT NOT NULL DEFAULT '';
UPDATE incidents SET commander_id = 'legacy:' || commander, declared_by_id = 'legacy:' || declared_by;
UPDATE incidents SET acked_by_id = 'legacy:' || acked_by WHERE acked_by IS NOT NULL;
ALTER TABLE timeline ADD COLUMN actor_id TEXT;
UPDATE timeline SET actor_id = 'legacy:' || actor;
ALTER TABLE maintenance ADD COLUMN created_by_id TEXT;
UPDATE maintenance SET created_by_id = 'legacy:' || created_by;

-- Timers: any subject owns them; a failing one is retried on its own, then given up.
ALTER TABLE timers ADD COLUMN owner TEXT;
UPDATE timers SET owner = 'incident:' || incident_id WHERE incident_id IS NOT NULL;
UPDATE timers SET owner = 'maintenance:' || maintenance_id WHERE maintenance_id IS NOT NULL;
ALTER TABLE timers ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE timers ADD COLUMN retry_ms BIGINT;
ALTER TABLE timers ADD COLUMN last_error TEXT;
CREATE INDEX timers_owner ON timers (owner) WHERE fired_ms IS NULL AND cancelled_ms IS NULL;

-- A subject's own place in the chat (an incident's thread).
CREATE TABLE places (
    subject TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL
);
INSERT INTO places (subject, channel_key) SELECT 'incident:' || id, channel_key FROM incidents WHERE channel_key IS NOT NULL;
CREATE INDEX places_channel ON places (channel_key);

-- Chat operations waiting or done. Order holds within a lane only. An operation is claimed
-- with a short lease, done once, or dead with its reason.
CREATE TABLE chat_ops (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lane TEXT NOT NULL,
    op TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT,
    done_ms BIGINT,
    dead_ms BIGINT,
    last_error TEXT
);
CREATE INDEX chat_ops_pending ON chat_ops (lane, id) WHERE done_ms IS NULL AND dead_ms IS NULL;
-- Posts not delivered before the upgrade keep their place in line.
INSERT INTO chat_ops (lane, op, created_ms, attempts, next_attempt_ms)
    SELECT 'legacy', '{"op":"post","to":' || destination || ',"post":' || post || '}', created_ms, attempts, next_attempt_ms
    FROM outbox WHERE delivered_ms IS NULL ORDER BY id;
DROP TABLE outbox;

-- Which subject a delivered message belongs to, so reactions and edits find their way.
CREATE TABLE messages (
    channel_key TEXT NOT NULL,
    message_key TEXT NOT NULL,
    subject TEXT,
    role TEXT,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel_key, message_key)
);
CREATE INDEX messages_subject ON messages (subject, role);

-- People's reactions on bellhop's messages: a row per (message, person, emoji), so a repeated
-- event (a retry, a second replica) changes nothing.
CREATE TABLE reactions (
    channel_key TEXT NOT NULL,
    message_key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    person_name TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel_key, message_key, person_id, emoji)
);

-- Inbound events (a Discord interaction id) claimed by the first replica that sees them.
CREATE TABLE handled_events (
    event_key TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL
);
