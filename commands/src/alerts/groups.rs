//! Webhook groups in the chat: a notification is kept at once (so the sender gets its answer),
//! and the loop gives each group one post — posted when it first fires, edited as its alerts
//! fire and resolve, resolved with a notice — each version claimed once in the store.

use super::announce::{alert_binding, alert_subject, tell_incidents};
use super::figures::AlertFigures;
use super::posts;
use super::webhook::{GroupFigures, Level, Notification};
use super::Alerting;
use super::Receipt;
use crate::outbox::{Binding, Op, Part};
use crate::post::{ChannelName, Destination};

impl Alerting<'_> {
    /// Keeps a webhook notification; its post follows from the next tick.
    pub async fn receive_webhook(&self, notification: &Notification) -> anyhow::Result<Receipt> {
        let receipt = self.store.receive_notification(notification, self.clock.now()).await?;
        crate::metrics::webhook_received(notification.source.key(), notification.alerts.len());
        Ok(receipt)
    }

    /// Announces every group with a change not yet announced; returns how many this replica did.
    /// One group failing holds back no other: its change stays waiting for the next tick.
    pub async fn announce_webhooks(&self) -> anyhow::Result<usize> {
        let mut done = 0;
        for (id, version) in self.store.pending_groups(50).await? {
            match self.announce_group(id, version).await {
                Ok(true) => {
                    crate::metrics::alert_announced("webhook");
                    done += 1;
                }
                Ok(false) => {}
                Err(error) => tracing::error!(group = id, error = format!("{error:#}"), "cannot announce a webhook group"),
            }
        }
        Ok(done)
    }

    async fn announce_group(&self, id: i64, version: i64) -> anyhow::Result<bool> {
        let now = self.clock.now();
        // Read before the transaction: with SQLite it holds the store's one connection.
        let held = self.store.upcoming_maintenance(now).await?.into_iter().any(|w| w.start <= now);
        let mut tx = self.store.begin(now).await?;
        if !tx.claim_group(id, version).await? {
            tx.commit().await?;
            return Ok(false);
        }
        let group = tx.group(id).await?;
        let settings = &self.duty.engine.settings().webhooks;
        let level = settings.group_level(&group.figures);
        let figures = &group.figures;
        let stored = AlertFigures::Webhook(figures.clone());
        // During maintenance the group is posted and edited, but nobody is paged.
        let pings = |level: Level| if held { Vec::new() } else { settings.pings(level) };
        let ops_channel = Destination::Channel { channel: ChannelName::Ops };
        let mut ops = Vec::new();
        match (group.alert_id, level) {
            (None, None) => tracing::info!(group = id, "a group resolved that bellhop never saw firing; nothing to say"),
            (None, Some(level)) => {
                let alert = tx.open_alert(figures.source.key(), &figures.group_key, &stored, None).await?;
                tx.set_alert_level(alert, level.as_str()).await?;
                tx.set_group_alert(id, Some(alert)).await?;
                let post =
                    pings(level).into_iter().fold(posts::group_post(figures, alert, Some(level), settings, now), |p, ping| p.ping(ping));
                ops.push(Op::Post { to: ops_channel, post, bind: Some(alert_binding(alert)) });
            }
            (Some(alert), Some(level)) => {
                let (old_level, old_figures) = tx.alert_level(alert).await?;
                tx.update_alert(alert, &stored, None, false).await?;
                ops.push(Op::Edit { of: alert_binding(alert), post: posts::group_post(figures, alert, Some(level), settings, now) });
                if old_level.as_deref().and_then(Level::from_key).is_some_and(|old| level > old) {
                    tx.set_alert_level(alert, level.as_str()).await?;
                    let notice = pings(level).into_iter().fold(posts::group_escalated(figures, alert, level), |p, ping| p.ping(ping));
                    ops.push(Op::post(ops_channel, notice));
                }
                let (fired, resolved) = changes(old_figures.as_deref(), figures);
                let line = posts::group_thread_line(figures, alert, &fired, &resolved, None);
                let linked = tx.incidents_from_alert(alert).await?;
                tell_incidents(&mut tx, &linked, line, |_| {}).await?;
            }
            (Some(alert), None) => {
                let fired = tx.alert_fired(alert).await?;
                let (_, before) = tx.alert_level(alert).await?;
                tx.update_alert(alert, &stored, None, true).await?;
                tx.set_group_alert(id, None).await?;
                // The sender's own start and end times, when it gave them: bellhop posts late
                // when it was down (or the alert is old), and hears of the end only when the next
                // notification comes.
                let lasted = figures.lasted(fired, &shown_before(before.as_deref())).unwrap_or(now - fired);
                ops.push(Op::Edit { of: alert_binding(alert), post: posts::group_post(figures, alert, None, settings, now) });
                let notice = posts::group_resolve_notice(figures, alert, lasted);
                ops.push(Op::Post { to: ops_channel, post: notice, bind: Some(Binding::new(alert_subject(alert), Part::Resolved)) });
                let line = posts::group_thread_line(figures, alert, &[], &[], Some(lasted));
                let linked = tx.incidents_from_alert(alert).await?;
                tell_incidents(&mut tx, &linked, line, |_| {}).await?;
            }
        }
        for op in &ops {
            tx.enqueue(op).await?;
        }
        tx.commit().await?;
        tracing::info!(group = id, version, level = level.map(Level::as_str), "webhook group announced");
        Ok(true)
    }
}

/// The group's alerts as its post last showed them (stored with the alert).
fn shown_before(before: Option<&str>) -> Vec<super::WebhookAlert> {
    match before.and_then(|text| serde_json::from_str::<AlertFigures>(text).ok()) {
        Some(AlertFigures::Webhook(group)) => group.alerts,
        _ => Vec::new(),
    }
}

/// The alerts (by name) that fired and resolved between the group's last post and now.
fn changes(before: Option<&str>, now: &GroupFigures) -> (Vec<String>, Vec<String>) {
    let before = shown_before(before);
    let was_firing = |fingerprint: &str| before.iter().any(|a| a.fingerprint == fingerprint && a.firing);
    let fired = now.alerts.iter().filter(|a| a.firing && !was_firing(&a.fingerprint)).map(|a| a.name.clone()).collect();
    let resolved = now.alerts.iter().filter(|a| !a.firing && was_firing(&a.fingerprint)).map(|a| a.name.clone()).collect();
    (fired, resolved)
}
