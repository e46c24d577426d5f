-- Remediation plans: an action with frozen parameters and preview, waiting for two approvals.
-- The state moves pending → executing → done | failed | aborted, or pending → rejected | expired,
-- each step one conditional UPDATE, so a plan runs at most once however many bellhops race.
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
);

-- One vote per person and emoji; counted or not, with the reason shown on the post.
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
