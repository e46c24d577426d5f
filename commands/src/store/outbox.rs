//! The outbox: chat operations waiting to be done. Each is claimed on its own for a short lease
//! (two bellhops never do it twice; one that dies mid-way hands it on), and each failure is
//! recorded on that operation alone: retried later, or dead with its reason.

use super::{from_millis, millis, Store};
use crate::outbox::{Op, Queued};
use chrono::{DateTime, Duration, Utc};

/// How long a claim lasts before another bellhop may try the operation.
const LEASE: Duration = Duration::seconds(60);

/// Lane heads: the oldest operation of each lane that is neither done nor dead. Only a head may
/// run, so order holds within a lane while other lanes go on.
const LANE_HEAD: &str = "done_ms IS NULL AND dead_ms IS NULL
     AND NOT EXISTS (SELECT 1 FROM chat_ops earlier
                     WHERE earlier.lane = chat_ops.lane AND earlier.id < chat_ops.id
                       AND earlier.done_ms IS NULL AND earlier.dead_ms IS NULL)";

type EntryRow = (i64, String, String, i64, i64, Option<i64>, Option<String>);

/// What the store holds about one operation, for `bellhop outbox` and the admin command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub lane: String,
    pub what: String,
    pub attempts: i64,
    pub next_attempt: DateTime<Utc>,
    pub dead: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl Store {
    /// Lane heads ready to run now, oldest first. An operation whose text no longer reads (from
    /// an older bellhop) is returned as `Err` with its id so the caller can bury it.
    pub async fn ready_ops(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<Result<Queued, (i64, String)>>> {
        let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(&format!(
            "SELECT id, lane, op, attempts FROM chat_ops
             WHERE {LANE_HEAD} AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1)
             ORDER BY id LIMIT $2"
        ))
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, lane, op, attempts)| match serde_json::from_str::<Op>(&op) {
                Ok(op) => Ok(Queued { id, lane, attempts, op }),
                Err(error) => Err((id, format!("its stored text does not read: {error}"))),
            })
            .collect())
    }

    /// True for exactly one caller until the lease runs out; `now` is read per claim.
    pub async fn claim_op(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE chat_ops SET claimed_until_ms = $1
             WHERE id = $2 AND done_ms IS NULL AND dead_ms IS NULL AND (claimed_until_ms IS NULL OR claimed_until_ms < $3)",
        )
        .bind(millis(now + LEASE))
        .bind(id)
        .bind(millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn op_done(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE chat_ops SET done_ms = $1, claimed_until_ms = NULL WHERE id = $2")
            .bind(millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Puts an operation back for a later attempt at `next`; only its lane waits.
    pub async fn op_retry(&self, id: i64, next: DateTime<Utc>, error: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE chat_ops SET attempts = attempts + 1, next_attempt_ms = $1, claimed_until_ms = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(millis(next))
        .bind(crate::text::ellipsize(error, 500))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives an operation up; its lane goes on without it.
    pub async fn op_dead(&self, id: i64, now: DateTime<Utc>, reason: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE chat_ops SET dead_ms = $1, claimed_until_ms = NULL, last_error = $2 WHERE id = $3")
            .bind(millis(now))
            .bind(crate::text::ellipsize(reason, 500))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// When the earliest lane head may run (a retry, or one claimed by a bellhop that vanished).
    pub async fn next_op(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT MIN(CASE WHEN claimed_until_ms IS NOT NULL AND claimed_until_ms > next_attempt_ms
                             THEN claimed_until_ms ELSE next_attempt_ms END)
             FROM chat_ops WHERE {LANE_HEAD}"
        ))
        .fetch_one(self.pool())
        .await?;
        Ok(at.map(from_millis))
    }

    /// How many operations wait (neither done nor dead).
    pub async fn pending_ops(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM chat_ops WHERE done_ms IS NULL AND dead_ms IS NULL").fetch_one(self.pool()).await?)
    }

    /// How many operations were given up and are still kept.
    pub async fn dead_ops(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM chat_ops WHERE done_ms IS NULL AND dead_ms IS NOT NULL").fetch_one(self.pool()).await?)
    }

    /// Waiting and dead operations, oldest first, for people to look at.
    pub async fn outbox_entries(&self, limit: i64) -> anyhow::Result<Vec<OutboxEntry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(
            "SELECT id, lane, op, attempts, next_attempt_ms, dead_ms, last_error FROM chat_ops
             WHERE done_ms IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, lane, op, attempts, next, dead, last_error)| OutboxEntry {
                id,
                lane,
                what: serde_json::from_str::<Op>(&op).map(|op| op.describe()).unwrap_or_else(|_| "an unreadable operation".into()),
                attempts,
                next_attempt: from_millis(next),
                dead: dead.map(from_millis),
                last_error,
            })
            .collect())
    }

    /// Sends a dead or waiting operation again now; false when there is no such operation.
    pub async fn op_revive(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE chat_ops SET dead_ms = NULL, attempts = 0, next_attempt_ms = $1, claimed_until_ms = NULL
             WHERE id = $2 AND done_ms IS NULL",
        )
        .bind(millis(now))
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Drops an operation for good, on a person's word; false when there is none to drop.
    pub async fn op_drop(&self, id: i64, now: DateTime<Utc>, by: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE chat_ops SET done_ms = $1, last_error = $2 WHERE id = $3 AND done_ms IS NULL")
            .bind(millis(now))
            .bind(format!("dropped by {by}"))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
