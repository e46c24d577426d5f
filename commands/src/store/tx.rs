//! One transaction over the store: everything a command or a timer changes lands together or
//! not at all (the incident, its timeline entry, its timers and the posts announcing it).

use super::millis;
use crate::post::{Destination, Post};
use crate::timers::{Job, Owner};
use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

pub struct Tx<'a> {
    tx: Transaction<'a, Any>,
    now: DateTime<Utc>,
}

/// A new incident's fields.
pub struct NewIncident<'a> {
    pub severity: &'a str,
    pub title: &'a str,
    pub impact: &'a str,
    pub commander: &'a str,
    pub declared_by: &'a str,
}

impl<'a> Tx<'a> {
    pub(super) fn new(tx: Transaction<'a, Any>, now: DateTime<Utc>) -> Self {
        Tx { tx, now }
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn insert_incident(&mut self, new: &NewIncident<'_>) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (severity, title, impact, commander, declared_by, declared_ms)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.severity)
        .bind(new.title)
        .bind(new.impact)
        .bind(new.commander)
        .bind(new.declared_by)
        .bind(millis(self.now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// Sets one column of an incident. `column` is one of a fixed set, never user text.
    pub async fn set_incident(&mut self, id: i64, column: IncidentColumn, value: &str) -> anyhow::Result<()> {
        let sql = match column {
            IncidentColumn::Severity => "UPDATE incidents SET severity = $1 WHERE id = $2",
            IncidentColumn::Commander => "UPDATE incidents SET commander = $1 WHERE id = $2",
        };
        sqlx::query(sql).bind(value).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Records the acknowledgement; false when someone acknowledged first.
    pub async fn ack_incident(&mut self, id: i64, by: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE incidents SET acked_ms = $1, acked_by = $2 WHERE id = $3 AND acked_ms IS NULL")
            .bind(millis(self.now))
            .bind(by)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Resolves the incident; false when it was already resolved (by someone else, just now).
    pub async fn resolve_incident(&mut self, id: i64, root_cause: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE incidents SET resolved_ms = $1, root_cause = $2 WHERE id = $3 AND resolved_ms IS NULL")
            .bind(millis(self.now))
            .bind(root_cause)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn timeline(&mut self, incident: i64, actor: &str, kind: &str, text: &str) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO timeline (incident_id, at_ms, actor, kind, text) VALUES ($1, $2, $3, $4, $5)")
            .bind(incident)
            .bind(millis(self.now))
            .bind(actor)
            .bind(kind)
            .bind(text)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    pub async fn insert_maintenance(
        &mut self,
        kind: &str,
        summary: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        by: &str,
    ) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO maintenance (kind, summary, start_ms, end_ms, created_by, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(kind)
        .bind(summary)
        .bind(millis(start))
        .bind(millis(end))
        .bind(by)
        .bind(millis(self.now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// False when the window had already ended or been cancelled.
    pub async fn cancel_maintenance(&mut self, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE maintenance SET cancelled_ms = $1 WHERE id = $2 AND cancelled_ms IS NULL AND end_ms > $1")
            .bind(millis(self.now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn schedule(&mut self, owner: Owner, job: &Job, due: DateTime<Utc>) -> anyhow::Result<()> {
        let (incident, maintenance) = match owner {
            Owner::Incident(id) => (Some(id), None),
            Owner::Maintenance(id) => (None, Some(id)),
        };
        sqlx::query("INSERT INTO timers (incident_id, maintenance_id, kind, job, due_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(incident)
            .bind(maintenance)
            .bind(job.kind())
            .bind(serde_json::to_string(job)?)
            .bind(millis(due))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Cancels the owner's pending timers of these kinds (all kinds when `kinds` is empty).
    pub async fn cancel_timers(&mut self, owner: Owner, kinds: &[&str]) -> anyhow::Result<u64> {
        let (column, id) = match owner {
            Owner::Incident(id) => ("incident_id", id),
            Owner::Maintenance(id) => ("maintenance_id", id),
        };
        let mut cancelled = 0;
        let pending = format!("UPDATE timers SET cancelled_ms = $1 WHERE {column} = $2 AND fired_ms IS NULL AND cancelled_ms IS NULL");
        if kinds.is_empty() {
            cancelled += sqlx::query(&pending).bind(millis(self.now)).bind(id).execute(&mut *self.tx).await?.rows_affected();
        }
        for kind in kinds {
            let sql = format!("{pending} AND kind = $3");
            let done = sqlx::query(&sql).bind(millis(self.now)).bind(id).bind(*kind).execute(&mut *self.tx).await?;
            cancelled += done.rows_affected();
        }
        Ok(cancelled)
    }

    /// Claims a due timer for this bellhop: true for exactly one caller, however many race.
    pub async fn claim_timer(&mut self, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE timers SET fired_ms = $1 WHERE id = $2 AND fired_ms IS NULL AND cancelled_ms IS NULL")
            .bind(millis(self.now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a post for delivery; it leaves only after this transaction commits.
    pub async fn enqueue(&mut self, destination: &Destination, post: &Post) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO outbox (destination, post, created_ms, next_attempt_ms) VALUES ($1, $2, $3, $3)")
            .bind(serde_json::to_string(destination)?)
            .bind(serde_json::to_string(post)?)
            .bind(millis(self.now))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
pub enum IncidentColumn {
    Severity,
    Commander,
}
