-- Every command bellhop was asked to run, by whom, and how it ended.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    command TEXT NOT NULL,
    outcome TEXT NOT NULL
);
