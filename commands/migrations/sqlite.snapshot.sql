-- through 20261215000100
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    command TEXT NOT NULL,
    outcome TEXT NOT NULL
);
CREATE TABLE incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
, commander_id TEXT, declared_by_id TEXT, acked_by_id TEXT, affected TEXT NOT NULL DEFAULT '', alert_id BIGINT, alert_figures TEXT, alert_peak TEXT, kind TEXT NOT NULL DEFAULT 'service');
CREATE INDEX incidents_channel ON incidents (channel_key);
CREATE TABLE timeline (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL
, actor_id TEXT);
CREATE INDEX timeline_incident ON timeline (incident_id, id);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    cancelled_ms BIGINT
, created_by_id TEXT);
CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT REFERENCES incidents (id),
    maintenance_id BIGINT REFERENCES maintenance (id),
    kind TEXT NOT NULL,
    job TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    fired_ms BIGINT,
    cancelled_ms BIGINT
, owner TEXT, attempts BIGINT NOT NULL DEFAULT 0, retry_ms BIGINT, last_error TEXT);
CREATE INDEX timers_pending ON timers (due_ms) WHERE fired_ms IS NULL AND cancelled_ms IS NULL;
CREATE INDEX timers_owner ON timers (owner) WHERE fired_ms IS NULL AND cancelled_ms IS NULL;
CREATE TABLE places (
    subject TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL
);
CREATE INDEX places_channel ON places (channel_key);
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
, chat TEXT);
CREATE INDEX chat_ops_pending ON chat_ops (lane, id) WHERE done_ms IS NULL AND dead_ms IS NULL;
CREATE TABLE messages (
    channel_key TEXT NOT NULL,
    message_key TEXT NOT NULL,
    subject TEXT,
    role TEXT,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (channel_key, message_key)
);
CREATE INDEX messages_subject ON messages (subject, role);
CREATE TABLE reactions (
    channel_key TEXT NOT NULL,
    message_key TEXT NOT NULL,
    person_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    person_name TEXT NOT NULL,
    at_ms BIGINT NOT NULL, effect TEXT,
    PRIMARY KEY (channel_key, message_key, person_id, emoji)
);
CREATE TABLE handled_events (
    event_key TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL
);
CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action TEXT NOT NULL,
    -- The action with its normalised parameters (JSON).
    params TEXT NOT NULL,
    -- What the preview counted (JSON).
    preview TEXT NOT NULL,
    requester_id TEXT NOT NULL,
    requester_name TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    hash TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    -- Bumped by every change of the approval post, so its edits queue in order.
    version BIGINT NOT NULL DEFAULT 0,
    started_ms BIGINT,
    finished_ms BIGINT,
    -- Rows touched, verification, duration, error (JSON), stored before it is posted.
    outcome TEXT
, check_ms BIGINT, lease_ms BIGINT, incident_id BIGINT, quorum BIGINT, quorum_ms BIGINT, writing_ms BIGINT, check_failures BIGINT NOT NULL DEFAULT 0);
CREATE TABLE plan_votes (
    plan_id BIGINT NOT NULL,
    person_id TEXT NOT NULL,
    person_name TEXT NOT NULL,
    emoji TEXT NOT NULL,
    counted BIGINT NOT NULL,
    reason TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (plan_id, person_id, emoji)
);
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- rules (bellhop's own thresholds), alertmanager or grafana; legacy for alerts of the first shape.
    origin TEXT NOT NULL,
    -- The function, or the webhook's group key.
    subject_key TEXT NOT NULL,
    fired_ms BIGINT NOT NULL,
    resolved_ms BIGINT,
    -- What the alert says now (JSON), and its worst figures since it fired (JSON).
    figures TEXT NOT NULL,
    peak TEXT,
    -- The severity level whose people were pinged (webhook alerts).
    level TEXT
);
CREATE UNIQUE INDEX alerts_open ON alerts (origin, subject_key) WHERE resolved_ms IS NULL;
CREATE TABLE alert_series (
    function TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    series TEXT NOT NULL,
    alert_id BIGINT
);
CREATE TABLE alert_buckets (
    function TEXT NOT NULL,
    slot BIGINT NOT NULL,
    replica TEXT NOT NULL,
    total BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    latency_sum_ms BIGINT NOT NULL,
    -- Per tenant: {"hotel-7": [samples, failures]} (JSON).
    tenants TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (function, slot, replica)
);
CREATE INDEX alert_buckets_updated ON alert_buckets (updated_ms);
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE TABLE webhook_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    group_key TEXT NOT NULL,
    -- Receiver, common labels, external URL, truncated count (JSON).
    detail TEXT NOT NULL,
    digest TEXT NOT NULL,
    version BIGINT NOT NULL,
    announced BIGINT NOT NULL DEFAULT 0,
    alert_id BIGINT,
    edited_ms BIGINT,
    received_ms BIGINT NOT NULL,
    UNIQUE (source, group_key)
);
CREATE INDEX webhook_groups_pending ON webhook_groups (id) WHERE announced < version;
CREATE TABLE webhook_alerts (
    group_id BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    firing BIGINT NOT NULL,
    -- Name, severity, summary, description, times, link, labels (JSON).
    alert TEXT NOT NULL,
    changed_ms BIGINT NOT NULL,
    PRIMARY KEY (group_id, fingerprint)
);
CREATE TABLE subject_chats (
    subject TEXT PRIMARY KEY,
    chat TEXT NOT NULL
);
CREATE TABLE function_deploys (
    function TEXT NOT NULL,
    version BIGINT NOT NULL,
    deployed_ms BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL,
    figures_before TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (function, version)
);
CREATE INDEX function_deploys_recent ON function_deploys (deployed_ms);
CREATE TABLE deploy_marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT NOT NULL,
    by_id TEXT NOT NULL,
    by_name TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    figures_before TEXT NOT NULL
);
CREATE TABLE checklists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT NOT NULL,
    created_by_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    ready_ms BIGINT
);
CREATE TABLE checklist_items (
    checklist_id BIGINT NOT NULL REFERENCES checklists (id),
    item BIGINT NOT NULL,
    verified TEXT,
    evidence TEXT,
    ticked_by_id TEXT,
    ticked_by TEXT,
    ticked_ms BIGINT,
    PRIMARY KEY (checklist_id, item)
);
