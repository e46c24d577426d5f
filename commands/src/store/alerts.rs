//! Alert state in the store: each transition claimed by one conditional UPDATE (two replicas on
//! one store: one wins), phases read back at start, inbound webhook alerts deduplicated.

use super::{millis, Store, Tx};
use crate::alerts::{Change, InboundAlert, Phase, RuleKind, Timing, Transition};
use anyhow::Context as _;
use chrono::{DateTime, Utc};

/// A transition this bellhop won: it announces it. `episode` counts the alert's firings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertClaim {
    pub episode: i64,
    /// The firing's id: its posts bind to the subject `alert:ID`.
    pub id: i64,
}

impl Store {
    /// Claims `transition` for this bellhop in a transaction of its own (see [`Tx::claim_alert`]).
    pub async fn claim_alert(&self, transition: &Transition, timing: &Timing) -> anyhow::Result<Option<AlertClaim>> {
        let mut tx = self.begin(transition.at).await?;
        let claim = tx.claim_alert(transition, timing).await?;
        tx.commit().await?;
        Ok(claim)
    }

    /// The figures of alert `id` (an episode): its last claimed transition.
    pub async fn alert_figures(&self, id: i64) -> anyhow::Result<Option<Transition>> {
        let figures: Option<String> = sqlx::query_scalar("SELECT figures FROM alert_episodes WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .context("cannot read an alert")?;
        figures.map(|f| serde_json::from_str(&f).context("an alert's figures do not read")).transpose()
    }

    /// Every alert announced as firing, with its phase, to hand back to the engine at start.
    pub async fn firing_alerts(&self) -> anyhow::Result<Vec<(RuleKind, String, Phase)>> {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT rule, function, phase FROM alert_states WHERE state = 'firing' ORDER BY rule, function")
                .fetch_all(self.pool())
                .await
                .context("cannot read the firing alerts")?;
        let mut firing = Vec::new();
        for (rule, function, phase) in rows {
            let kind = RuleKind::from_key(&rule).with_context(|| format!("unknown alert rule {rule} in the store"))?;
            let phase: Phase = serde_json::from_str(&phase).with_context(|| format!("the {rule} alert of {function}"))?;
            firing.push((kind, function, phase));
        }
        Ok(firing)
    }

    /// Keeps an alert from a webhook. True when it is new or changed (fired again, resolved);
    /// false for a repeat (a retry, a re-sent group), which must not be announced again.
    pub async fn record_inbound_alert(&self, alert: &InboundAlert, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO inbound_alerts (source, fingerprint, firing, name, summary, starts_ms, ends_ms, detail, received_ms, changed_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (source, fingerprint) DO UPDATE SET firing = excluded.firing, name = excluded.name,
                 summary = excluded.summary, starts_ms = excluded.starts_ms, ends_ms = excluded.ends_ms,
                 detail = excluded.detail, changed_ms = excluded.changed_ms
             WHERE inbound_alerts.firing <> excluded.firing OR inbound_alerts.starts_ms <> excluded.starts_ms",
        )
        .bind(alert.source.key())
        .bind(&alert.fingerprint)
        .bind(i64::from(alert.firing))
        .bind(&alert.name)
        .bind(&alert.summary)
        .bind(millis(alert.starts_at))
        .bind(alert.ends_at.map(millis))
        .bind(&alert.detail)
        .bind(millis(now))
        .execute(self.pool())
        .await
        .context("cannot store an inbound alert")?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether the inbound alert `fingerprint` of `source` is firing, as last stored.
    pub async fn inbound_alert_firing(&self, source: crate::alerts::Source, fingerprint: &str) -> anyhow::Result<Option<bool>> {
        let firing: Option<i64> = sqlx::query_scalar("SELECT firing FROM inbound_alerts WHERE source = $1 AND fingerprint = $2")
            .bind(source.key())
            .bind(fingerprint)
            .fetch_optional(self.pool())
            .await?;
        Ok(firing.map(|f| f != 0))
    }

    /// How many inbound alerts are stored.
    pub async fn inbound_alert_count(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM inbound_alerts").fetch_one(self.pool()).await?)
    }
}

impl Tx<'_> {
    /// Claims `transition` for this bellhop: `Some` for exactly one of several replicas that
    /// evaluated the same change, `None` when another got there first (or it is stale). The
    /// claim commits with whatever the caller queues in this transaction, so it is announced once.
    pub async fn claim_alert(&mut self, transition: &Transition, timing: &Timing) -> anyhow::Result<Option<AlertClaim>> {
        let rule = transition.rule.key();
        let function = transition.function.as_str();
        sqlx::query(
            "INSERT INTO alert_states (rule, function, state, episode, phase) VALUES ($1, $2, 'ok', 0, $3)
             ON CONFLICT (rule, function) DO NOTHING",
        )
        .bind(rule)
        .bind(function)
        .bind(serde_json::to_string(&Phase::Ok)?)
        .execute(&mut *self.conn())
        .await
        .context("cannot record an alert's state")?;
        let phase = serde_json::to_string(&transition.phase)?;
        let figures = serde_json::to_string(transition)?;
        let now = millis(transition.at);
        // A second of margin, so replicas evaluating a moment apart still agree a change is due.
        let due = |every: chrono::Duration| now - (every.num_milliseconds() - 1_000).max(0);
        let query = match transition.change {
            Change::Fired => sqlx::query_scalar(
                "UPDATE alert_states SET state = 'firing', episode = episode + 1, since_ms = $1, notified_ms = $2,
                     updated_ms = $2, resolved_ms = NULL, phase = $3, last_transition = $4
                 WHERE rule = $5 AND function = $6 AND state = 'ok'
                 RETURNING episode",
            )
            .bind(millis(transition.since)),
            Change::Updated => sqlx::query_scalar(
                "UPDATE alert_states SET updated_ms = $2, phase = $3, last_transition = $4
                 WHERE rule = $5 AND function = $6 AND state = 'firing' AND updated_ms <= $1
                 RETURNING episode",
            )
            .bind(due(timing.update_every)),
            Change::Renotified => sqlx::query_scalar(
                "UPDATE alert_states SET notified_ms = $2, updated_ms = $2, phase = $3, last_transition = $4
                 WHERE rule = $5 AND function = $6 AND state = 'firing' AND notified_ms <= $1
                 RETURNING episode",
            )
            .bind(due(timing.renotify_every)),
            Change::Resolved => sqlx::query_scalar(
                "UPDATE alert_states SET resolved_ms = $2, state = 'ok', phase = $3, last_transition = $4
                 WHERE rule = $5 AND function = $6 AND state = 'firing' AND since_ms IS NOT NULL AND $1 >= since_ms
                 RETURNING episode",
            )
            .bind(now),
        };
        let episode: Option<i64> = query
            .bind(now)
            .bind(phase)
            .bind(&figures)
            .bind(rule)
            .bind(function)
            .fetch_optional(&mut *self.conn())
            .await
            .with_context(|| format!("cannot claim the {rule} alert of {function}"))?;
        let Some(episode) = episode else { return Ok(None) };
        let id = self.alert_episode(transition, episode, &figures).await?;
        Ok(Some(AlertClaim { episode, id }))
    }

    /// The id of this firing of the alert (created when it fires), its figures brought up to date.
    async fn alert_episode(&mut self, transition: &Transition, episode: i64, figures: &str) -> anyhow::Result<i64> {
        let (rule, function) = (transition.rule.key(), transition.function.as_str());
        if transition.change == Change::Fired {
            return sqlx::query_scalar(
                "INSERT INTO alert_episodes (rule, function, episode, fired_ms, figures) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(rule)
            .bind(function)
            .bind(episode)
            .bind(millis(transition.at))
            .bind(figures)
            .fetch_one(&mut *self.conn())
            .await
            .context("cannot record an alert's firing");
        }
        // An alert that fired before episodes had ids gets one now, so its edits still land somewhere.
        let id: Option<i64> =
            sqlx::query_scalar("UPDATE alert_episodes SET figures = $1 WHERE rule = $2 AND function = $3 AND episode = $4 RETURNING id")
                .bind(figures)
                .bind(rule)
                .bind(function)
                .bind(episode)
                .fetch_optional(&mut *self.conn())
                .await
                .context("cannot update an alert's figures")?;
        match id {
            Some(id) => Ok(id),
            None => sqlx::query_scalar(
                "INSERT INTO alert_episodes (rule, function, episode, fired_ms, figures) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(rule)
            .bind(function)
            .bind(episode)
            .bind(millis(transition.since))
            .bind(figures)
            .fetch_one(&mut *self.conn())
            .await
            .context("cannot record an alert's firing"),
        }
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
