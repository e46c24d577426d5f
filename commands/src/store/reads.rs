//! What the core reads back: incidents, timelines, due timers, maintenance windows.

use super::{from_millis, millis, Store};
use crate::incident::{Incident, ListState, Severity, TimelineEntry};
use crate::timers::{Job, Owner, Timer};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

type IncidentRow =
    (i64, String, String, String, String, String, i64, Option<i64>, Option<String>, Option<i64>, Option<String>, Option<String>);

type MaintenanceRow = (i64, String, String, i64, i64, String, Option<i64>);
type TimerRow = (i64, Option<i64>, Option<i64>, String, i64);

const INCIDENT_COLUMNS: &str =
    "id, severity, title, impact, commander, declared_by, declared_ms, acked_ms, acked_by, resolved_ms, root_cause, channel_key";

fn incident(row: IncidentRow) -> anyhow::Result<Incident> {
    let (id, severity, title, impact, commander, declared_by, declared, acked_ms, acked_by, resolved, root_cause, channel_key) = row;
    Ok(Incident {
        id,
        severity: severity.parse::<Severity>().map_err(|e| anyhow::anyhow!("incident {id}: {e}"))?,
        title,
        impact,
        commander,
        declared_by,
        declared: from_millis(declared),
        acked: acked_ms.map(|at| (from_millis(at), acked_by.unwrap_or_default())),
        resolved: resolved.map(from_millis),
        root_cause,
        channel_key,
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    pub id: i64,
    pub emergency: bool,
    pub summary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created_by: String,
    pub cancelled: bool,
}

impl Maintenance {
    pub fn code(&self) -> String {
        format!("MW-{}", self.id)
    }
}

impl Store {
    pub async fn incident(&self, id: i64) -> anyhow::Result<Option<Incident>> {
        let row: Option<IncidentRow> =
            sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.map(incident).transpose()
    }

    /// The incident whose place is the channel `key` (a thread, `#inc-3`).
    pub async fn incident_in_channel(&self, key: &str) -> anyhow::Result<Option<Incident>> {
        let row: Option<IncidentRow> =
            sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE channel_key = $1 ORDER BY id DESC LIMIT 1"))
                .bind(key)
                .fetch_optional(self.pool())
                .await?;
        row.map(incident).transpose()
    }

    pub async fn incidents(&self, state: ListState, limit: i64) -> anyhow::Result<Vec<Incident>> {
        let filter = match state {
            ListState::Open => "WHERE resolved_ms IS NULL",
            ListState::Resolved => "WHERE resolved_ms IS NOT NULL",
            ListState::All => "",
        };
        let rows: Vec<IncidentRow> =
            sqlx::query_as(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents {filter} ORDER BY id DESC LIMIT $1"))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        rows.into_iter().map(incident).collect()
    }

    pub async fn timeline(&self, incident: i64) -> anyhow::Result<Vec<TimelineEntry>> {
        let rows: Vec<(i64, String, String, String)> =
            sqlx::query_as("SELECT at_ms, actor, kind, text FROM timeline WHERE incident_id = $1 ORDER BY id")
                .bind(incident)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(at, actor, kind, text)| TimelineEntry { at: from_millis(at), actor, kind, text }).collect())
    }

    pub async fn maintenance(&self, id: i64) -> anyhow::Result<Option<Maintenance>> {
        Ok(self.maintenance_where("WHERE id = $1", id).await?.pop())
    }

    /// Windows that have not ended by `now`, soonest first.
    pub async fn upcoming_maintenance(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<Maintenance>> {
        self.maintenance_where("WHERE end_ms > $1 AND cancelled_ms IS NULL", millis(now)).await
    }

    async fn maintenance_where(&self, filter: &str, value: i64) -> anyhow::Result<Vec<Maintenance>> {
        let rows: Vec<MaintenanceRow> = sqlx::query_as(&format!(
            "SELECT id, kind, summary, start_ms, end_ms, created_by, cancelled_ms FROM maintenance {filter} ORDER BY start_ms"
        ))
        .bind(value)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, summary, start, end, created_by, cancelled)| Maintenance {
                id,
                emergency: kind == "emergency",
                summary,
                start: from_millis(start),
                end: from_millis(end),
                created_by,
                cancelled: cancelled.is_some(),
            })
            .collect())
    }

    /// When the earliest pending timer is due, if any: the scheduler sleeps until then.
    pub async fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let due: Option<i64> = sqlx::query_scalar("SELECT MIN(due_ms) FROM timers WHERE fired_ms IS NULL AND cancelled_ms IS NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(due.map(from_millis))
    }

    /// Pending timers due by `now`, earliest first.
    pub async fn due_timers(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<Timer>> {
        let rows: Vec<TimerRow> = sqlx::query_as(
            "SELECT id, incident_id, maintenance_id, job, due_ms FROM timers
             WHERE fired_ms IS NULL AND cancelled_ms IS NULL AND due_ms <= $1 ORDER BY due_ms, id LIMIT $2",
        )
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(id, incident, maintenance, job, due)| {
                let owner = match (incident, maintenance) {
                    (Some(id), _) => Owner::Incident(id),
                    (None, Some(id)) => Owner::Maintenance(id),
                    (None, None) => anyhow::bail!("timer {id} belongs to nothing"),
                };
                let job: Job = serde_json::from_str(&job).with_context(|| format!("timer {id} has an unreadable job"))?;
                Ok(Timer { id, owner, job, due: from_millis(due) })
            })
            .collect()
    }

    /// Pending timers of an owner, for `/incident show` and the tests.
    pub async fn pending_timers(&self, owner: Owner) -> anyhow::Result<Vec<(String, DateTime<Utc>)>> {
        let (column, id) = match owner {
            Owner::Incident(id) => ("incident_id", id),
            Owner::Maintenance(id) => ("maintenance_id", id),
        };
        let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
            "SELECT kind, due_ms FROM timers WHERE {column} = $1 AND fired_ms IS NULL AND cancelled_ms IS NULL ORDER BY due_ms"
        ))
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(kind, due)| (kind, from_millis(due))).collect())
    }
}
