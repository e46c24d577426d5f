//! The incident tables as the incident feature reads and writes them: incidents with their
//! place, and their timelines. (The store holds the connection and the transactions; what a
//! feature's rows mean is the feature's.)

use super::{Incident, ListState, Severity, TimelineEntry, TimelineKind};
use crate::actor::Person;
use crate::store::{from_millis, millis, Store, Tx};
use sqlx::any::AnyRow;
use sqlx::Row as _;

const INCIDENT_COLUMNS: &str =
    "incidents.id, severity, title, impact, affected, commander_id, commander, declared_by_id, declared_by, declared_ms,
     acked_ms, acked_by_id, acked_by, resolved_ms, root_cause, alert_id, places.channel_key, kind";
const INCIDENT_FROM: &str = "incidents LEFT JOIN places ON places.subject = 'incident:' || incidents.id";

fn incident(row: &AnyRow) -> anyhow::Result<Incident> {
    let id: i64 = row.try_get("id")?;
    let person = |id: &str, name: &str| -> anyhow::Result<Person> { Ok(Person { id: row.try_get(id)?, name: row.try_get(name)? }) };
    let acked = match (row.try_get::<Option<i64>, _>("acked_ms")?, row.try_get::<Option<String>, _>("acked_by_id")?) {
        (Some(at), Some(by)) => {
            Some((from_millis(at), Person { id: by, name: row.try_get::<Option<String>, _>("acked_by")?.unwrap_or_default() }))
        }
        _ => None,
    };
    Ok(Incident {
        id,
        severity: row.try_get::<String, _>("severity")?.parse::<Severity>().map_err(|e| anyhow::anyhow!("incident {id}: {e}"))?,
        title: row.try_get("title")?,
        impact: row.try_get("impact")?,
        affected: row.try_get("affected")?,
        commander: person("commander_id", "commander")?,
        declared_by: person("declared_by_id", "declared_by")?,
        declared: from_millis(row.try_get("declared_ms")?),
        acked,
        resolved: row.try_get::<Option<i64>, _>("resolved_ms")?.map(from_millis),
        root_cause: row.try_get("root_cause")?,
        alert_id: row.try_get("alert_id")?,
        channel_key: row.try_get("channel_key")?,
        kind: row.try_get::<String, _>("kind")?.parse().unwrap_or_default(),
    })
}

impl Store {
    pub async fn incident(&self, id: i64) -> anyhow::Result<Option<Incident>> {
        let row = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM {INCIDENT_FROM} WHERE incidents.id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(incident).transpose()
    }

    /// The incident whose place is the channel `key` (a thread, `#inc-3`).
    pub async fn incident_in_channel(&self, key: &str) -> anyhow::Result<Option<Incident>> {
        let subjects = self.subjects_in(key).await?;
        match subjects.into_iter().find(|s| s.kind == crate::subject::SubjectKind::Incident) {
            Some(subject) => self.incident(subject.id).await,
            None => Ok(None),
        }
    }

    pub async fn incidents(&self, state: ListState, limit: i64) -> anyhow::Result<Vec<Incident>> {
        let filter = match state {
            ListState::Open => "WHERE resolved_ms IS NULL",
            ListState::Resolved => "WHERE resolved_ms IS NOT NULL",
            ListState::All => "",
        };
        let rows = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM {INCIDENT_FROM} {filter} ORDER BY incidents.id DESC LIMIT $1"))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(incident).collect()
    }

    pub async fn timeline(&self, incident: i64) -> anyhow::Result<Vec<TimelineEntry>> {
        let rows: Vec<(i64, String, String, String, String)> =
            sqlx::query_as("SELECT at_ms, actor_id, actor, kind, text FROM timeline WHERE incident_id = $1 ORDER BY id")
                .bind(incident)
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(at, id, name, kind, text)| {
                let kind = kind.parse().map_err(|_| anyhow::anyhow!("unknown timeline kind `{kind}`"))?;
                Ok(TimelineEntry { at: from_millis(at), actor: Person { id, name }, kind, text })
            })
            .collect()
    }
}

impl Tx<'_> {
    pub async fn timeline(&mut self, incident: i64, actor: &Person, kind: TimelineKind, text: &str) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO timeline (incident_id, at_ms, actor, actor_id, kind, text) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(incident)
            .bind(millis(self.now()))
            .bind(&actor.name)
            .bind(&actor.id)
            .bind(kind.as_str())
            .bind(text)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
