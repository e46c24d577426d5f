-- Incidents, their timelines, every timer of the runbook's clock, maintenance windows, and the
-- outbox of posts not yet delivered. Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE incidents (
    id BIGSERIAL PRIMARY KEY,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    impact TEXT NOT NULL,
    commander TEXT NOT NULL,
    declared_by TEXT NOT NULL,
    declared_ms BIGINT NOT NULL,
    acked_ms BIGINT,
    acked_by TEXT,
    resolved_ms BIGINT,
    root_cause TEXT,
    -- The adapter's channel for the incident (a Discord thread id, a shell channel name).
    channel_key TEXT
);
CREATE INDEX incidents_channel ON incidents (channel_key);

CREATE TABLE timeline (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, id);

CREATE TABLE maintenance (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    cancelled_ms BIGINT
);

-- A timer fires when fired_ms is set by the one UPDATE that finds it still NULL: exactly once,
-- however many bellhops share the store.
CREATE TABLE timers (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT REFERENCES incidents (id),
    maintenance_id BIGINT REFERENCES maintenance (id),
    kind TEXT NOT NULL,
    job TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    fired_ms BIGINT,
    cancelled_ms BIGINT
);
CREATE INDEX timers_pending ON timers (due_ms) WHERE fired_ms IS NULL AND cancelled_ms IS NULL;

CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    destination TEXT NOT NULL,
    post TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    claimed_until_ms BIGINT,
    delivered_ms BIGINT,
    channel_key TEXT,
    message_key TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_ms IS NULL;
