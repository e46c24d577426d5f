//! What alerts say in the chat: the runbook's P1 alert, its resolved form and the resolve notice.

use crate::alerts::{minutes, Change, Transition};
use crate::post::{Post, Tone};
use crate::store::Maintenance;
use crate::templates::Templates;

/// The runbook's `p1-alert` text with the live figures; what only a person knows stays `[blank]`.
pub fn p1_text(templates: &Templates, transition: &Transition) -> anyhow::Result<String> {
    let mut values: crate::templates::Values = transition.p1_vars().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    for (name, blank) in [
        ("log_findings", "[key findings]"),
        ("database_status", "[status]"),
        ("investigation", "[what we're doing]"),
        ("next_steps", "[planned actions with timeline]"),
    ] {
        values.entry(name.to_string()).or_insert_with(|| blank.to_string());
    }
    Ok(templates.render("p1-alert", &values)?)
}

/// The alert's one post: firing (or held during maintenance), edited as figures change, then resolved.
pub fn alert_post(transition: &Transition, id: i64, body: String, window: Option<&Maintenance>) -> Post {
    let what = format!("{} of {}", transition.rule.label(), transition.function);
    let figure =
        transition.figure().map(|(value, threshold)| format!("{value} (threshold {threshold})")).unwrap_or_else(|| "no samples".into());
    let post = match (transition.change, window) {
        (Change::Resolved, _) => Post::new(Tone::Good, format!("✅ Resolved: {what} (alert {id})")),
        (_, Some(window)) => Post::new(Tone::Info, format!("🔧 Held during {}: {what} (alert {id})", window.code()))
            .field("Maintenance", format!("{} — not paged; said once", window.summary)),
        _ => Post::new(Tone::Bad, format!("🚨 P1 alert: {what} (alert {id})")).field("React", "🚨 declares an incident from this alert"),
    };
    post.body(body).field("Now", figure).field("Since", transition.since.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// The notice that follows a resolved alert, so the channel hears it recovered.
pub fn resolved_notice(transition: &Transition, id: i64) -> Post {
    Post::new(Tone::Good, format!("✅ {} of {} is back within its threshold (alert {id})", transition.rule.label(), transition.function))
        .body(format!("It lasted {}. {}.", minutes(transition.duration()), transition.impact()))
}

/// One line of an alert's figures for an incident's timeline: what, how much, since when, impact.
pub fn figures_line(transition: &Transition, id: i64) -> String {
    let figure =
        transition.figure().map(|(value, threshold)| format!("{value} (threshold {threshold})")).unwrap_or_else(|| "no samples".into());
    format!(
        "alert {id}: {} of {} {figure}, for {}. {}.",
        transition.rule.label(),
        transition.function,
        minutes(transition.duration()),
        transition.impact()
    )
}
