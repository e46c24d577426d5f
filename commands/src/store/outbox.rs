//! Posts waiting to be delivered. A post is claimed for a short lease while an adapter delivers
//! it, so two bellhops on one store never post it twice, and one that dies mid-way hands it on.

use super::{from_millis, millis, Store};
use crate::post::{Destination, Outgoing, Post};
use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};

/// How long a claim on a post lasts before another bellhop may try it.
const LEASE: Duration = Duration::seconds(60);

impl Store {
    /// Posts ready to go (not delivered, not waiting for a retry, not claimed), oldest first.
    pub async fn ready_posts(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<Outgoing>> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, destination, post FROM outbox
             WHERE delivered_ms IS NULL AND next_attempt_ms <= $1 AND (claimed_until_ms IS NULL OR claimed_until_ms < $1)
             ORDER BY id LIMIT $2",
        )
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, destination, post)| {
                let destination: Destination = serde_json::from_str(&destination).with_context(|| format!("outbox {id}: destination"))?;
                let post: Post = serde_json::from_str(&post).with_context(|| format!("outbox {id}: post"))?;
                Ok(Outgoing { id, destination, post })
            })
            .collect()
    }

    /// True for exactly one caller until the lease runs out.
    pub async fn claim_post(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE outbox SET claimed_until_ms = $1
             WHERE id = $2 AND delivered_ms IS NULL AND (claimed_until_ms IS NULL OR claimed_until_ms < $3)",
        )
        .bind(millis(now + LEASE))
        .bind(id)
        .bind(millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a post delivered; when it opened an incident's place, binds that place to the incident.
    pub async fn post_delivered(
        &self,
        id: i64,
        now: DateTime<Utc>,
        channel_key: &str,
        message_key: &str,
        opened: Option<i64>,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE outbox SET delivered_ms = $1, channel_key = $2, message_key = $3 WHERE id = $4")
            .bind(millis(now))
            .bind(channel_key)
            .bind(message_key)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(incident) = opened {
            sqlx::query("UPDATE incidents SET channel_key = $1 WHERE id = $2").bind(channel_key).bind(incident).execute(&mut *tx).await?;
        }
        Ok(tx.commit().await?)
    }

    /// Puts a post back for a later attempt, backing off up to five minutes; the posts queued
    /// behind it wait as long, so they never overtake it.
    pub async fn post_failed(&self, id: i64, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM outbox WHERE id = $1").bind(id).fetch_one(self.pool()).await?;
        let backoff = Duration::seconds((5_i64 << attempts.min(6)).min(300));
        let next = now + backoff;
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = $1, claimed_until_ms = NULL WHERE id = $2")
            .bind(millis(next))
            .bind(id)
            .execute(self.pool())
            .await?;
        sqlx::query("UPDATE outbox SET next_attempt_ms = $1 WHERE delivered_ms IS NULL AND id > $2 AND next_attempt_ms < $1")
            .bind(millis(next))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(next)
    }

    /// When the earliest post waiting for a retry may go again.
    pub async fn next_retry(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT MIN(next_attempt_ms) FROM outbox WHERE delivered_ms IS NULL").fetch_one(self.pool()).await?;
        Ok(at.map(from_millis))
    }

    /// How many posts wait to be delivered.
    pub async fn undelivered_posts(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_ms IS NULL").fetch_one(self.pool()).await?)
    }
}
