//! What the deploy commands say: the checklist post and its notices, the backups, the recent
//! deploys, a marked deploy and the post-deployment validation.

use super::figures::{Figures, Verdict};
use super::model::{code, Checklist, Verified, ITEMS, KEYCAPS};
use crate::management_api::Backups;
use crate::post::{Post, Tone};
use crate::store::FunctionDeploy;
use crate::text::{ellipsize, span, time};
use chrono::{DateTime, Duration, Utc};

/// The checklist's one post, edited as items change.
pub fn checklist(checklist: &Checklist, waits: &[String], now: DateTime<Utc>) -> Post {
    let mut lines: Vec<String> = waits.iter().map(|w| format!("⏸ Reason to wait: {w}")).collect();
    for state in &checklist.items {
        let n = state.item;
        let name = ITEMS[n - 1];
        let evidence = state.verified.as_ref().map(|e| (e.verified, ellipsize(&e.text, 300)));
        let line = match (&state.ticked, &evidence) {
            (Some((person, at)), None) => format!("✅ {n}. {name} — @{} at {}", person.name, time(*at, now)),
            (Some((person, at)), Some((verified, text))) => {
                format!("✅ {n}. {name} — @{} at {} (bellhop {}: {text})", person.name, time(*at, now), verified.said())
            }
            (None, Some((Verified::Ticked, text))) => format!("✅ {n}. {name} — bellhop: {text}"),
            (None, Some((Verified::Flagged, text))) => format!("⚠️ {n}. {name} — bellhop flagged: {text}; {}", how(n)),
            (None, Some((Verified::Unknown, text))) => format!("❔ {n}. {name} — bellhop could not check: {text}; {}", how(n)),
            (None, None) => format!("⬜ {n}. {name} — {}", how(n)),
        };
        lines.push(line);
    }
    let done = checklist.done();
    let (tone, title) = match checklist.ready {
        Some(_) => (Tone::Good, format!("✅ Ready to deploy: {} {}", code(checklist.id), checklist.what)),
        None => {
            let flagged = checklist.items.iter().any(|i| !i.done() && i.verified.as_ref().is_some_and(|e| e.verified == Verified::Flagged));
            let tone = if flagged || !waits.is_empty() { Tone::Warning } else { Tone::Info };
            (tone, format!("📋 Pre-deploy checklist {}: {} — {done} of 6 ticked", code(checklist.id), checklist.what))
        }
    };
    let state = match checklist.ready {
        Some(at) => format!("ready: all six ticked at {}", time(at, now)),
        None => format!("{done} of 6 ticked; the deploy is ready when all six are"),
    };
    Post::new(tone, title)
        .body(lines.join("\n"))
        .field("Asked by", format!("@{} at {}", checklist.created_by.name, time(checklist.created, now)))
        .field("State", state)
}

/// How a person ticks item `n`.
fn how(n: usize) -> String {
    format!("react {} or /deploy check item:{n}", KEYCAPS[n - 1])
}

/// The asker's answer: the checklist itself is in the ops channel; which items bellhop ticked,
/// flagged or could not check.
pub fn checklist_started(checklist: &Checklist, waits: &[String]) -> Post {
    let by = |verified: Verified| -> Vec<usize> {
        checklist.items.iter().filter(|i| i.verified.as_ref().is_some_and(|e| e.verified == verified)).map(|i| i.item).collect()
    };
    let ticked = by(Verified::Ticked);
    let mut body = match ticked.is_empty() {
        true => "Posted in the ops channel. bellhop ticked none of the six itself".to_string(),
        false => format!("Posted in the ops channel. bellhop ticked {} itself", items(&ticked)),
    };
    for (verified, word) in [(Verified::Flagged, "flagged"), (Verified::Unknown, "could not check")] {
        let found = by(verified);
        if !found.is_empty() {
            body.push_str(&format!(", {word} {}", items(&found)));
        }
    }
    body.push('.');
    if !waits.is_empty() {
        body.push_str(&format!(" Reasons to wait: {}.", waits.join("; ")));
    }
    Post::new(Tone::Info, format!("Checklist {} for {}", code(checklist.id), checklist.what)).body(body)
}

/// "item 3", "items 3, 4".
fn items(numbers: &[usize]) -> String {
    let listed: Vec<String> = numbers.iter().map(usize::to_string).collect();
    match numbers.len() {
        1 => format!("item {}", listed[0]),
        _ => format!("items {}", listed.join(", ")),
    }
}

/// In the ops channel when the sixth item is ticked.
pub fn checklist_ready(checklist: &Checklist, waits: &[String]) -> Post {
    let mut body = format!("All six items of {} are ticked; who ticked what is on the audit trail (/audit recent).", code(checklist.id));
    if !waits.is_empty() {
        body.push_str(&format!(" Still a reason to wait: {}.", waits.join("; ")));
    }
    Post::new(Tone::Good, format!("✅ {} ready to deploy: {}", code(checklist.id), checklist.what)).body(body)
}

pub fn you_ticked(id: i64, item: usize, said: &str) -> Post {
    Post::new(Tone::Good, format!("Ticked item {item} of {}", code(id))).body(format!("{said}; the checklist's post is edited."))
}

/// `/backups`: the newest backups and whether point-in-time recovery is on.
pub fn backups(backups: &Backups, now: DateTime<Utc>) -> Post {
    let newest = backups.newest();
    let stale = newest.is_none_or(|at| now - at > super::model::BACKUP_MAX_AGE);
    let headline = match newest {
        Some(at) => format!("The newest restore point is {} old ({}).", span(now - at), time(at, now)),
        None => "There is no completed backup.".to_string(),
    };
    let mut body = headline;
    if stale {
        body.push_str(" That is over 26 h: check the project's backups in the Supabase dashboard.");
    }
    let listed: Vec<String> = backups
        .completed()
        .iter()
        .take(5)
        .map(|(at, b)| {
            format!("• {} — {} ({} old)", time(*at, now), if b.is_physical_backup { "physical" } else { "logical" }, span(now - *at))
        })
        .collect();
    let pitr = match (backups.pitr_enabled, backups.physical_backup_data.latest_physical_backup_date_unix) {
        (true, Some(_)) => "on: any point up to the latest restore point above".to_string(),
        (true, None) => "on".to_string(),
        (false, _) => "off: daily backups only".to_string(),
    };
    Post::new(if stale { Tone::Bad } else { Tone::Good }, "Database backups")
        .body(body)
        .field("Newest backups", if listed.is_empty() { "none listed".into() } else { listed.join("\n") })
        .field("Point-in-time recovery", pitr)
}

/// The daily check's post in the ops channel when the newest backup is too old.
pub fn backup_stale(newest: Option<DateTime<Utc>>, pitr: bool, now: DateTime<Utc>) -> Post {
    let age = match newest {
        Some(at) => format!("The newest backup is {} old ({}), over the 26 h a daily backup allows.", span(now - at), time(at, now)),
        None => "The project has no completed backup.".to_string(),
    };
    Post::new(Tone::Bad, "⚠️ Database backup overdue").body(format!(
        "{age} PITR is {}. Check Database → Backups in the Supabase dashboard; /backups shows the list.",
        if pitr { "on" } else { "off" }
    ))
}

/// `/functions recent`: the last deploys bellhop saw.
pub fn functions_recent(deploys: &[FunctionDeploy], now: DateTime<Utc>, watching: bool) -> Post {
    if deploys.is_empty() {
        let why = if watching {
            "bellhop has seen no deploy yet; it reads the functions' versions from the Management API every poll."
        } else {
            "bellhop reads deploys from the Supabase Management API: set SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF."
        };
        return Post::new(Tone::Info, "Recent deploys").body(why);
    }
    let lines: Vec<String> =
        deploys.iter().map(|d| format!("• {} — deployed {} ({} ago)", d.name(), time(d.deployed, now), span(now - d.deployed))).collect();
    Post::new(Tone::Info, "Recent deploys").body(lines.join("\n"))
}

/// `/deploy done`.
pub fn marked(what: &str, by: &str, functions: usize) -> Post {
    Post::new(Tone::Info, format!("🚀 Deploy marked: {what}")).body(format!(
        "Marked by @{by}. The figures of {functions} function(s) before it are kept; /deploy validate compares the minutes since with them."
    ))
}

/// One function's line in the validation.
pub struct Compared {
    pub function: String,
    pub verdict: Verdict,
    pub before: Figures,
    pub after: Figures,
}

impl Compared {
    /// Over the runbook's thresholds since the deploy, and not better than before it: worse, or
    /// with nothing before it to compare with.
    pub fn beyond_thresholds(&self) -> bool {
        matches!(self.verdict, Verdict::Worse | Verdict::Unknown) && self.after.breaches()
    }

    /// "invite-user: worse — error rate 0% of 100, 120 ms → error rate 50% of 100, 120 ms".
    fn line(&self, minutes: usize) -> String {
        let over = if self.beyond_thresholds() { " — over the runbook's thresholds" } else { "" };
        let said = match (self.before.samples, self.after.samples) {
            (0, 0) => format!("cannot compare — no samples in the {minutes} min before the deploy, nor since"),
            (0, _) => format!("cannot compare — no samples in the {minutes} min before the deploy; now {}", self.after.line()),
            (_, 0) => format!("cannot compare — no samples in the last {minutes} min; before the deploy {}", self.before.line()),
            _ => format!("{} — {} → {}", self.verdict.word(), self.before.line(), self.after.line()),
        };
        format!("• {}: {said}{over}", self.function)
    }
}

/// `/deploy validate`: the fresh sweep, then each function better, same or worse.
pub fn validation(since: &str, minutes: usize, sweep: &str, compared: &[Compared], rollback: &[String]) -> Post {
    let doubtful = compared.iter().any(|c| matches!(c.verdict, Verdict::Worse | Verdict::Unknown));
    let mut lines: Vec<String> = compared.iter().map(|c| c.line(minutes)).collect();
    if compared.is_empty() {
        lines.push(format!("No function had samples in the {minutes} min before the deploy or since: nothing to compare."));
    }
    let tone = match (rollback.is_empty(), doubtful || compared.is_empty()) {
        (false, _) => Tone::Bad,
        (true, true) => Tone::Warning,
        (true, false) => Tone::Good,
    };
    let mut post = Post::new(tone, format!("Post-deployment validation: {since}"))
        .body(format!("The last {minutes} min against the {minutes} min before the deploy.\n{}", lines.join("\n")))
        .field("Fresh sweep", sweep.to_string());
    if !rollback.is_empty() {
        post = post.field("Worse beyond the runbook's thresholds — rollback paths", rollback.join("\n"));
    }
    post
}

/// `/deploy validate` under a minute after the deploy: there is no minute after it to compare.
pub fn too_early(since: &str, wait: Duration) -> Post {
    let seconds = ((wait.num_milliseconds() + 999) / 1000).max(1);
    Post::new(Tone::Info, format!("Too early to validate: {since}")).body(format!(
        "Less than a minute has passed since the deploy: there is no minute after it to compare yet. Try /deploy validate again in {seconds} s."
    ))
}

/// How long ago, for a baseline: "the deploy marked 20 min ago".
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if now - at < Duration::minutes(1) {
        "just now".into()
    } else {
        format!("{} ago", span(now - at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Person;
    use crate::deploy::model::{Evidence, ItemState};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc() + Duration::minutes(minutes)
    }

    #[test]
    fn the_checklist_says_who_ticked_what_and_how_bellhop_knows() {
        let mut items: Vec<ItemState> = (1..=6).map(ItemState::empty).collect();
        items[0].ticked = Some((Person::new("shell:alice", "alice"), at(1)));
        items[2].verified = Some(Evidence { verified: Verified::Ticked, text: "every public table has RLS".into() });
        items[4].verified = Some(Evidence { verified: Verified::Flagged, text: "newest backup 30 h old, over 26 h (PITR off)".into() });
        items[5].verified = Some(Evidence { verified: Verified::Unknown, text: "no rollbacks folder (BELLHOP_ROLLBACKS_DIR)".into() });
        let list =
            Checklist { id: 1, what: "v2.3".into(), created_by: Person::new("shell:alice", "alice"), created: at(0), ready: None, items };
        let post = checklist(&list, &["INC-2 (P1) is open: Logins failing".into()], at(2));
        assert_eq!(post.tone, Tone::Warning);
        insta::assert_snapshot!(format!("{}\n{}", post.title, crate::text::plain(&post.body)), @r"
        📋 Pre-deploy checklist DC-1: v2.3 — 2 of 6 ticked
        ⏸ Reason to wait: INC-2 (P1) is open: Logins failing
        ✅ 1. Run full Postman collection — @alice at 09:01 UTC
        ⬜ 2. Execute security test suite — react 2️⃣ or /deploy check item:2
        ✅ 3. Verify RLS policies with test users — bellhop: every public table has RLS
        ⬜ 4. Check edge function performance — react 4️⃣ or /deploy check item:4
        ⚠️ 5. Validate backup/restore procedures — bellhop flagged: newest backup 30 h old, over 26 h (PITR off); react 5️⃣ or /deploy check item:5
        ❔ 6. Test rollback procedures — bellhop could not check: no rollbacks folder (BELLHOP_ROLLBACKS_DIR); react 6️⃣ or /deploy check item:6
        ");
    }

    fn list(items: Vec<ItemState>) -> Checklist {
        Checklist { id: 1, what: "v2.3".into(), created_by: Person::new("shell:alice", "alice"), created: at(0), ready: None, items }
    }

    #[test]
    fn the_asker_hears_which_items_bellhop_ticked_flagged_or_could_not_check() {
        let mut items: Vec<ItemState> = (1..=6).map(ItemState::empty).collect();
        items[2].verified = Some(Evidence::new(Verified::Ticked, "every public table has RLS"));
        items[3].verified = Some(Evidence::new(Verified::Ticked, "last 15 min within thresholds"));
        items[4].verified = Some(Evidence::new(Verified::Flagged, "newest backup 30 h old"));
        items[5].verified = Some(Evidence::new(Verified::Unknown, "no rollbacks folder (BELLHOP_ROLLBACKS_DIR)"));
        assert_eq!(
            checklist_started(&list(items), &[]).body,
            "Posted in the ops channel. bellhop ticked items 3, 4 itself, flagged item 5, could not check item 6."
        );
        let mut items: Vec<ItemState> = (1..=6).map(ItemState::empty).collect();
        items[2].verified = Some(Evidence::new(Verified::Flagged, "public tables without RLS: import_staging"));
        items[3].verified = Some(Evidence::new(Verified::Flagged, "over the runbook's thresholds"));
        assert_eq!(
            checklist_started(&list(items), &["INC-2 (P1) is open: Logins failing".into()]).body,
            "Posted in the ops channel. bellhop ticked none of the six itself, flagged items 3, 4. Reasons to wait: INC-2 (P1) is open: Logins failing."
        );
    }

    #[test]
    fn bellhops_evidence_reads_as_what_it_did_and_goes_on_without_a_stray_full_stop() {
        let mut items: Vec<ItemState> = (1..=6).map(ItemState::empty).collect();
        let missing = "There is no rollback file `20250922140000.down.sql` in the rollbacks folder (BELLHOP_ROLLBACKS_DIR).";
        items[4].verified = Some(Evidence::new(Verified::Unknown, "no Management API (SUPABASE_ACCESS_TOKEN, SUPABASE_PROJECT_REF)"));
        items[4].ticked = Some((Person::new("shell:bob", "bob"), at(1)));
        items[5].verified = Some(Evidence::new(Verified::Flagged, missing));
        let list = list(items);
        let post = checklist(&list, &[], at(2));
        let body = crate::text::plain(&post.body);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines[4],
            "✅ 5. Validate backup/restore procedures — @bob at 09:01 UTC (bellhop could not check: no Management API (SUPABASE_ACCESS_TOKEN, SUPABASE_PROJECT_REF))"
        );
        assert_eq!(
            lines[5],
            "⚠️ 6. Test rollback procedures — bellhop flagged: There is no rollback file `20250922140000.down.sql` in the rollbacks folder (BELLHOP_ROLLBACKS_DIR); react 6️⃣ or /deploy check item:6"
        );
        let account = list.account();
        assert!(account.contains("5. ticked by @bob at 2026-01-05 09:01 UTC (bellhop could not check: no Management API"), "{account}");
        assert!(!account.contains("bellhop unknown"), "{account}");
    }

    fn figures(samples: u64, failures: u64) -> Figures {
        Figures { samples, failures, latency_sum_ms: 120 * samples }
    }

    fn compared(function: &str, before: Figures, after: Figures) -> Compared {
        Compared { function: function.into(), verdict: crate::deploy::figures::compare(&before, &after), before, after }
    }

    #[test]
    fn a_function_without_samples_before_the_deploy_is_shown_and_flagged_when_over_the_thresholds() {
        let lines = [
            compared("invite-user", figures(0, 0), figures(40, 20)),
            compared("trial-signup", figures(0, 0), figures(40, 0)),
            compared("reports", figures(30, 0), figures(0, 0)),
            compared("cron", figures(0, 0), figures(0, 0)),
            compared("billing", figures(100, 1), figures(100, 1)),
        ];
        assert!(lines[0].beyond_thresholds() && !lines[1].beyond_thresholds() && !lines[4].beyond_thresholds());
        let rollback = ["Edge function rollback: redeploy the previous version of invite-user with the Supabase CLI".to_string()];
        insta::assert_snapshot!(validation("v2 (marked by @alice 5 min ago)", 5, "9 up", &lines, &rollback), @r"
        [bad] Post-deployment validation: v2 (marked by @alice 5 min ago)
        The last 5 min against the 5 min before the deploy.
        • invite-user: cannot compare — no samples in the 5 min before the deploy; now error rate 50% of 40, 120 ms — over the runbook's thresholds
        • trial-signup: cannot compare — no samples in the 5 min before the deploy; now error rate 0% of 40, 120 ms
        • reports: cannot compare — no samples in the last 5 min; before the deploy error rate 0% of 30, 120 ms
        • cron: cannot compare — no samples in the 5 min before the deploy, nor since
        • billing: same — error rate 1% of 100, 120 ms → error rate 1% of 100, 120 ms
        Fresh sweep: 9 up
        Worse beyond the runbook's thresholds — rollback paths: Edge function rollback: redeploy the previous version of invite-user with the Supabase CLI
        ");
        let nothing = validation("v2 (marked by @alice 5 min ago)", 5, "9 up", &[], &[]);
        assert_eq!(nothing.tone, Tone::Warning, "nothing compared is no good news");
        assert!(nothing.body.ends_with("No function had samples in the 5 min before the deploy or since: nothing to compare."));
    }

    #[test]
    fn under_a_minute_after_the_deploy_validation_says_when_to_try_again() {
        insta::assert_snapshot!(too_early("v2 (marked by @alice just now)", Duration::milliseconds(39_200)), @r"
        [info] Too early to validate: v2 (marked by @alice just now)
        Less than a minute has passed since the deploy: there is no minute after it to compare yet. Try /deploy validate again in 40 s.
        ");
    }
}
