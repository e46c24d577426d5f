-- Alerts, second shape. One alert (one post) per failing function, naming every rule it breaches,
-- and one per webhook notification group; both are rows of `alerts`, whose id is the subject
-- `alert:ID` that posts, reactions and incidents refer to. Times are milliseconds since the epoch.

-- Each firing of a function or a group, from its first post to its resolve notice.
CREATE TABLE alerts (
    id BIGSERIAL PRIMARY KEY,
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
-- One open alert per function or group, however many replicas race to open it.
CREATE UNIQUE INDEX alerts_open ON alerts (origin, subject_key) WHERE resolved_ms IS NULL;

-- Alerts of the first shape keep their ids (posts and incidents refer to them); those still open
-- are closed by the first evaluation, which says so on their posts.
INSERT INTO alerts (id, origin, subject_key, fired_ms, resolved_ms, figures)
    SELECT e.id, 'legacy', e.rule || ':' || e.function, e.fired_ms,
           CASE WHEN s.state = 'firing' AND s.episode = e.episode THEN NULL ELSE e.fired_ms END, e.figures
    FROM alert_episodes e LEFT JOIN alert_states s ON s.rule = e.rule AND s.function = e.function;
SELECT setval(pg_get_serial_sequence('alerts', 'id'), COALESCE((SELECT MAX(id) FROM alerts), 0) + 1, false);
DROP TABLE alert_episodes;
DROP TABLE alert_states;

-- One row per function bellhop announced: each rule's phase and the open alert with what its post
-- shows (JSON), and the version every announcement claims with, so two evaluators never announce
-- the same change.
CREATE TABLE alert_series (
    function TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    series TEXT NOT NULL,
    alert_id BIGINT
);

-- Each replica's sample counts per function and 10 s slot, so the evaluator judges their sum.
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

-- Work one replica does at a time (judging the alerts): held until `until_ms`, renewed by its holder.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms BIGINT NOT NULL
);

-- Webhook notification groups (Alertmanager's and Grafana's groupKey): what was received last,
-- and which version of it was announced. A change bumps `version`; announcing claims it.
CREATE TABLE webhook_groups (
    id BIGSERIAL PRIMARY KEY,
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
DROP TABLE inbound_alerts;

-- An incident declared from an alert: the alert's figures when it was declared and the worst since.
ALTER TABLE incidents ADD COLUMN alert_figures TEXT;
ALTER TABLE incidents ADD COLUMN alert_peak TEXT;
