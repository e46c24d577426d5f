-- A plan runs where bellhop can read the chat: at quorum (and, after a restart, every pending plan)
-- it waits for a check that reads the ✅ and ❌ on its post with each voter's roles as they are now.
ALTER TABLE plans ADD COLUMN check_ms BIGINT;
-- While executing: until when its runner holds it. A plan whose runner stopped is marked interrupted.
ALTER TABLE plans ADD COLUMN lease_ms BIGINT;
-- The incident in whose thread it was asked; break-glass needs that incident to be an open P0.
ALTER TABLE plans ADD COLUMN incident_id BIGINT;
-- Approvals it needs when not the configured number (break-glass: one).
ALTER TABLE plans ADD COLUMN quorum BIGINT;
