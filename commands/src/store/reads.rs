//! What the core reads back: due timers, maintenance windows.

use super::{from_millis, millis, Store};
use crate::subject::Subject;
use crate::timers::{Job, Timer};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

type MaintenanceRow = (i64, String, String, i64, i64, String, Option<i64>);
type TimerRow = (i64, String, String, i64, i64);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maintenance {
    pub id: i64,
    pub kind: MaintenanceKind,
    pub summary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created_by: String,
    pub cancelled: bool,
}

/// The runbook's two kinds of window: announced ahead with reminders, or starting now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "lowercase")]
pub enum MaintenanceKind {
    Scheduled,
    Emergency,
}

impl Maintenance {
    pub fn code(&self) -> String {
        format!("MW-{}", self.id)
    }
}

impl Store {
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
        rows.into_iter()
            .map(|(id, kind, summary, start, end, created_by, cancelled)| {
                Ok(Maintenance {
                    id,
                    kind: kind.parse().map_err(|_| anyhow::anyhow!("unknown maintenance kind `{kind}`"))?,
                    summary,
                    start: from_millis(start),
                    end: from_millis(end),
                    created_by,
                    cancelled: cancelled.is_some(),
                })
            })
            .collect()
    }

    /// When the earliest pending timer is due (or due again after a failure), if any.
    pub async fn next_due(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let due: Option<i64> =
            sqlx::query_scalar(&format!("SELECT MIN({DUE_AT}) FROM timers WHERE fired_ms IS NULL AND cancelled_ms IS NULL"))
                .fetch_one(self.pool())
                .await?;
        Ok(due.map(from_millis))
    }

    /// Pending timers due by `now`, earliest first. A timer whose job no longer reads is given
    /// up on its own (with its reason), never blocking the others.
    pub async fn due_timers(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<Timer>> {
        let rows: Vec<TimerRow> = sqlx::query_as(&format!(
            "SELECT id, owner, job, due_ms, attempts FROM timers
             WHERE fired_ms IS NULL AND cancelled_ms IS NULL AND {DUE_AT} <= $1 ORDER BY {DUE_AT}, id LIMIT $2"
        ))
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let mut timers = Vec::new();
        for (id, owner, job, due, attempts) in rows {
            let read = owner.parse::<Subject>().map_err(anyhow::Error::msg).and_then(|owner| {
                let job: Job = serde_json::from_str(&job).with_context(|| format!("timer {id} has an unreadable job"))?;
                Ok(Timer { id, owner, job, due: from_millis(due), attempts })
            });
            match read {
                Ok(timer) => timers.push(timer),
                Err(error) => self.give_up_timer(id, now, &format!("{error:#}")).await?,
            }
        }
        Ok(timers)
    }

    /// Pending timers of an owner, for `/incident show` and the tests.
    pub async fn pending_timers(&self, owner: Subject) -> anyhow::Result<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT kind, due_ms FROM timers WHERE owner = $1 AND fired_ms IS NULL AND cancelled_ms IS NULL ORDER BY due_ms",
        )
        .bind(owner.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(kind, due)| (kind, from_millis(due))).collect())
    }

    /// A timer that failed to fire tries again at `retry`, on its own.
    pub async fn timer_failed(&self, id: i64, retry: DateTime<Utc>, error: &str) -> anyhow::Result<i64> {
        sqlx::query("UPDATE timers SET attempts = attempts + 1, retry_ms = $1, last_error = $2 WHERE id = $3")
            .bind(millis(retry))
            .bind(crate::text::ellipsize(error, 500))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(sqlx::query_scalar("SELECT attempts FROM timers WHERE id = $1").bind(id).fetch_one(self.pool()).await?)
    }

    /// Gives a timer up for good, keeping the reason.
    pub async fn give_up_timer(&self, id: i64, now: DateTime<Utc>, reason: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE timers SET cancelled_ms = $1, last_error = $2 WHERE id = $3 AND fired_ms IS NULL")
            .bind(millis(now))
            .bind(crate::text::ellipsize(&format!("given up: {reason}"), 500))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// When a pending timer may run: its due time, or its retry after a failure.
const DUE_AT: &str = "COALESCE(retry_ms, due_ms)";
