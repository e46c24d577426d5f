//! What bellhop forgets after a while: inbound events already handled, operations delivered,
//! reactions, and webhook groups long resolved. The audit trail is kept.

use super::{millis, Store};
use chrono::{DateTime, Utc};

impl Store {
    /// Deletes what is older than `before`; returns how many rows went.
    pub async fn prune(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        let before = millis(before);
        let mut pruned = 0;
        for statement in [
            "DELETE FROM handled_events WHERE at_ms < $1",
            "DELETE FROM chat_ops WHERE done_ms IS NOT NULL AND done_ms < $1",
            "DELETE FROM reactions WHERE at_ms < $1",
            "DELETE FROM webhook_alerts WHERE group_id IN (SELECT id FROM webhook_groups WHERE alert_id IS NULL AND received_ms < $1 AND announced >= version)",
            "DELETE FROM webhook_groups WHERE alert_id IS NULL AND received_ms < $1 AND announced >= version",
        ] {
            pruned += sqlx::query(statement).bind(before).execute(self.pool()).await?.rows_affected();
        }
        Ok(pruned)
    }
}
