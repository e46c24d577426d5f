//! The outbox: chat operations waiting to be done. Each is claimed on its own for a short lease
//! (two bellhops never do it twice; one that dies mid-way hands it on), and each failure is
//! recorded on that operation alone: retried later, or dead with its reason.

use super::{from_millis, millis, Store};
use crate::chats::ChatFilter;
use crate::outbox::{Op, Queued};
use crate::subject::Subject;
use chrono::{DateTime, Duration, Utc};

/// How long a claim lasts before another bellhop may try the operation.
const LEASE: Duration = Duration::seconds(60);

/// Lane heads: the oldest operation of each lane (in each chat) that is neither done nor dead.
/// Only a head may run, so order holds within a lane while other lanes go on.
const LANE_HEAD: &str = "done_ms IS NULL AND dead_ms IS NULL
     AND NOT EXISTS (SELECT 1 FROM chat_ops earlier
                     WHERE earlier.lane = chat_ops.lane AND COALESCE(earlier.chat, '') = COALESCE(chat_ops.chat, '')
                       AND earlier.id < chat_ops.id
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
    pub async fn ready_ops(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        chats: &ChatFilter,
    ) -> anyhow::Result<Vec<Result<Queued, (i64, String)>>> {
        let sql = format!(
            "SELECT id, lane, op, attempts, chat FROM chat_ops
             WHERE {LANE_HEAD} AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1) AND {}
             ORDER BY id LIMIT $2",
            chat_condition("chat", chats, 3)
        );
        let mut query = sqlx::query_as(&sql).bind(millis(now)).bind(limit);
        for name in chat_names(chats) {
            query = query.bind(name);
        }
        let rows: Vec<(i64, String, String, i64, Option<String>)> = query.fetch_all(self.pool()).await?;
        Ok(rows
            .into_iter()
            .map(|(id, lane, op, attempts, chat)| match serde_json::from_str::<Op>(&op) {
                Ok(op) => Ok(Queued { id, lane, attempts, op, chat }),
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
    /// Only the chats given count: another chat's operations wait for a process that delivers them.
    pub async fn next_op(&self, chats: &ChatFilter) -> anyhow::Result<Option<DateTime<Utc>>> {
        let sql = format!(
            "SELECT MIN(CASE WHEN claimed_until_ms IS NOT NULL AND claimed_until_ms > next_attempt_ms
                             THEN claimed_until_ms ELSE next_attempt_ms END)
             FROM chat_ops WHERE {LANE_HEAD} AND {}",
            chat_condition("chat", chats, 1)
        );
        let mut query = sqlx::query_scalar(&sql);
        for name in chat_names(chats) {
            query = query.bind(name);
        }
        let at: Option<i64> = query.fetch_one(self.pool()).await?;
        Ok(at.map(from_millis))
    }

    /// The chat a subject belongs to (none: the home chat, or no operation about it yet).
    pub async fn chat_of(&self, subject: Subject) -> anyhow::Result<Option<String>> {
        let chat: Option<String> = sqlx::query_scalar("SELECT chat FROM subject_chats WHERE subject = $1")
            .bind(subject.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(chat.filter(|chat| !chat.is_empty()))
    }

    /// Whether an operation of `lane` waits to be delivered (neither done nor dead).
    pub async fn lane_waiting(&self, lane: &str) -> anyhow::Result<bool> {
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chat_ops WHERE lane = $1 AND done_ms IS NULL AND dead_ms IS NULL")
            .bind(lane)
            .fetch_one(self.pool())
            .await?;
        Ok(waiting > 0)
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

/// The condition on a chat column (NULL or '' for the home chat) that selects `chats`' own, its
/// names bound from `$first` on.
pub(super) fn chat_condition(column: &str, chats: &ChatFilter, first: usize) -> String {
    match chats {
        ChatFilter::Every => "1 = 1".to_string(),
        ChatFilter::Named(names) => {
            let names: Vec<String> = (first..first + names.len()).map(|n| format!("${n}")).collect();
            format!("COALESCE({column}, '') IN ('', {})", names.join(", "))
        }
    }
}

pub(super) fn chat_names(chats: &ChatFilter) -> Vec<String> {
    match chats {
        ChatFilter::Every => Vec::new(),
        ChatFilter::Named(names) => names.clone(),
    }
}
