-- Each firing of an alert (one episode of a (rule, function)) gets an id: its posts bind to it
-- as the subject `alert:ID`, so edits, the resolve notice and a 🚨 reaction find it.
-- An incident declared from an alert remembers it, to fill its escalation with the figures.
CREATE TABLE alert_episodes (
    id BIGSERIAL PRIMARY KEY,
    rule TEXT NOT NULL,
    function TEXT NOT NULL,
    episode BIGINT NOT NULL,
    fired_ms BIGINT NOT NULL,
    -- The latest claimed transition with its figures (JSON).
    figures TEXT NOT NULL,
    UNIQUE (rule, function, episode)
);

ALTER TABLE incidents ADD COLUMN alert_id BIGINT;
