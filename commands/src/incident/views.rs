//! `/incident escalate` and `/incident list`: what bellhop knows, drafted and listed; they
//! change nothing.

use super::Ctx;
use super::{Incident, ListState, Severity, TimelineKind};
use crate::error::CommandError;
use crate::post::{Post, Reply, Tone};
use crate::text::{span, time};
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
    Ok(Reply::invoker(
        Post::new(Tone::Warning, format!("P1 escalation draft for {}", incident.code()))
            .body(text)
            .field("Blanks", "Fill in what is in [brackets]."),
    ))
}

pub(super) async fn list(cx: &Ctx<'_>, now: DateTime<Utc>, state: ListState) -> Result<Reply, CommandError> {
    let incidents = cx.store.incidents(state, 25).await?;
    let label = match state {
        ListState::Open => "Open incidents",
        ListState::Resolved => "Resolved incidents",
        ListState::All => "Incidents",
    };
    if incidents.is_empty() {
        return Ok(Reply::invoker(Post::new(Tone::Good, format!("{label}: none"))));
    }
    let mut post = Post::new(Tone::Info, format!("{label}: {}", incidents.len()));
    for incident in &incidents {
        let state = match (&incident.resolved, &incident.acked) {
            (Some(at), _) => format!("resolved {}", time(*at, now)),
            (None, Some(_)) => format!("open {} · acknowledged", span(now - incident.declared)),
            (None, None) => format!("open {}", span(now - incident.declared)),
        };
        post = post.field(
            format!("{} {}", incident.code(), incident.severity),
            format!("{} · {} · {state}", incident.title, incident.commander.mention()),
        );
    }
    Ok(Reply::invoker(post))
}
