//! What people read about a plan: the approval post in each of its states, and the dry run.

use super::action::Action;
use super::effects::Preview;
use super::plan::{Outcome, Plan};
use super::settings::RemediationSettings;
use super::PlanState;
use crate::post::{Post, Tone};
use crate::store::Vote;

pub const APPROVE: &str = "✅";
/// The vote an admin's break-glass records: an approval that is not a reaction on the post.
pub const BREAK_GLASS: &str = "🔓";
pub const REJECT: &str = "❌";

/// Lines of a down file the approval post shows inline; the whole file is attached.
pub const SQL_LINES: usize = 12;
/// Longer lines are cut inline (the attachment has them whole).
pub const SQL_LINE_CHARS: usize = 120;

/// What every approval post says while one person can pass the gate alone.
pub const ONE_PERSON_GATE: &str =
    "BELLHOP_ALLOW_ONE_PERSON_GATE is on: a single ✅, the requester's own included, runs this plan. Nobody else has to look.";

/// A counted approval: a ✅, or an admin's break-glass.
pub fn is_approval(vote: &Vote) -> bool {
    vote.counted && (vote.emoji == APPROVE || vote.emoji == BREAK_GLASS)
}

/// The approval post, as it reads for the plan's state and votes (edited in place).
pub fn approval(plan: &Plan, votes: &[Vote], settings: &RemediationSettings) -> Post {
    let code = plan.code();
    let approvers: Vec<String> = votes
        .iter()
        .filter(|v| is_approval(v))
        .map(|v| if v.emoji == APPROVE { v.person.mention() } else { format!("{} (break-glass)", v.person.mention()) })
        .collect();
    let (tone, title, status) = match plan.state {
        PlanState::Pending => {
            let missing = plan.needed(settings).saturating_sub(approvers.len());
            let who = if settings.requester_may_approve {
                "approvers".to_string()
            } else {
                format!("approvers other than {}", plan.requester.mention())
            };
            let status = match missing {
                0 => "Enough approvals: bellhop reads the reactions again, checks each approver's role, then runs it.".to_string(),
                _ => format!(
                    "Needs {missing} more {APPROVE} from {who}. {REJECT} from an approver rejects it; {}'s {REJECT} withdraws it. Expires {}.",
                    plan.requester.mention(),
                    crate::text::time(plan.expires, plan.created)
                ),
            };
            (Tone::Warning, format!("Approval needed: {code} · /{}", plan.action.command()), status)
        }
        PlanState::Executing => (Tone::Info, format!("{code} approved: running"), "Approved; running now.".to_string()),
        PlanState::Done => (Tone::Good, format!("{code} done"), outcome_line(plan)),
        PlanState::Failed => (Tone::Bad, format!("{code} failed"), outcome_line(plan)),
        PlanState::Aborted => (Tone::Bad, format!("{code} aborted"), outcome_line(plan)),
        PlanState::Interrupted => (Tone::Bad, format!("{code} interrupted"), outcome_line(plan)),
        PlanState::Rejected => (Tone::Bad, format!("{code} rejected"), "Rejected by an approver; nothing ran.".to_string()),
        PlanState::Withdrawn => {
            (Tone::Info, format!("{code} withdrawn"), format!("Withdrawn by {}; nothing ran.", plan.requester.mention()))
        }
        PlanState::Expired => (
            Tone::Info,
            format!("{code} expired"),
            "Expired before enough approvals; it can never run. Ask again if still needed.".to_string(),
        ),
    };
    let mut body = vec![plan.action.describe(), plan.preview.lines.join("\n")];
    body.extend(sql_excerpt(&plan.action));
    body.push(status);
    let mut post = Post::new(tone, title).body(body.join("\n"));
    post = post.field("Plan", format!("requested by {} · hash {}", plan.requester.mention(), &plan.hash[..12.min(plan.hash.len())]));
    if settings.one_person() {
        post = post.field("One-person gate", ONE_PERSON_GATE);
    }
    if !approvers.is_empty() {
        post = post.field("Approved by", approvers.join(", "));
    }
    let refused: Vec<String> =
        votes.iter().filter(|v| !v.counted).map(|v| format!("{} {}: {}", v.person.mention(), v.emoji, v.reason)).collect();
    if !refused.is_empty() {
        post = post.field("Not counted", refused.join("\n"));
    }
    post
}

/// The approval post as first posted, with the files approvers read (a rollback's down file,
/// whole); edits leave the files in place, so they are not sent again.
pub fn asking(plan: &Plan, settings: &RemediationSettings) -> Post {
    with_files(approval(plan, &[], settings), &plan.action)
}

fn with_files(post: Post, action: &Action) -> Post {
    match action {
        Action::RollbackMigration { file, sql, .. } if !sql.is_empty() => post.attach(file.clone(), sql.clone()),
        _ => post,
    }
}

/// A down file's first lines as a code block, under a line naming the file and its hash.
/// Control, bidirectional and zero-width characters are shown as `<U+202E>`, so what
/// approvers read is what runs.
fn sql_excerpt(action: &Action) -> Option<String> {
    let Action::RollbackMigration { file, sha256, sql, .. } = action else { return None };
    if sql.is_empty() {
        return None;
    }
    let total = sql.lines().count();
    let heading = match total <= SQL_LINES {
        true => format!("The SQL of `{file}` (sha256 `{sha256}`), whole, also attached:"),
        false => format!("The SQL of `{file}` (sha256 `{sha256}`), its first {SQL_LINES} of {total} lines; the whole file is attached:"),
    };
    let shown: Vec<String> = sql.lines().take(SQL_LINES).map(|line| crate::text::ellipsize(&visible(line), SQL_LINE_CHARS)).collect();
    Some(format!("{heading}\n```sql\n{}\n```", shown.join("\n")))
}

/// A line of SQL as it can be shown: nothing hidden, and no fence that would end the code block.
fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if (c.is_control() && c != '\t') || crate::text::is_invisible(c) {
            out.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    // A zero-width space inside keeps the code block whole, and a time token (`<time:…>`) from
    // being shown as a time, and reads the same.
    out.replace("```", "``\u{200B}`").replace("<time:", "<\u{200B}time:")
}

fn outcome_line(plan: &Plan) -> String {
    match &plan.outcome {
        Some(outcome) => outcome_text(outcome),
        None => "No outcome recorded.".to_string(),
    }
}

/// An outcome in a line: the error, or the rows, figures, verification and duration.
pub fn outcome_text(outcome: &Outcome) -> String {
    let figures: Vec<String> = outcome.figures.iter().map(|(k, v)| format!("{k} {v}")).collect();
    match &outcome.error {
        Some(error) => format!("{error} (after {} ms)", outcome.duration_ms),
        None => format!("{} row(s) touched ({}); {}; {} ms.", outcome.rows, figures.join(", "), outcome.verification, outcome.duration_ms),
    }
}

/// A purge's progress, edited into the approval post while it runs.
pub fn progress(plan: &Plan, done: i64, total: i64) -> Post {
    Post::new(Tone::Info, format!("{} approved: running", plan.code()))
        .body(format!("{}\nDeleted {done} of about {total} session(s) so far.", plan.action.describe()))
}

/// `dry_run:true`: the plan and its preview (and a down file, as approvers would see it);
/// nothing asked, nothing run.
pub fn dry_run(action: &Action, preview: &Preview) -> Post {
    let mut body = vec![action.describe(), preview.lines.join("\n")];
    body.extend(sql_excerpt(action));
    body.push("Nothing was asked and nothing ran.".to_string());
    with_files(Post::new(Tone::Info, format!("Dry run: /{}", action.command())).body(body.join("\n")), action)
}

/// The requester's answer: where the approval is asked.
pub fn requested(code: &str) -> Post {
    Post::new(Tone::Info, format!("{code} waits for approval"))
        .body(format!("The approval post is in this channel; approvers react {APPROVE} (or {REJECT} to reject)."))
}

/// In the ops channel when the approvals of a plan cannot be read, checks after checks.
pub fn checks_failing(code: &str, tries: i64, why: &str) -> Post {
    Post::new(Tone::Bad, format!("⚠️ bellhop cannot read the approvals of {code}"))
        .body(format!("{tries} checks in a row failed: {why}\nIt keeps trying; the plan runs once its approvals can be read."))
}

/// The answer to the admin who used break-glass.
pub fn break_glass_used(code: &str, incident: &str, runs: &str) -> Post {
    Post::new(Tone::Warning, format!("Break-glass on {code}")).body(format!("{incident}: {runs}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_reads_as_it_runs_and_cannot_end_its_code_block() {
        assert_eq!(
            visible("SELECT '```' -- <time:1767603900:f>\u{202E}\u{1b}[2J\tx"),
            "SELECT '``\u{200B}`' -- <\u{200B}time:1767603900:f><U+202E><U+001B>[2J\tx"
        );
        let long = format!("SELECT '{}';", "x".repeat(200));
        let action = Action::RollbackMigration {
            version: "1".into(),
            file: "1.down.sql".into(),
            bytes: 0,
            sha256: "ab".into(),
            sql: format!("{long}\nSELECT 2;\n"),
        };
        let excerpt = sql_excerpt(&action).unwrap();
        let lines: Vec<&str> = excerpt.lines().collect();
        assert_eq!(lines[0], "The SQL of `1.down.sql` (sha256 `ab`), whole, also attached:");
        assert_eq!(lines[2].chars().count(), SQL_LINE_CHARS, "cut inline");
        assert!(lines[2].ends_with('…'));
        assert_eq!(lines[1..], ["```sql", lines[2], "SELECT 2;", "```"]);
        assert_eq!(with_files(Post::new(Tone::Info, "t"), &action).attachments[0].text(), Some(format!("{long}\nSELECT 2;\n").as_str()));
    }

    fn plan(state: &str) -> Plan {
        let at = chrono::DateTime::from_timestamp(1_767_600_000, 0).unwrap();
        Plan {
            id: 1,
            action: Action::SetFlags { names: vec!["new-tenant-flow".into()], enable: false, reason: None },
            preview: Preview { rows: 1, lines: vec!["1 flag on now.".into()], figures: Default::default() },
            requester: crate::actor::Person { id: "shell:alice".into(), name: "alice".into() },
            created: at,
            expires: at + chrono::Duration::minutes(15),
            hash: "0123456789abcdef".into(),
            state: state.parse().unwrap(),
            outcome: None,
            incident: None,
            quorum: None,
            quorum_at: None,
        }
    }

    #[test]
    fn every_approval_post_of_a_one_person_gate_says_so() {
        let one = RemediationSettings { approvals_required: 1, requester_may_approve: true, ..RemediationSettings::default() };
        for state in ["pending", "executing", "done", "rejected", "expired"] {
            let post = approval(&plan(state), &[], &one);
            let field = post.fields.iter().find(|f| f.name == "One-person gate");
            assert_eq!(field.map(|f| f.value.as_str()), Some(ONE_PERSON_GATE), "{state}");
        }
        assert!(asking(&plan("pending"), &one).fields.iter().any(|f| f.name == "One-person gate"), "the first post too");
        for two in [
            RemediationSettings::default(),
            RemediationSettings { approvals_required: 1, ..RemediationSettings::default() },
            RemediationSettings { requester_may_approve: true, ..RemediationSettings::default() },
        ] {
            assert!(!approval(&plan("pending"), &[], &two).fields.iter().any(|f| f.name == "One-person gate"), "{two:?}");
        }
    }

    #[test]
    fn what_the_gate_says_beside_the_approval_post() {
        insta::assert_snapshot!(checks_failing("PLAN-4", 3, "the chat timed out"), @r#"
            [bad] ⚠️ bellhop cannot read the approvals of PLAN-4
            3 checks in a row failed: the chat timed out
            It keeps trying; the plan runs once its approvals can be read.
            "#);
        insta::assert_snapshot!(break_glass_used("PLAN-4", "INC-2", "it runs now"), @r#"
            [warning] Break-glass on PLAN-4
            INC-2: it runs now.
            "#);
    }

    #[test]
    fn the_approval_post_through_its_life() {
        let settings = RemediationSettings::default();
        let bob = Vote {
            person: crate::actor::Person { id: "shell:bob".into(), name: "bob".into() },
            emoji: APPROVE.into(),
            counted: true,
            reason: String::new(),
        };
        let dave = Vote {
            person: crate::actor::Person { id: "shell:dave".into(), name: "dave".into() },
            emoji: APPROVE.into(),
            counted: false,
            reason: "has no approver role".into(),
        };
        insta::assert_snapshot!(asking(&plan("pending"), &settings), @r#"
            [warning] Approval needed: PLAN-1 · /flags disable
            Disable the feature flag(s) `new-tenant-flow`.
            1 flag on now.
            Needs 2 more ✅ from approvers other than @alice. ❌ from an approver rejects it; @alice's ❌ withdraws it. Expires <time:1767600900:t>.
            Plan: requested by @alice · hash 0123456789ab
            "#);
        insta::assert_snapshot!(approval(&plan("pending"), &[bob.clone(), dave], &settings), @r#"
            [warning] Approval needed: PLAN-1 · /flags disable
            Disable the feature flag(s) `new-tenant-flow`.
            1 flag on now.
            Needs 1 more ✅ from approvers other than @alice. ❌ from an approver rejects it; @alice's ❌ withdraws it. Expires <time:1767600900:t>.
            Plan: requested by @alice · hash 0123456789ab
            Approved by: @bob
            Not counted: @dave ✅: has no approver role
            "#);
        insta::assert_snapshot!(progress(&plan("executing"), 2_500, 10_000), @r#"
            [info] PLAN-1 approved: running
            Disable the feature flag(s) `new-tenant-flow`.
            Deleted 2500 of about 10000 session(s) so far.
            "#);
        let mut done = plan("done");
        done.outcome = Some(Outcome { rows: 1, verification: "read back: off".into(), duration_ms: 42, ..Outcome::default() });
        insta::assert_snapshot!(approval(&done, &[bob], &settings), @r#"
            [good] PLAN-1 done
            Disable the feature flag(s) `new-tenant-flow`.
            1 flag on now.
            1 row(s) touched (); read back: off; 42 ms.
            Plan: requested by @alice · hash 0123456789ab
            Approved by: @bob
            "#);
        insta::assert_snapshot!(dry_run(&plan("pending").action, &plan("pending").preview), @r#"
            [info] Dry run: /flags disable
            Disable the feature flag(s) `new-tenant-flow`.
            1 flag on now.
            Nothing was asked and nothing ran.
            "#);
        insta::assert_snapshot!(requested("PLAN-1"), @r#"
            [info] PLAN-1 waits for approval
            The approval post is in this channel; approvers react ✅ (or ❌ to reject).
            "#);
    }
}
