//! What an incident says in chat: the kickoff, the clock's nudges, the timeline and postmortem.

use super::{Incident, IncidentSettings, TimelineEntry};
use crate::actor::Person;
use crate::post::Ping;
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

/// The kickoff in the incident's place: definition, commander, checklist, and the page; a
/// security incident's data breach phases and the security team's page; the function deploy
/// that came shortly before, when there is one.
pub fn kickoff(incident: &Incident, settings: &IncidentSettings, deploy: Option<&str>) -> Post {
    let security = incident.kind == super::IncidentKind::Security;
    let title = if security { format!("🔐 {} · security", headline(incident)) } else { format!("🚨 {}", headline(incident)) };
    let mut post = Post::new(tone(incident), title)
        .body(incident.severity.definition())
        .field("Commander", incident.commander.mention())
        .field("Impact", if incident.impact.is_empty() { "not stated yet".into() } else { incident.impact.clone() });
    post = match security {
        true => {
            let phases: Vec<String> = settings.security_phases.iter().map(|p| p.name.clone()).collect();
            post.field("Runbook", format!("Data breach response, each phase a nudge in the thread: {}.", phases.join(" → ")))
        }
        false => post.field("Runbook", incident.severity.checklist()),
    };
    if let Some(deploy) = deploy {
        post = post.field("Deploy", format!("{deploy} — /functions recent lists the last deploys"));
    }
    if security && concerns_data_exposure(incident) {
        post = post
            .field("Data exposure", "/rls lockdown revokes anon's access to every public table (two approvers); /rls restore undoes it.");
    }
    if security {
        post = match &settings.security {
            Some(team) => post.field("Security team", format!("{} — paged", team.label())).ping(team.clone()),
            None => post.field("Security team", SECURITY_NOT_CONFIGURED),
        };
    }
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

/// A security incident's kickoff when no security role or group is configured: a name alone
/// would ping nobody, so bellhop says so rather than claim a page.
const SECURITY_NOT_CONFIGURED: &str =
    "not paged: no security role is configured (DISCORD_SECURITY_ROLE, or SLACK_PAGE_SECURITY in Slack) — tell the security team yourself";

/// Whether a breach is about data being seen where it should not be, by its title and impact.
pub fn concerns_data_exposure(incident: &Incident) -> bool {
    let text = format!("{} {}", incident.title, incident.impact).to_lowercase();
    ["data", "expos", "leak", "rls", "anon", "pii", "personal", "dump", "scrap", "records", "rows"].iter().any(|w| text.contains(w))
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

/// The declaring person's answer: the kickoff itself goes to the incidents channel.
pub fn declared(incident: &Incident) -> Post {
    Post::new(Tone::Bad, format!("Declared {}", headline(incident)))
        .body(format!("Commander {}. The kickoff, checklist and timers are in the incident's thread.", incident.commander.mention()))
}

/// In the incident's place when someone acknowledges the page.
pub fn acknowledged(incident: &Incident, by: &str, after: chrono::Duration, escalation_stopped: bool) -> Post {
    let note = if escalation_stopped { " Escalation stopped." } else { "" };
    Post::new(Tone::Good, format!("{} acknowledged by @{by}", incident.code()))
        .body(format!("Acknowledged {} after the declaration.{note}", span(after)))
}

pub fn you_acknowledged(incident: &Incident) -> Post {
    Post::new(Tone::Good, format!("You acknowledged {}.", incident.code()))
}

pub fn update(incident: &Incident, by: &str, text: &str) -> Post {
    Post::new(Tone::Info, format!("{} update from @{by}", incident.code())).body(text)
}

/// The runbook's status-page text, in the status channel, ready to copy.
pub fn status_page_text(incident: &Incident, text: &str) -> Post {
    Post::new(Tone::Warning, format!("Status page text for {}", incident.code())).body(text)
}

pub fn status_page_text_posted() -> Post {
    Post::new(Tone::Good, "Posted the status page text to the status updates channel, ready to copy.")
}

/// In the incident's place after a severity change; `page` when the new severity pages someone
/// the old one did not, and nobody has acknowledged yet.
pub fn severity_changed(incident: &Incident, level: super::Severity, page: Option<&Ping>) -> Post {
    let post =
        Post::new(Tone::Warning, format!("{} is now {} (was {})", incident.code(), level, incident.severity)).body(level.definition());
    match page {
        Some(on_call) => post.field("Paged", format!("{} — acknowledge with /incident ack", on_call.label())).ping(on_call.clone()),
        None => post,
    }
}

pub fn you_changed_severity(incident: &Incident, level: super::Severity) -> Post {
    Post::new(Tone::Good, format!("{} is now {}; its timers follow the new severity.", incident.code(), level))
}

pub fn commander_changed(incident: &Incident, commander: &Person) -> Post {
    Post::new(Tone::Info, format!("{} is now the commander of {}", commander.mention(), incident.code()))
}

pub fn you_changed_commander(incident: &Incident, commander: &Person) -> Post {
    Post::new(Tone::Good, format!("{} commands {} now.", commander.mention(), incident.code()))
}

/// In the incident's place when it is resolved.
pub fn resolved(incident: &Incident, duration: &str, root_cause: &str) -> Post {
    Post::new(Tone::Good, format!("✅ {} resolved after {duration}", incident.code()))
        .body(format!("Root cause: {root_cause}"))
        .field("Review", "Post-incident review due within 24 hours; /incident postmortem drafts it.")
}

/// The runbook's RESOLVED text, in the status channel.
pub fn resolved_status_text(incident: &Incident, text: &str) -> Post {
    Post::new(Tone::Good, format!("Status page text for {} (resolved)", incident.code())).body(text)
}

pub fn you_resolved(incident: &Incident, duration: &str) -> Post {
    Post::new(Tone::Good, format!("Resolved {} · {}", incident.code(), incident.title))
        .body(format!("After {duration}. Its timers are cancelled; the review reminder fires in 24 h."))
}

pub fn postmortem_skeleton(incident: &Incident, markdown: String) -> Post {
    Post::new(Tone::Info, format!("Postmortem skeleton for {}", incident.code()))
        .body("Fill in the blanks, then share it within 24 hours of the resolution.")
        .attach(format!("postmortem-{}.md", incident.code()), markdown)
}

/// What an evidence file holds, as its post counts it.
#[derive(Clone, Copy, Debug, Default)]
pub struct EvidenceCounts {
    pub timeline: usize,
    pub audit: usize,
    /// Older audit rows of the window the file has no room for.
    pub audit_left_out: usize,
    pub plans: usize,
}

/// `/incident evidence`, in the incident's thread: the file, and its SHA-256 to check copies by.
pub fn evidence(incident: &Incident, name: &str, bytes: Vec<u8>, sha256: &str, counts: EvidenceCounts) -> Post {
    let EvidenceCounts { timeline, audit, audit_left_out, plans } = counts;
    let audit = match audit_left_out {
        0 => format!("{audit} rows"),
        older => format!("the newest {audit} rows; {older} older rows are left out of the file and stay in the audit table"),
    };
    Post::new(if audit_left_out > 0 { Tone::Warning } else { Tone::Info }, format!("🗄 Evidence preserved for {}", incident.code()))
        .body(format!(
            "The timeline ({timeline} {}), the audit trail of its window ({audit}) and the plans run or decided during it ({plans}), as one file.",
            if timeline == 1 { "entry" } else { "entries" }
        ))
        .field("SHA-256", sha256.to_string())
        .attach(name.to_string(), bytes)
}

pub fn evidence_attached(incident: &Incident, name: &str, sha256: &str) -> Post {
    Post::new(Tone::Good, format!("Evidence of {} attached in its thread", incident.code()))
        .body(format!("{name}, SHA-256 {sha256}; the hash is on the timeline."))
}

/// The clock's nudge when a phase of the severity's procedure begins.
pub fn phase(incident: &Incident, since_declared: chrono::Duration, name: &str, what: &str) -> Post {
    Post::new(Tone::Info, format!("⏱ {} · {} in: {name}", incident.code(), span(since_declared))).body(what)
}

pub fn update_reminder(incident: &Incident, silence: &str) -> Post {
    Post::new(Tone::Warning, format!("⏰ {} needs a status update: none for {silence}", incident.code()))
        .body("Post one with /incident update, and /incident status-post for the status page.")
}

/// Nobody acknowledged: the next step of the chain is paged.
pub fn escalation(incident: &Incident, since_declared: chrono::Duration, to: &Ping) -> Post {
    Post::new(Tone::Bad, format!("📟 {} is not acknowledged after {}", incident.code(), span(since_declared)))
        .body(format!("Escalating to {} (/incident ack stops this).", to.label()))
        .ping(to.clone())
}

pub fn review_due(incident: &Incident) -> Post {
    Post::new(Tone::Info, format!("📝 {} post-incident review is due", incident.code()))
        .body(format!("The runbook asks for a review within 24 hours; /incident postmortem id:{} drafts it.", incident.code()))
}

/// `/incident escalate`: the runbook's P1 template, filled with what bellhop knows.
pub fn escalation_draft(incident: &Incident, text: String) -> Post {
    Post::new(Tone::Warning, format!("P1 escalation draft for {}", incident.code()))
        .body(text)
        .field("Blanks", "Fill in what is in [brackets].")
}

/// `/incident list`: one line each, newest first.
pub fn list(label: &str, incidents: &[Incident], now: DateTime<Utc>) -> Post {
    if incidents.is_empty() {
        return Post::new(Tone::Good, format!("{label}: none"));
    }
    let mut post = Post::new(Tone::Info, format!("{label}: {}", incidents.len()));
    for incident in incidents {
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
    post
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Severity;
    use chrono::TimeZone;

    fn person(name: &str) -> Person {
        Person { id: format!("id-{name}"), name: name.into() }
    }

    fn on_call() -> Ping {
        Ping::Role { id: "1".into(), name: "on-call".into() }
    }

    fn incident() -> Incident {
        Incident {
            id: 7,
            severity: Severity::P1,
            title: "Invites failing".into(),
            impact: "Hotels cannot invite staff".into(),
            affected: String::new(),
            commander: person("alice"),
            declared_by: person("bob"),
            declared: Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap(),
            acked: None,
            resolved: None,
            root_cause: None,
            alert_id: None,
            channel_key: None,
            kind: super::super::IncidentKind::Service,
        }
    }

    #[test]
    fn a_security_kickoff_says_the_team_was_not_paged_when_no_role_is_configured() {
        let inc = Incident { kind: super::super::IncidentKind::Security, severity: Severity::P0, ..incident() };
        let team = |post: &Post| post.fields.iter().find(|f| f.name == "Security team").map(|f| f.value.clone());
        let unset = kickoff(&inc, &IncidentSettings { on_call: None, ..Default::default() }, None);
        assert_eq!(
            team(&unset).as_deref(),
            Some("not paged: no security role is configured (DISCORD_SECURITY_ROLE, or SLACK_PAGE_SECURITY in Slack) — tell the security team yourself")
        );
        assert!(unset.pings.is_empty(), "{:?}", unset.pings);
        let security = Ping::Role { id: "2".into(), name: "security".into() };
        let set = kickoff(&inc, &IncidentSettings { on_call: None, security: Some(security.clone()), ..Default::default() }, None);
        assert_eq!(team(&set).as_deref(), Some("@security — paged"));
        assert_eq!(set.pings, [security]);
    }

    #[test]
    fn the_evidence_post_says_when_older_audit_rows_are_left_out() {
        let counts = EvidenceCounts { timeline: 4, audit: 12, audit_left_out: 0, plans: 1 };
        insta::assert_snapshot!(evidence(&incident(), "INC-7-evidence.json", b"{}".to_vec(), "ab12", counts), @r"
        [info] 🗄 Evidence preserved for INC-7
        The timeline (4 entries), the audit trail of its window (12 rows) and the plans run or decided during it (1), as one file.
        SHA-256: ab12
        attached INC-7-evidence.json (2 bytes)
        ");
        let capped = EvidenceCounts { timeline: 1, audit: 10_000, audit_left_out: 345, plans: 0 };
        insta::assert_snapshot!(evidence(&incident(), "INC-7-evidence.json", b"{}".to_vec(), "ab12", capped), @r"
        [warning] 🗄 Evidence preserved for INC-7
        The timeline (1 entry), the audit trail of its window (the newest 10000 rows; 345 older rows are left out of the file and stay in the audit table) and the plans run or decided during it (0), as one file.
        SHA-256: ab12
        attached INC-7-evidence.json (2 bytes)
        ");
    }

    #[test]
    fn declaring_and_acknowledging() {
        let inc = incident();
        insta::assert_snapshot!(declared(&inc), @r#"
            [bad] Declared INC-7 · P1 · Invites failing
            Commander @alice. The kickoff, checklist and timers are in the incident's thread.
            "#);
        insta::assert_snapshot!(acknowledged(&inc, "carol", chrono::Duration::minutes(4), true), @r#"
            [good] INC-7 acknowledged by @carol
            Acknowledged 4 min after the declaration. Escalation stopped.
            "#);
        insta::assert_snapshot!(acknowledged(&inc, "carol", chrono::Duration::seconds(40), false), @r#"
            [good] INC-7 acknowledged by @carol
            Acknowledged under a minute after the declaration.
            "#);
        insta::assert_snapshot!(you_acknowledged(&inc), @"[good] You acknowledged INC-7.");
    }

    #[test]
    fn updates_and_status_text() {
        let inc = incident();
        insta::assert_snapshot!(update(&inc, "carol", "Rolled back invite-user to v41."), @r#"
            [info] INC-7 update from @carol
            Rolled back invite-user to v41.
            "#);
        insta::assert_snapshot!(status_page_text(&inc, "We are investigating."), @r#"
            [warning] Status page text for INC-7
            We are investigating.
            "#);
        insta::assert_snapshot!(status_page_text_posted(), @"[good] Posted the status page text to the status updates channel, ready to copy.");
    }

    #[test]
    fn severity_and_commander_changes() {
        let mut inc = incident();
        inc.severity = Severity::P2;
        insta::assert_snapshot!(severity_changed(&inc, Severity::P1, Some(&on_call())), @r#"
            [warning] INC-7 is now P1 (was P2)
            High: major functionality broken, authentication issues
            Paged: @on-call — acknowledge with /incident ack
            pings @on-call
            "#);
        insta::assert_snapshot!(severity_changed(&incident(), Severity::P2, None), @r#"
            [warning] INC-7 is now P2 (was P1)
            Medium: feature degradation, performance issues
            "#);
        insta::assert_snapshot!(you_changed_severity(&inc, Severity::P1), @"[good] INC-7 is now P1; its timers follow the new severity.");
        insta::assert_snapshot!(commander_changed(&inc, &person("dave")), @"[info] @dave is now the commander of INC-7");
        insta::assert_snapshot!(you_changed_commander(&inc, &person("dave")), @"[good] @dave commands INC-7 now.");
    }

    #[test]
    fn resolving_and_the_review() {
        let inc = incident();
        insta::assert_snapshot!(resolved(&inc, "42 min", "A bad deploy of invite-user."), @r#"
            [good] ✅ INC-7 resolved after 42 min
            Root cause: A bad deploy of invite-user.
            Review: Post-incident review due within 24 hours; /incident postmortem drafts it.
            "#);
        insta::assert_snapshot!(resolved_status_text(&inc, "Resolved."), @r#"
            [good] Status page text for INC-7 (resolved)
            Resolved.
            "#);
        insta::assert_snapshot!(you_resolved(&inc, "42 min"), @r#"
            [good] Resolved INC-7 · Invites failing
            After 42 min. Its timers are cancelled; the review reminder fires in 24 h.
            "#);
        insta::assert_snapshot!(postmortem_skeleton(&inc, "# Postmortem".into()), @r#"
            [info] Postmortem skeleton for INC-7
            Fill in the blanks, then share it within 24 hours of the resolution.
            attached postmortem-INC-7.md (12 bytes)
            "#);
        insta::assert_snapshot!(review_due(&inc), @r#"
            [info] 📝 INC-7 post-incident review is due
            The runbook asks for a review within 24 hours; /incident postmortem id:INC-7 drafts it.
            "#);
    }

    #[test]
    fn lists_and_the_escalation_draft() {
        let now = incident().declared + chrono::Duration::minutes(42);
        insta::assert_snapshot!(list("Open incidents", &[], now), @"[good] Open incidents: none");
        let mut acked = incident();
        acked.acked = Some((now, person("carol")));
        insta::assert_snapshot!(list("Incidents", &[incident(), acked], now), @r#"
            [info] Incidents: 2
            INC-7 P1: Invites failing · @alice · open 42 min
            INC-7 P1: Invites failing · @alice · open 42 min · acknowledged
            "#);
        insta::assert_snapshot!(escalation_draft(&incident(), "Escalating INC-7 …".into()), @r#"
            [warning] P1 escalation draft for INC-7
            Escalating INC-7 …
            Blanks: Fill in what is in [brackets].
            "#);
    }

    #[test]
    fn the_clocks_nudges() {
        let inc = incident();
        insta::assert_snapshot!(phase(&inc, chrono::Duration::minutes(15), "Mitigate", "Roll back or disable the feature."), @r#"
            [info] ⏱ INC-7 · 15 min in: Mitigate
            Roll back or disable the feature.
            "#);
        insta::assert_snapshot!(update_reminder(&inc, "30 min"), @r#"
            [warning] ⏰ INC-7 needs a status update: none for 30 min
            Post one with /incident update, and /incident status-post for the status page.
            "#);
        insta::assert_snapshot!(escalation(&inc, chrono::Duration::minutes(5), &on_call()), @r#"
            [bad] 📟 INC-7 is not acknowledged after 5 min
            Escalating to @on-call (/incident ack stops this).
            pings @on-call
            "#);
    }
}
