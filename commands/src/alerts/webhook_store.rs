//! Webhook notification groups: each notification folded into its group in one transaction (a
//! change bumps the group's version), and each version announced once, by whoever claims it.

use super::{GroupFigures, Notification, Source, WebhookAlert, MAX_ALERTS};
use crate::store::{from_millis, millis, Store, Tx};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What became of a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub group: i64,
    /// The notification's alerts, and how many of them the group keeps (at most
    /// [`MAX_ALERTS`](super::MAX_ALERTS) a group).
    pub alerts: usize,
    pub kept: usize,
    /// Whether the group changed (a retry, or a repeat of the same content, changes nothing).
    pub changed: bool,
}

/// A group as stored, with its alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    pub id: i64,
    pub figures: GroupFigures,
    /// Its open alert (the post), if it has one.
    pub alert_id: Option<i64>,
    pub received: DateTime<Utc>,
}

/// What the group row keeps besides its alerts.
#[derive(Serialize, Deserialize)]
struct Detail {
    receiver: String,
    common_labels: std::collections::BTreeMap<String, String>,
    external_url: String,
    truncated: u64,
}

impl Store {
    /// Folds a notification into its group: alerts added or changed, and (when the sender listed
    /// the whole group) alerts no longer listed marked resolved. All or nothing.
    pub async fn receive_notification(&self, notification: &Notification, now: DateTime<Utc>) -> anyhow::Result<Receipt> {
        let mut tx = self.begin(now).await?;
        let receipt = tx.receive_notification(notification).await?;
        tx.commit().await?;
        Ok(receipt)
    }

    /// Groups with a version not yet announced, oldest first: (id, version).
    pub async fn pending_groups(&self, limit: i64) -> anyhow::Result<Vec<(i64, i64)>> {
        Ok(sqlx::query_as("SELECT id, version FROM webhook_groups WHERE announced < version ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    /// Whether any group waits to be announced.
    pub async fn groups_waiting(&self) -> anyhow::Result<bool> {
        Ok(!self.pending_groups(1).await?.is_empty())
    }
}

impl Tx<'_> {
    async fn receive_notification(&mut self, n: &Notification) -> anyhow::Result<Receipt> {
        let now = millis(self.now());
        let detail_with = |truncated: u64| {
            serde_json::to_string(&Detail {
                receiver: n.receiver.clone(),
                common_labels: n.common_labels.clone(),
                external_url: n.external_url.clone(),
                truncated,
            })
        };
        let detail = detail_with(n.truncated)?;
        // Look first, insert only a new group: an upsert would use up a sequence number on every
        // repeat, and group numbers are shown to whoever sends.
        let (group, old_digest) = match self.find_group(n).await? {
            Some((group, digest)) => {
                sqlx::query("UPDATE webhook_groups SET received_ms = $1 WHERE id = $2")
                    .bind(now)
                    .bind(group)
                    .execute(&mut *self.conn())
                    .await?;
                (group, digest)
            }
            None => {
                let inserted: Option<i64> = sqlx::query_scalar(
                    "INSERT INTO webhook_groups (source, group_key, detail, digest, version, announced, received_ms) VALUES ($1, $2, $3, '', 0, 0, $4)
                     ON CONFLICT (source, group_key) DO NOTHING RETURNING id",
                )
                .bind(n.source.key())
                .bind(&n.group_key)
                .bind(&detail)
                .bind(now)
                .fetch_optional(&mut *self.conn())
                .await
                .context("cannot store a webhook group")?;
                match inserted {
                    Some(group) => (group, String::new()),
                    // Another replica stored it between the look and the insert.
                    None => self.find_group(n).await?.context("a webhook group vanished as it was stored")?,
                }
            }
        };
        let mut alerts = self.group_alerts(group).await?;
        for alert in &n.alerts {
            match alerts.iter_mut().find(|a| a.fingerprint == alert.fingerprint) {
                Some(known) => *known = alert.clone(),
                None => alerts.push(alert.clone()),
            }
        }
        // Alertmanager and Grafana send the whole group each time: one no longer listed ended.
        if n.truncated == 0 {
            for alert in alerts.iter_mut().filter(|a| a.firing && !n.alerts.iter().any(|b| b.fingerprint == a.fingerprint)) {
                alert.firing = false;
                alert.ends_at = Some(self.now());
            }
        }
        // A group keeps its firing alerts and its newest resolved ones, within MAX_ALERTS; the
        // firing ones beyond are counted with those the sender left out, so the post says so.
        alerts.sort_by_key(|a| (!a.firing, std::cmp::Reverse(a.ends_at.unwrap_or(a.starts_at))));
        let beyond = alerts.split_off(MAX_ALERTS.min(alerts.len()));
        let unkept = n.truncated + beyond.iter().filter(|a| a.firing).count() as u64;
        let kept = n.alerts.iter().filter(|a| alerts.iter().any(|k| k.fingerprint == a.fingerprint)).count();
        let detail = detail_with(unkept)?;
        let digest = digest(&alerts, unkept)?;
        sqlx::query("DELETE FROM webhook_alerts WHERE group_id = $1").bind(group).execute(&mut *self.conn()).await?;
        for alert in &alerts {
            sqlx::query("INSERT INTO webhook_alerts (group_id, fingerprint, firing, alert, changed_ms) VALUES ($1, $2, $3, $4, $5)")
                .bind(group)
                .bind(&alert.fingerprint)
                .bind(i64::from(alert.firing))
                .bind(serde_json::to_string(alert)?)
                .bind(now)
                .execute(&mut *self.conn())
                .await
                .context("cannot store a webhook alert")?;
        }
        let changed = digest != old_digest;
        if changed {
            sqlx::query("UPDATE webhook_groups SET digest = $1, detail = $2, version = version + 1 WHERE id = $3")
                .bind(&digest)
                .bind(&detail)
                .bind(group)
                .execute(&mut *self.conn())
                .await?;
        }
        Ok(Receipt { group, alerts: n.alerts.len(), kept, changed })
    }

    async fn find_group(&mut self, n: &Notification) -> anyhow::Result<Option<(i64, String)>> {
        Ok(sqlx::query_as("SELECT id, digest FROM webhook_groups WHERE source = $1 AND group_key = $2")
            .bind(n.source.key())
            .bind(&n.group_key)
            .fetch_optional(&mut *self.conn())
            .await?)
    }

    async fn group_alerts(&mut self, group: i64) -> anyhow::Result<Vec<WebhookAlert>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT alert FROM webhook_alerts WHERE group_id = $1 ORDER BY firing DESC, fingerprint")
                .bind(group)
                .fetch_all(&mut *self.conn())
                .await?;
        rows.iter().map(|text| serde_json::from_str(text).context("a stored webhook alert does not read")).collect()
    }

    /// Claims version `version` of group `id` for announcing: true for exactly one caller.
    pub async fn claim_group(&mut self, id: i64, version: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE webhook_groups SET announced = $1 WHERE id = $2 AND announced < $1")
            .bind(version)
            .bind(id)
            .execute(&mut *self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The group and its alerts.
    pub async fn group(&mut self, id: i64) -> anyhow::Result<GroupRow> {
        let (source, group_key, detail, alert_id, received): (String, String, String, Option<i64>, i64) =
            sqlx::query_as("SELECT source, group_key, detail, alert_id, received_ms FROM webhook_groups WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.conn())
                .await
                .context("cannot read a webhook group")?;
        let source = match source.as_str() {
            "grafana" => Source::Grafana,
            "alertmanager" => Source::Alertmanager,
            other => anyhow::bail!("webhook group {id} has an unknown source `{other}`"),
        };
        let detail: Detail = serde_json::from_str(&detail).context("a webhook group does not read")?;
        let alerts = self.group_alerts(id).await?;
        let figures = GroupFigures {
            source,
            group_key,
            receiver: detail.receiver,
            common_labels: detail.common_labels,
            external_url: detail.external_url,
            truncated: detail.truncated,
            alerts,
        };
        Ok(GroupRow { id, figures, alert_id, received: from_millis(received) })
    }

    /// The group's open alert, or none once it resolved.
    pub async fn set_group_alert(&mut self, id: i64, alert: Option<i64>) -> anyhow::Result<()> {
        sqlx::query("UPDATE webhook_groups SET alert_id = $1, edited_ms = $2 WHERE id = $3")
            .bind(alert)
            .bind(millis(self.now()))
            .bind(id)
            .execute(&mut *self.conn())
            .await?;
        Ok(())
    }

    /// The level an alert's people were pinged for, and the alert's figures before this change.
    pub async fn alert_level(&mut self, id: i64) -> anyhow::Result<(Option<String>, Option<String>)> {
        let row: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT level, figures FROM alerts WHERE id = $1").bind(id).fetch_optional(&mut *self.conn()).await?;
        Ok(row.map_or((None, None), |(level, figures)| (level, Some(figures))))
    }

    pub async fn set_alert_level(&mut self, id: i64, level: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE alerts SET level = $1 WHERE id = $2").bind(level).bind(id).execute(&mut *self.conn()).await?;
        Ok(())
    }
}

/// The content of a group that its post shows: a change of any of it is a new version.
fn digest(alerts: &[WebhookAlert], truncated: u64) -> anyhow::Result<String> {
    let mut sorted: Vec<&WebhookAlert> = alerts.iter().collect();
    sorted.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    let text = serde_json::to_string(&(sorted, truncated))?;
    Ok(hex::encode(Sha256::digest(text.as_bytes())))
}
