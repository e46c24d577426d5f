//! `/incident escalate` and `/incident list`: what bellhop knows, drafted and listed; they
//! change nothing.

use super::Ctx;
use super::{posts, Incident, ListState, Severity, TimelineKind};
use crate::error::CommandError;
use crate::post::Reply;
use crate::text::span;
use chrono::{DateTime, Utc};

/// The runbook's P1 internal escalation, filled with what bellhop knows; blanks stay marked.
pub(super) async fn escalate(cx: &Ctx<'_>, now: DateTime<Utc>, incident: Incident) -> Result<Reply, CommandError> {
    if incident.severity != Severity::P1 {
        return Err(CommandError::user(format!(
            "/incident escalate drafts the runbook's P1 escalation; {} is {}.",
            incident.code(),
            incident.severity
        )));
    }
    let last_update = cx.store.timeline(incident.id).await?.into_iter().rev().find(|e| e.kind == TimelineKind::Update).map(|e| e.text);
    let blank = |what: &str| format!("[{what}]");
    let mut values = crate::templates::values([
        ("subject", incident.title.clone()),
        ("function", blank("function")),
        ("error_rate", blank("error rate")),
        ("threshold", "5%".into()),
        ("duration", span(now - incident.declared)),
        ("impact", if incident.impact.is_empty() { blank("impact") } else { incident.impact.clone() }),
        ("log_findings", blank("key findings")),
        ("database_status", blank("status")),
        ("investigation", last_update.unwrap_or_else(|| blank("what we're doing"))),
        ("next_steps", blank("planned actions with timeline")),
    ]);
    // Declared from an alert: its figures when it was declared and the worst since, not blanks.
    if let Some((figures, peak)) = cx.store.incident_alert(incident.id).await? {
        for (key, value) in figures.p1_vars(peak.as_ref(), now) {
            values.insert(key.to_string(), value);
        }
    }
    let text = cx.templates.render("p1-alert", &values).map_err(anyhow::Error::from)?;
    Ok(Reply::invoker(posts::escalation_draft(&incident, text)))
}

pub(super) async fn list(cx: &Ctx<'_>, now: DateTime<Utc>, state: ListState) -> Result<Reply, CommandError> {
    let incidents = cx.store.incidents(state, 25).await?;
    let label = match state {
        ListState::Open => "Open incidents",
        ListState::Resolved => "Resolved incidents",
        ListState::All => "Incidents",
    };
    Ok(Reply::invoker(posts::list(label, &incidents, now)))
}
