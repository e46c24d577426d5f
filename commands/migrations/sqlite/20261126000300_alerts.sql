-- Alerts. `alert_states` holds one row per (rule, function) bellhop has judged, with what was last
-- announced; every change is claimed with a conditional UPDATE, so two replicas announce it once.
-- `inbound_alerts` keeps the alerts Alertmanager and Grafana sent, one row per fingerprint.
-- Times are milliseconds since the Unix epoch (UTC).
CREATE TABLE alert_states (
    rule TEXT NOT NULL,
    function TEXT NOT NULL,
    -- ok or firing: what was last announced.
    state TEXT NOT NULL,
    -- Counts firings; a message ref of an alert post binds to (rule, function, episode).
    episode BIGINT NOT NULL,
    since_ms BIGINT,
    notified_ms BIGINT,
    updated_ms BIGINT,
    resolved_ms BIGINT,
    -- The engine's phase (JSON), read back at start so nothing is announced twice.
    phase TEXT NOT NULL,
    -- The last claimed transition with its figures (JSON).
    last_transition TEXT,
    PRIMARY KEY (rule, function)
);

CREATE TABLE inbound_alerts (
    source TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    firing BIGINT NOT NULL,
    name TEXT NOT NULL,
    summary TEXT NOT NULL,
    starts_ms BIGINT NOT NULL,
    ends_ms BIGINT,
    detail TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    changed_ms BIGINT NOT NULL,
    -- Set by whoever posts it: the changed_ms it announced, so a change is announced once.
    announced_ms BIGINT,
    PRIMARY KEY (source, fingerprint)
);
