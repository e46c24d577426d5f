-- The rest of the runbook: deploys seen through the Management API, deploys marked by a person,
-- the pre-deploy checklist, and the kind of an incident (a security incident runs its own clock).

-- One row per version of an edge function, recorded once whichever replica sees it first.
-- `figures_before`: the function's sample counts in each of the 15 minutes before it was seen (JSON),
-- what /deploy validate compares with.
CREATE TABLE function_deploys (
    function TEXT NOT NULL,
    version BIGINT NOT NULL,
    deployed_ms BIGINT NOT NULL,
    seen_ms BIGINT NOT NULL,
    figures_before TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (function, version)
);
CREATE INDEX function_deploys_recent ON function_deploys (deployed_ms);

-- `/deploy done`: a person says a deploy went out; every function's counts before it (JSON).
CREATE TABLE deploy_marks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT NOT NULL,
    by_id TEXT NOT NULL,
    by_name TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    figures_before TEXT NOT NULL
);

-- `/deploy checklist`: the runbook's six items. An item is ticked by a person (who, when) or by
-- bellhop's own check (`verified` = ticked, flagged or unknown, with its evidence).
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

-- `service` (the severity's clock) or `security` (the runbook's data breach response).
ALTER TABLE incidents ADD COLUMN kind TEXT NOT NULL DEFAULT 'service';
