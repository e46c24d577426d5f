//! A function's alert in the chat: each change claimed in the store in the transaction that
//! queues its post, its edit or its resolve, so it is said once however many replicas judge it;
//! incidents declared from the alert hear its changes in their threads.

use super::engine::{Change, Proposal};
use super::figures::{AlertFigures, Peak};
use super::posts;
use super::Alerting;
use super::ORIGIN_RULES;
use crate::outbox::{Binding, Op, Part};
use crate::post::{ChannelName, Destination, Post};
use crate::store::{Maintenance, Tx};
use crate::subject::{Subject, SubjectKind};
use chrono::{DateTime, Utc};

/// The alert's subject: one firing of one function, or of one webhook group.
pub fn alert_subject(id: i64) -> Subject {
    Subject { kind: SubjectKind::Alert, id }
}

/// The alert's own post, edited as it changes.
pub(crate) fn alert_binding(id: i64) -> Binding {
    Binding::new(alert_subject(id), Part::Alert)
}

fn ops_channel() -> Destination {
    Destination::Channel { channel: ChannelName::Ops }
}

impl Alerting<'_> {
    /// Claims and queues one proposal. `Some((version, alert id))` when this replica won it,
    /// `None` when another did.
    pub(super) async fn announce(&self, proposal: &Proposal, window: Option<&Maintenance>) -> anyhow::Result<Option<(i64, i64)>> {
        let figures = &proposal.figures;
        let mut tx = self.store.begin(figures.at).await?;
        let mut next = proposal.next.clone();
        let Some(version) = tx.claim_series(&proposal.function, proposal.next.version, &next).await? else { return Ok(None) };
        let stored = AlertFigures::Function(figures.clone());
        let peak = next.open.as_ref().or(proposal.before.as_ref()).map(|o| o.peak.clone()).unwrap_or_default();
        let id = match (next.open.is_some(), &proposal.before) {
            (true, None) => {
                let id = tx.open_alert(ORIGIN_RULES, &proposal.function, &stored, Some(&peak)).await?;
                if let Some(open) = &mut next.open {
                    open.id = id;
                }
                tx.set_series(&proposal.function, &next).await?;
                id
            }
            (_, Some(before)) => {
                tx.update_alert(before.id, &stored, Some(&peak), proposal.change == Change::Resolved).await?;
                before.id
            }
            (false, None) => anyhow::bail!("a {} change of {} with no alert", proposal.change.key(), proposal.function),
        };
        let linked = tx.incidents_from_alert(id).await?;
        // Which deploy broke it: the function's last version before the alert started, when it
        // went out shortly before; a later one (the fix, a rollback) does not hide it.
        let deploy = tx.deploy_before(&proposal.function, figures.since).await?.and_then(|d| d.blamed(figures.since, "this alert"));
        let deploy = deploy.as_deref();
        let ops = match proposal.change {
            Change::Fired => {
                let mut post = posts::function_firing(figures, id, window, deploy);
                if let (None, Some(on_call)) = (window, self.on_call) {
                    post = post.ping(on_call.clone());
                }
                vec![Op::Post { to: ops_channel(), post, bind: Some(alert_binding(id)) }]
            }
            // Held during maintenance: said once when it fired, not edited again.
            Change::Updated if window.is_some() => Vec::new(),
            Change::Updated => vec![Op::Edit { of: alert_binding(id), post: posts::function_firing(figures, id, None, deploy) }],
            // An incident is the place for an alert someone took on; maintenance holds it.
            Change::Reminded if !linked.is_empty() || window.is_some() => Vec::new(),
            Change::Reminded => vec![Op::post(ops_channel(), posts::function_reminder(figures, id))],
            Change::Resolved => vec![
                Op::Edit { of: alert_binding(id), post: posts::function_resolved(figures, id, &peak) },
                Op::Post {
                    to: ops_channel(),
                    post: posts::function_resolve_notice(figures, id, &peak),
                    bind: Some(Binding::new(alert_subject(id), Part::Resolved)),
                },
            ],
        };
        for op in &ops {
            tx.enqueue(op).await?;
        }
        let line = posts::function_thread_line(figures, id, &proposal.started, &proposal.cleared, proposal.change == Change::Resolved);
        tell_incidents(&mut tx, &linked, line, |peak| peak.take(figures)).await?;
        tx.commit().await?;
        tracing::info!(alert = id, function = proposal.function, change = proposal.change.key(), "alert announced");
        Ok(Some((version, id)))
    }

    /// Alerts of the first shape (one per rule) still open when this bellhop took over: their
    /// posts say they are superseded, and the function's new alert follows if it still fails.
    pub(super) async fn close_legacy_alerts(&self, now: DateTime<Utc>) {
        let ids = match self.store.open_legacy_alerts().await {
            Ok(ids) => ids,
            Err(error) => return tracing::warn!(error = format!("{error:#}"), "cannot read the alerts of the first shape"),
        };
        for id in ids {
            let closed = async {
                let mut tx = self.store.begin(now).await?;
                if tx.close_legacy_alert(id).await? {
                    let post = posts::superseded(id);
                    tx.enqueue(&Op::Edit { of: alert_binding(id), post }).await?;
                }
                tx.commit().await
            };
            if let Err(error) = closed.await {
                tracing::warn!(alert = id, error = format!("{error:#}"), "cannot close an alert of the first shape");
            }
        }
    }
}

/// Queues `line` in the thread of each incident declared from the alert, and brings each
/// incident's worst figures up to date with `take`.
pub(super) async fn tell_incidents(
    tx: &mut Tx<'_>,
    linked: &[super::LinkedIncident],
    line: Option<Post>,
    take: impl Fn(&mut Peak),
) -> anyhow::Result<()> {
    for incident in linked {
        let mut peak = incident.peak.clone().unwrap_or_default();
        take(&mut peak);
        tx.set_incident_peak(incident.id, &peak).await?;
        if let Some(line) = &line {
            tx.post(Destination::Place { subject: Subject::incident(incident.id) }, line.clone()).await?;
        }
    }
    Ok(())
}

/// What an incident declared from a function's alert starts with: the figures now as its peak.
pub fn initial_peak(figures: &AlertFigures) -> Option<Peak> {
    match figures {
        AlertFigures::Function(f) => {
            let mut peak = Peak::default();
            peak.take(f);
            Some(peak)
        }
        AlertFigures::Webhook(_) => None,
    }
}
