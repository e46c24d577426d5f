//! Alerts in the store: each function's state claimed by version (two evaluators: one wins),
//! alerts (one row per post) with their figures and peaks, and the incidents declared from them.

use super::{AlertFigures, Peak, Series};
use crate::store::{from_millis, millis, Store, Tx};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

/// Where an alert came from: bellhop's own rules, or a webhook's sender.
pub const ORIGIN_RULES: &str = "rules";
/// Alerts of the first shape (one per rule and function), closed by the first evaluation.
pub const ORIGIN_LEGACY: &str = "legacy";

/// An alert as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertRow {
    pub id: i64,
    pub origin: String,
    pub fired: DateTime<Utc>,
    pub resolved: Option<DateTime<Utc>>,
    pub figures: AlertFigures,
    pub peak: Option<Peak>,
}

/// An alert's row as the store holds it.
#[derive(sqlx::FromRow)]
struct AlertRecord {
    id: i64,
    origin: String,
    fired_ms: i64,
    resolved_ms: Option<i64>,
    figures: String,
    peak: Option<String>,
}

/// An open incident declared from an alert, with the worst figures it has heard since.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedIncident {
    pub id: i64,
    pub peak: Option<Peak>,
}

impl Store {
    /// Alert `id`, when there is one whose figures read (alerts of the first shape do not).
    pub async fn alert(&self, id: i64) -> anyhow::Result<Option<AlertRow>> {
        let row: Option<AlertRecord> = sqlx::query_as("SELECT id, origin, fired_ms, resolved_ms, figures, peak FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("cannot read an alert")?;
        let Some(row) = row else { return Ok(None) };
        let Ok(figures) = serde_json::from_str::<AlertFigures>(&row.figures) else { return Ok(None) };
        let peak = row.peak.map(|p| serde_json::from_str(&p)).transpose().context("an alert's peak does not read")?;
        Ok(Some(AlertRow {
            id: row.id,
            origin: row.origin,
            fired: from_millis(row.fired_ms),
            resolved: row.resolved_ms.map(from_millis),
            figures,
            peak,
        }))
    }

    /// Every function's stored state, for a replica that starts judging the alerts.
    pub async fn alert_series(&self) -> anyhow::Result<Vec<(String, Series)>> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as("SELECT function, version, series FROM alert_series")
            .fetch_all(self.pool())
            .await
            .context("cannot read the alerts' state")?;
        rows.into_iter().map(|(function, version, series)| Ok((function, read_series(version, &series)?))).collect()
    }

    /// One function's stored state (the default when none is stored).
    pub async fn alert_series_of(&self, function: &str) -> anyhow::Result<Series> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT version, series FROM alert_series WHERE function = $1")
            .bind(function)
            .fetch_optional(self.pool())
            .await
            .context("cannot read an alert's state")?;
        row.map_or(Ok(Series::default()), |(version, series)| read_series(version, &series))
    }

    /// What incident `id` was declared from: the alert's figures then, and the worst since.
    pub async fn incident_alert(&self, id: i64) -> anyhow::Result<Option<(AlertFigures, Option<Peak>)>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT alert_figures, alert_peak FROM incidents WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        let Some((Some(figures), peak)) = row else { return Ok(None) };
        let figures = serde_json::from_str(&figures).context("an incident's alert figures do not read")?;
        let peak = peak.map(|p| serde_json::from_str(&p)).transpose().context("an incident's alert peak does not read")?;
        Ok(Some((figures, peak)))
    }

    /// Alerts of the first shape still open, with their ids.
    pub async fn open_legacy_alerts(&self) -> anyhow::Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM alerts WHERE origin = $1 AND resolved_ms IS NULL ORDER BY id")
            .bind(ORIGIN_LEGACY)
            .fetch_all(self.pool())
            .await?)
    }
}

fn read_series(version: i64, text: &str) -> anyhow::Result<Series> {
    let mut series: Series = serde_json::from_str(text).context("an alert's state does not read")?;
    series.version = version;
    Ok(series)
}

impl Tx<'_> {
    /// Claims a function's change: the state moves from `expected` to the next version only if
    /// no other evaluator moved it first. Returns the new version, or `None` when it lost.
    pub async fn claim_series(&mut self, function: &str, expected: i64, next: &Series) -> anyhow::Result<Option<i64>> {
        let text = serde_json::to_string(next)?;
        let alert_id = next.open.as_ref().map(|o| o.id).filter(|id| *id > 0);
        if expected == 0 {
            let done = sqlx::query(
                "INSERT INTO alert_series (function, version, series, alert_id) VALUES ($1, 1, $2, $3) ON CONFLICT (function) DO NOTHING",
            )
            .bind(function)
            .bind(&text)
            .bind(alert_id)
            .execute(&mut *self.conn())
            .await
            .context("cannot claim an alert")?;
            return Ok((done.rows_affected() == 1).then_some(1));
        }
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE alert_series SET version = version + 1, series = $1, alert_id = $2 WHERE function = $3 AND version = $4 RETURNING version",
        )
        .bind(&text)
        .bind(alert_id)
        .bind(function)
        .bind(expected)
        .fetch_optional(&mut *self.conn())
        .await
        .context("cannot claim an alert")?;
        Ok(version)
    }

    /// Rewrites a claimed function's state without a new version (its new alert's id filled in).
    pub async fn set_series(&mut self, function: &str, series: &Series) -> anyhow::Result<()> {
        sqlx::query("UPDATE alert_series SET series = $1, alert_id = $2 WHERE function = $3")
            .bind(serde_json::to_string(series)?)
            .bind(series.open.as_ref().map(|o| o.id))
            .bind(function)
            .execute(&mut *self.conn())
            .await?;
        Ok(())
    }

    /// Opens an alert: a new post's subject.
    pub async fn open_alert(&mut self, origin: &str, key: &str, figures: &AlertFigures, peak: Option<&Peak>) -> anyhow::Result<i64> {
        sqlx::query_scalar("INSERT INTO alerts (origin, subject_key, fired_ms, figures, peak) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(origin)
            .bind(key)
            .bind(millis(self.now()))
            .bind(serde_json::to_string(figures)?)
            .bind(peak.map(serde_json::to_string).transpose()?)
            .fetch_one(&mut *self.conn())
            .await
            .with_context(|| format!("cannot open an alert for {key}"))
    }

    /// Brings an alert's figures up to date; `resolved` closes it.
    pub async fn update_alert(&mut self, id: i64, figures: &AlertFigures, peak: Option<&Peak>, resolved: bool) -> anyhow::Result<()> {
        sqlx::query("UPDATE alerts SET figures = $1, peak = COALESCE($2, peak), resolved_ms = CASE WHEN $3 = 1 THEN $4 ELSE resolved_ms END WHERE id = $5")
            .bind(serde_json::to_string(figures)?)
            .bind(peak.map(serde_json::to_string).transpose()?)
            .bind(i64::from(resolved))
            .bind(millis(self.now()))
            .bind(id)
            .execute(&mut *self.conn())
            .await
            .context("cannot update an alert")?;
        Ok(())
    }

    /// When alert `id` was opened.
    pub async fn alert_fired(&mut self, id: i64) -> anyhow::Result<DateTime<Utc>> {
        let fired: i64 = sqlx::query_scalar("SELECT fired_ms FROM alerts WHERE id = $1").bind(id).fetch_one(&mut *self.conn()).await?;
        Ok(from_millis(fired))
    }

    /// Closes an alert of the first shape; false when it was closed already.
    pub async fn close_legacy_alert(&mut self, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE alerts SET resolved_ms = $1 WHERE id = $2 AND origin = $3 AND resolved_ms IS NULL")
            .bind(millis(self.now()))
            .bind(id)
            .bind(ORIGIN_LEGACY)
            .execute(&mut *self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The open incidents declared from alert `id`.
    pub async fn incidents_from_alert(&mut self, id: i64) -> anyhow::Result<Vec<LinkedIncident>> {
        let rows: Vec<(i64, Option<String>)> =
            sqlx::query_as("SELECT id, alert_peak FROM incidents WHERE alert_id = $1 AND resolved_ms IS NULL ORDER BY id")
                .bind(id)
                .fetch_all(&mut *self.conn())
                .await?;
        rows.into_iter().map(|(id, peak)| Ok(LinkedIncident { id, peak: peak.map(|p| serde_json::from_str(&p)).transpose()? })).collect()
    }

    /// Keeps the worst figures an incident's alert reached since it was declared.
    pub async fn set_incident_peak(&mut self, incident: i64, peak: &Peak) -> anyhow::Result<()> {
        sqlx::query("UPDATE incidents SET alert_peak = $1 WHERE id = $2")
            .bind(serde_json::to_string(peak)?)
            .bind(incident)
            .execute(&mut *self.conn())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
