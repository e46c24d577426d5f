-- Plans that no one can freeze. `quorum_ms`: when its approvals first reached quorum, so a plan
-- approved in time runs even when its check comes later. `writing_ms`: when its first write to the
-- target started, so a plan whose runner stopped before that is known to have changed nothing.
-- `check_failures`: checks in a row that could not read its post, said once in the chat.
ALTER TABLE plans ADD COLUMN quorum_ms BIGINT;
ALTER TABLE plans ADD COLUMN writing_ms BIGINT;
ALTER TABLE plans ADD COLUMN check_failures BIGINT NOT NULL DEFAULT 0;

-- What a reaction still has to set off (a 🚨's declaration), written with the reaction itself, so
-- an effect that failed is retried rather than lost: JSON, cleared once done.
ALTER TABLE reactions ADD COLUMN effect TEXT;
