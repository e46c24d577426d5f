//! What an incident says in chat: the kickoff, the clock's nudges, the timeline and postmortem.

use super::{Incident, IncidentSettings, TimelineEntry};
use crate::post::{Post, Tone};
use crate::text::{span, time};
use chrono::{DateTime, Utc};

fn tone(incident: &Incident) -> Tone {
    if incident.severity.pages() {
        Tone::Bad
    } else {
        Tone::Warning
    }
}

fn headline(incident: &Incident) -> String {
    format!("{} · {} · {}", incident.code(), incident.severity, incident.title)
}

/// The kickoff in the incident's place: definition, commander, checklist, and the page.
pub fn kickoff(incident: &Incident, settings: &IncidentSettings) -> Post {
    let mut post = Post::new(tone(incident), format!("🚨 {}", headline(incident)))
        .body(incident.severity.definition())
        .field("Commander", incident.commander.mention())
        .field("Impact", if incident.impact.is_empty() { "not stated yet".into() } else { incident.impact.clone() })
        .field("Runbook", incident.severity.checklist());
    let cadence = match settings.update_every.get(&incident.severity) {
        Some(every) => format!("every {} (/incident update)", span(chrono::Duration::from_std(*every).unwrap_or_default())),
        None => "as needed (/incident update)".into(),
    };
    post = post.field("Status updates", cadence);
    if incident.severity.pages() {
        if let Some(on_call) = &settings.on_call {
            post = post.field("Paged", format!("{} — acknowledge with /incident ack", on_call.label())).ping(on_call.clone());
        }
    }
    post
}

pub fn summary(incident: &Incident, now: DateTime<Utc>, pending: &[(String, DateTime<Utc>)]) -> Post {
    let state = match (&incident.resolved, &incident.acked) {
        (Some(at), _) => format!("resolved at {} after {}", time(*at, now), span(*at - incident.declared)),
        (None, Some((at, by))) => format!("open, acknowledged by {} at {}", by.mention(), time(*at, now)),
        (None, None) if incident.severity.pages() => "open, **not acknowledged**".into(),
        (None, None) => "open".into(),
    };
    let mut post =
        Post::new(tone(incident), headline(incident)).field("State", state).field("Commander", incident.commander.mention()).field(
            "Declared",
            format!("{} by @{} ({} ago)", time(incident.declared, now), incident.declared_by.name, span(now - incident.declared)),
        );
    if !incident.impact.is_empty() {
        post = post.field("Impact", incident.impact.clone());
    }
    if let Some(cause) = &incident.root_cause {
        post = post.field("Root cause", cause.clone());
    }
    if !pending.is_empty() {
        let next: Vec<String> =
            pending.iter().take(5).map(|(kind, due)| format!("{} at {}", kind.replace('_', " "), time(*due, now))).collect();
        post = post.field("Next", next.join("; "));
    }
    post
}

pub fn timeline(incident: &Incident, entries: &[TimelineEntry], now: DateTime<Utc>) -> Post {
    let lines: Vec<String> = entries.iter().map(|e| format!("{} @{} {}: {}", time(e.at, now), e.actor.name, e.kind, e.text)).collect();
    Post::new(Tone::Info, format!("Timeline of {}", headline(incident))).body(lines.join("\n"))
}

/// The runbook's review, drafted: what bellhop knows filled in, the rest left to write.
pub fn postmortem(incident: &Incident, entries: &[TimelineEntry]) -> String {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let duration = incident.resolved.map(|r| span(r - incident.declared)).unwrap_or_else(|| "still open".into());
    let mut text = format!(
        "# Postmortem: {} — {}\n\n## Summary\n_What happened, in two sentences._\n\n\
         - Severity: {} ({})\n- Commander: @{}\n- Declared: {} by @{}\n- Resolved: {}\n- Duration: {}\n\n\
         ## Impact\n{}\n\n## Timeline\n",
        incident.code(),
        incident.title,
        incident.severity,
        incident.severity.definition(),
        incident.commander.name,
        at(incident.declared),
        incident.declared_by.name,
        incident.resolved.map(at).unwrap_or_else(|| "not yet".into()),
        duration,
        if incident.impact.is_empty() { "_Who was affected, how many, for how long._".to_string() } else { incident.impact.clone() },
    );
    for entry in entries {
        text.push_str(&format!("- {} — @{} — {}: {}\n", at(entry.at), entry.actor.name, entry.kind, entry.text));
    }
    text.push_str(&format!(
        "\n## Root cause\n{}\n\n## What went well\n- _…_\n\n## What went badly\n- _…_\n\n## Action items\n\
         | Action | Owner | Due |\n|---|---|---|\n| _…_ | _…_ | _…_ |\n",
        incident.root_cause.clone().unwrap_or_else(|| "_Not recorded yet._".into())
    ));
    text
}

/// Appended to a timer's post when it went out late (bellhop was down when it fell due).
pub fn late_note(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("(late: due {}, sent {} — bellhop was not running when it fell due)", time(due, now), time(now, now))
}

/// The postmortem's remediation section: every plan asked for while the incident was open, with
/// who asked and how it ended.
pub fn postmortem_plans(plans: &[crate::store::PlanRow]) -> String {
    let mut text = String::from("\n## Remediation\n");
    if plans.is_empty() {
        text.push_str("No remediation was asked for through bellhop.\n");
    }
    for plan in plans {
        let outcome = plan.outcome.as_deref().map(|o| format!(" — {}", crate::text::ellipsize(o, 200))).unwrap_or_default();
        text.push_str(&format!(
            "- PLAN-{} `{}` asked by @{} at {}: {}{outcome}\n",
            plan.id,
            plan.action,
            plan.requester.name,
            plan.created.format("%Y-%m-%d %H:%M UTC"),
            plan.state
        ));
    }
    text
}
