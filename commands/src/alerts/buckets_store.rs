//! Each replica's sample counts, shared through the store so the evaluator judges their sum.

use super::{BucketRow, Counts};
use crate::store::{millis, Store};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

impl Store {
    /// Writes this replica's buckets (their whole counts, so a retry or a repeat changes nothing).
    pub async fn flush_buckets(&self, replica: &str, rows: &[BucketRow], now: DateTime<Utc>) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        for row in rows {
            let tenants: BTreeMap<&str, (u64, u64)> =
                row.tenants.iter().map(|(t, total, failures)| (t.as_str(), (*total, *failures))).collect();
            sqlx::query(
                "INSERT INTO alert_buckets (function, slot, replica, total, failures, latency_sum_ms, tenants, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (function, slot, replica) DO UPDATE SET total = excluded.total, failures = excluded.failures,
                     latency_sum_ms = excluded.latency_sum_ms, tenants = excluded.tenants, updated_ms = excluded.updated_ms",
            )
            .bind(&row.function)
            .bind(row.slot)
            .bind(replica)
            .bind(count(row.counts.total))
            .bind(count(row.counts.failures))
            .bind(count(row.counts.latency_sum_ms))
            .bind(serde_json::to_string(&tenants)?)
            .bind(millis(now))
            .execute(&mut *tx)
            .await
            .context("cannot share the sample counts")?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Other replicas' buckets written since `since` (ms), of slots from `oldest_slot` on.
    pub async fn read_buckets(&self, except: &str, since: i64, oldest_slot: i64) -> anyhow::Result<Vec<(String, BucketRow)>> {
        let rows: Vec<(String, i64, String, i64, i64, i64, String)> = sqlx::query_as(
            "SELECT function, slot, replica, total, failures, latency_sum_ms, tenants FROM alert_buckets
             WHERE replica <> $1 AND updated_ms >= $2 AND slot >= $3",
        )
        .bind(except)
        .bind(since)
        .bind(oldest_slot)
        .fetch_all(self.pool())
        .await
        .context("cannot read the other replicas' sample counts")?;
        rows.into_iter()
            .map(|(function, slot, replica, total, failures, latency, tenants)| {
                let tenants: BTreeMap<String, (u64, u64)> = serde_json::from_str(&tenants).context("a bucket's tenants do not read")?;
                let counts = Counts { total: total.max(0) as u64, failures: failures.max(0) as u64, latency_sum_ms: latency.max(0) as u64 };
                let tenants = tenants.into_iter().map(|(t, (total, failures))| (t, total, failures)).collect();
                Ok((replica, BucketRow { function, slot, counts, tenants }))
            })
            .collect()
    }

    /// Forgets buckets no window reads any more.
    pub async fn prune_buckets(&self, oldest_slot: i64) -> anyhow::Result<u64> {
        let done = sqlx::query("DELETE FROM alert_buckets WHERE slot < $1").bind(oldest_slot).execute(self.pool()).await?;
        Ok(done.rows_affected())
    }
}

/// Counts are far below i64::MAX; a store column is signed.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
