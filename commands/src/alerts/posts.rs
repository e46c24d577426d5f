//! What alerts say in the chat: a function's one post (firing, held, resolved), the resolve
//! notice, the reminder, a webhook group's post, and the lines an incident's thread hears.

use super::figures::{FunctionFigures, Peak};
use super::rules::RuleKind;
use super::webhook::{GroupFigures, Level};
use crate::post::{Post, Tone};
use crate::store::Maintenance;
use crate::text::{ellipsize, span, time};
use chrono::{DateTime, Utc};

/// What a post reacts to: 🚨 on it declares an incident.
const DECLARE_HINT: &str = "🚨 on this post declares an incident from it";
/// Alerts of a group listed on its post; the rest are counted.
const LISTED: usize = 15;

/// A function's one post while it fires (or is held during maintenance); `deploy` names the
/// function's version deployed shortly before the alert started.
pub fn function_firing(figures: &FunctionFigures, id: i64, window: Option<&Maintenance>, deploy: Option<&str>) -> Post {
    // A rule back within its threshold still holds the alert until it stays clear (damping).
    let (breached, clearing): (Vec<&super::RuleFigure>, Vec<&super::RuleFigure>) = figures.breached().partition(|r| r.is_over());
    let list = |rules: &[&super::RuleFigure]| rules.iter().map(|r| format!("• {}", r.line())).collect::<Vec<_>>().join("\n");
    let mut body = headline(figures);
    if !breached.is_empty() {
        body.push_str(&format!("\nBreached:\n{}", list(&breached)));
    }
    if !clearing.is_empty() {
        body.push_str(&format!("\nBack within, clearing:\n{}", list(&clearing)));
    }
    let post = match window {
        Some(window) => Post::new(Tone::Info, format!("🔧 Held during {}: {} (alert {id})", window.code(), figures.function))
            .field("Maintenance", format!("{} — not paged; said once", window.summary)),
        None => Post::new(Tone::Bad, format!("🚨 P1 alert: {} (alert {id})", figures.function)),
    };
    let post = post.body(body).field("Since", time(figures.since, figures.at));
    let post = match deploy {
        Some(deploy) => post.field("Deploy", format!("{deploy} — /functions recent lists the last deploys")),
        None => post,
    };
    let post = match figures.top_tenants.is_empty() {
        true => post,
        false => post.field("Most affected", tenants(figures)),
    };
    match window {
        Some(_) => post,
        None => post.field("React", DECLARE_HINT),
    }
}

/// The same post once no rule is breached.
pub fn function_resolved(figures: &FunctionFigures, id: i64, peak: &Peak) -> Post {
    Post::new(Tone::Good, format!("✅ Resolved: {} (alert {id})", figures.function))
        .body(format!("Lasted {}. Worst: {}.", span(figures.at - figures.since), peak.line()))
        .field("Now", figures.headline())
}

/// The notice that follows a resolve, so the channel hears it recovered.
pub fn function_resolve_notice(figures: &FunctionFigures, id: i64, peak: &Peak) -> Post {
    Post::new(Tone::Good, format!("✅ {} is back within its thresholds (alert {id})", figures.function)).body(format!(
        "It lasted {}. Worst: {}. Now: {}.",
        span(figures.at - figures.since),
        peak.line(),
        figures.headline()
    ))
}

/// The figures' headline as a sentence with one full stop, whether it ends in a figure's
/// parenthesis ("…calls failed in the last 5 min).") or not ("No calls in the last 5 min.").
fn headline(figures: &FunctionFigures) -> String {
    let mut text = crate::text::sentence(&figures.headline());
    if text.ends_with(')') {
        text.push('.');
    }
    text
}

/// A reminder that an alert still fires and nobody declared an incident from it.
pub fn function_reminder(figures: &FunctionFigures, id: i64) -> Post {
    Post::new(Tone::Warning, format!("⏰ {} still failing after {} (alert {id})", figures.function, span(figures.at - figures.since)))
        .body(format!("{} 🚨 on the alert's post declares an incident.", headline(figures)))
}

/// What an incident declared from a function's alert hears in its thread.
pub fn function_thread_line(
    figures: &FunctionFigures,
    id: i64,
    started: &[RuleKind],
    cleared: &[RuleKind],
    resolved: bool,
) -> Option<Post> {
    if resolved {
        return Some(resolved_line(id, figures.at - figures.since));
    }
    let mut lines: Vec<String> =
        figures.rules.iter().filter(|r| started.contains(&r.rule)).map(|r| format!("now breached: {}", r.line())).collect();
    lines.extend(cleared.iter().map(|rule| format!("{} back within its threshold", rule.label())));
    (!lines.is_empty()).then(|| {
        Post::new(Tone::Info, format!("📈 alert {id}: {}", figures.function)).body(format!("{}\n{}", headline(figures), lines.join("\n")))
    })
}

fn resolved_line(id: i64, lasted: chrono::Duration) -> Post {
    Post::new(Tone::Good, format!("✅ alert {id} resolved after {}", span(lasted)))
        .body("`/incident resolve` when you are sure it is over.")
}

fn tenants(figures: &FunctionFigures) -> String {
    let names: Vec<String> = figures.top_tenants.iter().map(|t| format!("{} ({}/{})", t.tenant, t.failures, t.samples)).collect();
    names.join(", ")
}

fn level_look(level: Option<Level>) -> (Tone, &'static str) {
    match level {
        Some(Level::Critical) => (Tone::Bad, "🚨"),
        Some(Level::Warning) => (Tone::Warning, "⚠️"),
        Some(Level::Info) => (Tone::Info, "ℹ️"),
        None => (Tone::Good, "✅"),
    }
}

/// A webhook group's one post: each alert with its severity, summary, since when and link.
pub fn group_post(group: &GroupFigures, id: i64, level: Option<Level>, settings: &super::WebhookSettings, now: DateTime<Utc>) -> Post {
    let (tone, icon) = level_look(level);
    let title = match level {
        Some(_) => format!("{icon} {}: {} (alert {id})", group.source.label(), group.name()),
        None => format!("✅ Resolved: {} {} (alert {id})", group.source.label(), group.name()),
    };
    let mut alerts: Vec<&super::WebhookAlert> = group.alerts.iter().collect();
    alerts.sort_by_key(|a| (!a.firing, std::cmp::Reverse(settings.level(a)), a.starts_at));
    let mut lines: Vec<String> = alerts.iter().take(LISTED).map(|a| alert_line(a, &settings.shown(a), now)).collect();
    let unlisted = alerts.len().saturating_sub(LISTED) as u64 + group.truncated;
    if unlisted > 0 {
        lines.push(format!("…and {unlisted} more alert(s) not shown"));
    }
    let firing = group.firing().count();
    let counts = match group.truncated {
        0 => format!("{firing} firing, {} resolved", group.alerts.len() - firing),
        left => format!("{firing} firing, {} resolved, {left} more left out", group.alerts.len() - firing),
    };
    let post = Post::new(tone, ellipsize(&title, 250)).body(ellipsize(&lines.join("\n"), 3_500)).field("Alerts", counts);
    let post = match group.external_url.is_empty() {
        true => post,
        false => post.field("Source", group.external_url.clone()),
    };
    match level {
        Some(_) => post.field("React", DECLARE_HINT),
        None => post,
    }
}

fn alert_line(alert: &super::WebhookAlert, severity: &str, now: DateTime<Utc>) -> String {
    let state = match (alert.firing, alert.ends_at) {
        (true, _) => format!("since {}", time(alert.starts_at, now)),
        (false, Some(end)) => format!("resolved {}", time(end, now)),
        (false, None) => "resolved".to_string(),
    };
    let mark = if alert.firing { "🔴" } else { "🟢" };
    let what = [&alert.summary, &alert.description].into_iter().find(|t| !t.is_empty()).map(|t| format!(" — {}", ellipsize(t, 200)));
    let link = alert.link.as_ref().map(|l| format!(" · {l}")).unwrap_or_default();
    format!("{mark} **{}** [{severity}]{} · {state}{link}", ellipsize(&alert.name, 100), what.unwrap_or_default())
}

/// The notice when every alert of a group resolved.
pub fn group_resolve_notice(group: &GroupFigures, id: i64, lasted: chrono::Duration) -> Post {
    Post::new(Tone::Good, ellipsize(&format!("✅ {} {} resolved (alert {id})", group.source.label(), group.name()), 250)).body(format!(
        "All {} alert(s) of the group resolved after {}.",
        group.alerts.len(),
        span(lasted)
    ))
}

/// A group that became more urgent: its new level's people are pinged here, since an edit pings nobody.
pub fn group_escalated(group: &GroupFigures, id: i64, level: Level) -> Post {
    let (tone, icon) = level_look(Some(level));
    Post::new(tone, ellipsize(&format!("{icon} {} {} is now {} (alert {id})", group.source.label(), group.name(), level.as_str()), 250))
        .body("The alert's post above is edited with the group's alerts.")
}

/// What an incident declared from a group's alert hears: alerts that fired or resolved.
/// `resolved_after`: how long the group fired, when all of it resolved.
pub fn group_thread_line(
    group: &GroupFigures,
    id: i64,
    fired: &[String],
    resolved: &[String],
    resolved_after: Option<chrono::Duration>,
) -> Option<Post> {
    if let Some(lasted) = resolved_after {
        return Some(resolved_line(id, lasted));
    }
    let mut lines: Vec<String> = fired.iter().map(|name| format!("🔴 {name} fired")).collect();
    lines.extend(resolved.iter().map(|name| format!("🟢 {name} resolved")));
    (!lines.is_empty()).then(|| Post::new(Tone::Info, format!("📈 alert {id}: {}", group.name())).body(lines.join("\n")))
}

/// An alert of the old kind (one per rule), closed when the engine moved to one per function.
pub fn superseded(id: i64) -> Post {
    Post::new(Tone::Info, format!("Superseded (alert {id})"))
        .body("bellhop now posts one alert per function, naming every rule it breaches; the function's alert follows if it still fails.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{Reading, RuleFigure, TenantImpact};
    use chrono::Duration;

    #[test]
    fn a_group_beyond_its_cap_says_how_many_were_left_out() {
        let at: DateTime<Utc> = "2026-11-26T12:00:00Z".parse().unwrap();
        let alert = |i: usize| crate::alerts::WebhookAlert {
            fingerprint: format!("m{i:03}"),
            firing: true,
            name: format!("Many{i}"),
            summary: String::new(),
            description: String::new(),
            starts_at: at,
            ends_at: None,
            link: None,
            labels: Default::default(),
        };
        let group = GroupFigures {
            source: crate::alerts::Source::Alertmanager,
            group_key: "g".into(),
            receiver: "bellhop".into(),
            common_labels: Default::default(),
            external_url: String::new(),
            truncated: 50,
            alerts: (0..100).map(alert).collect(),
        };
        let post = group_post(&group, 1, Some(Level::Warning), &Default::default(), at);
        assert!(post.body.ends_with(&format!("…and {} more alert(s) not shown", 100 - LISTED + 50)), "{}", post.body);
        let counts = post.fields.iter().find(|f| f.name == "Alerts").map(|f| f.value.as_str());
        assert_eq!(counts, Some("100 firing, 0 resolved, 50 more left out"));
    }

    fn figures(failing: bool) -> FunctionFigures {
        let at: DateTime<Utc> = "2026-11-26T12:10:00Z".parse().unwrap();
        let (failures, rate) = if failing { (16, 20.0) } else { (0, 0.0) };
        let rule = |rule: RuleKind, threshold: f64, value: f64, firing: bool| RuleFigure {
            rule,
            threshold,
            window_minutes: 5,
            reading: Some(Reading { value, threshold, samples: 80, failures }),
            firing,
        };
        FunctionFigures {
            function: "invite-user".into(),
            at,
            since: at - Duration::minutes(10),
            rules: vec![rule(RuleKind::ErrorRate, 5.0, rate, failing), rule(RuleKind::Latency, 10_000.0, 180.0, false)],
            samples: 80,
            failures,
            window_minutes: 5,
            top_tenants: if failing { vec![TenantImpact { tenant: "hotel-7".into(), failures: 9, samples: 20 }] } else { Vec::new() },
        }
    }

    #[test]
    fn a_functions_alert_from_firing_to_resolved() {
        insta::assert_snapshot!(function_firing(&figures(true), 3, None, None), @r#"
            [bad] 🚨 P1 alert: invite-user (alert 3)
            Error rate 20% (16 of 80 calls failed in the last 5 min).
            Breached:
            • Error Rate 20% (threshold 5%, 5 min)
            Since: <time:1795694400:t>
            Most affected: hotel-7 (9/20)
            React: 🚨 on this post declares an incident from it
            "#);
        let deployed = Some("invite-user v42 was deployed 12 min before this alert started");
        insta::assert_snapshot!(function_firing(&figures(true), 3, None, deployed), @r#"
            [bad] 🚨 P1 alert: invite-user (alert 3)
            Error rate 20% (16 of 80 calls failed in the last 5 min).
            Breached:
            • Error Rate 20% (threshold 5%, 5 min)
            Since: <time:1795694400:t>
            Deploy: invite-user v42 was deployed 12 min before this alert started — /functions recent lists the last deploys
            Most affected: hotel-7 (9/20)
            React: 🚨 on this post declares an incident from it
            "#);
        insta::assert_snapshot!(function_reminder(&figures(true), 3), @r#"
            [warning] ⏰ invite-user still failing after 10 min (alert 3)
            Error rate 20% (16 of 80 calls failed in the last 5 min). 🚨 on the alert's post declares an incident.
            "#);
        let mut peak = Peak::default();
        peak.take(&figures(true));
        insta::assert_snapshot!(function_resolved(&figures(false), 3, &peak), @r#"
            [good] ✅ Resolved: invite-user (alert 3)
            Lasted 10 min. Worst: error rate 20%, average latency 0.2 s.
            Now: error rate 0% (0 of 80 calls failed in the last 5 min)
            "#);
        insta::assert_snapshot!(function_resolve_notice(&figures(false), 3, &peak), @r#"
            [good] ✅ invite-user is back within its thresholds (alert 3)
            It lasted 10 min. Worst: error rate 20%, average latency 0.2 s. Now: error rate 0% (0 of 80 calls failed in the last 5 min).
            "#);
        insta::assert_snapshot!(superseded(2), @r#"
            [info] Superseded (alert 2)
            bellhop now posts one alert per function, naming every rule it breaches; the function's alert follows if it still fails.
            "#);
    }
}
