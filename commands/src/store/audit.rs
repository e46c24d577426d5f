//! The audit trail: who asked bellhop to do what, and how it ended.

use super::{Store, Tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor_id: String,
    pub actor_name: String,
    pub command: String,
    pub outcome: String,
}

fn insert(entry: &AuditEntry) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query("INSERT INTO audit (at_ms, actor_id, actor_name, command, outcome) VALUES ($1, $2, $3, $4, $5)")
        .bind(entry.at.timestamp_millis())
        .bind(&entry.actor_id)
        .bind(&entry.actor_name)
        .bind(&entry.command)
        .bind(&entry.outcome)
}

impl Tx<'_> {
    /// An audit entry that lands with the change it records, or not at all.
    pub async fn audit(&mut self, entry: &AuditEntry) -> anyhow::Result<()> {
        insert(entry).execute(&mut *self.conn()).await?;
        Ok(())
    }
}

impl Store {
    pub async fn record_audit(&self, entry: &AuditEntry) -> anyhow::Result<()> {
        insert(entry).execute(self.pool()).await?;
        Ok(())
    }

    /// The entries from `from` to `to`, oldest first: the newest `limit` of them when there are
    /// more (the end of a window is what an investigation reads first).
    pub async fn audit_between(&self, from: DateTime<Utc>, to: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT at_ms, actor_id, actor_name, command, outcome
             FROM audit WHERE at_ms >= $1 AND at_ms <= $2 ORDER BY at_ms DESC, id DESC LIMIT $3",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().rev().map(entry).collect())
    }

    /// How many entries there are from `from` to `to`.
    pub async fn count_audit_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit WHERE at_ms >= $1 AND at_ms <= $2")
            .bind(from.timestamp_millis())
            .bind(to.timestamp_millis())
            .fetch_one(self.pool())
            .await?)
    }

    /// The newest `limit` entries, newest first.
    pub async fn recent_audit(&self, limit: i64) -> anyhow::Result<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT at_ms, actor_id, actor_name, command, outcome
             FROM audit ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(entry).collect())
    }
}

/// An audit row as selected: `at_ms, actor_id, actor_name, command, outcome`.
type AuditRow = (i64, String, String, String, String);

fn entry((at_ms, actor_id, actor_name, command, outcome): AuditRow) -> AuditEntry {
    AuditEntry { at: DateTime::from_timestamp_millis(at_ms).unwrap_or_default(), actor_id, actor_name, command, outcome }
}
