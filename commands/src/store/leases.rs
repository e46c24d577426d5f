//! Leases: one holder at a time for a name (the alerts' evaluator, an adapter's presence), taken
//! over when the holder stops renewing.

use super::{millis, Store};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

impl Store {
    /// Takes or renews the lease `name` for `holder` until `until`: true while it is theirs. A
    /// lease whose holder stopped renewing it is free once its time has passed.
    pub async fn hold_lease(&self, name: &str, holder: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
             WHERE leases.holder = excluded.holder OR leases.until_ms < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(until))
        .bind(millis(now))
        .execute(self.pool())
        .await
        .with_context(|| format!("cannot hold the {name} lease"))?;
        Ok(done.rows_affected() == 1)
    }

    /// Who holds the lease `name` now, if anyone.
    pub async fn lease_holder(&self, name: &str, now: DateTime<Utc>) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND until_ms >= $2")
            .bind(name)
            .bind(millis(now))
            .fetch_optional(self.pool())
            .await?)
    }

    /// Gives the lease up (a clean stop), so another replica takes it at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2").bind(name).bind(holder).execute(self.pool()).await?;
        Ok(())
    }
}
