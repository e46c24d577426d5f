//! What people read about a plan: the approval post in each of its states, and the dry run.

use super::plan::{Action, Outcome, Plan, Preview, RemediationSettings};
use crate::post::{Post, Tone};
use crate::store::Vote;

pub const APPROVE: &str = "✅";
pub const REJECT: &str = "❌";

/// A counted approval: a ✅, or an admin's break-glass.
pub fn is_approval(vote: &Vote) -> bool {
    vote.counted && (vote.emoji == APPROVE || vote.emoji == super::break_glass::BREAK_GLASS)
}

/// The approval post, as it reads for the plan's state and votes (edited in place).
pub fn approval(plan: &Plan, votes: &[Vote], settings: &RemediationSettings) -> Post {
    let code = plan.code();
    let approvers: Vec<String> = votes
        .iter()
        .filter(|v| is_approval(v))
        .map(|v| if v.emoji == APPROVE { v.person.mention() } else { format!("{} (break-glass)", v.person.mention()) })
        .collect();
    let (tone, title, status) = match plan.state.as_str() {
        "pending" => {
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
        "executing" => (Tone::Info, format!("{code} approved: running"), "Approved; running now.".to_string()),
        "done" => (Tone::Good, format!("{code} done"), outcome_line(plan)),
        "failed" => (Tone::Bad, format!("{code} failed"), outcome_line(plan)),
        "aborted" => (Tone::Bad, format!("{code} aborted"), outcome_line(plan)),
        "interrupted" => (Tone::Bad, format!("{code} interrupted"), outcome_line(plan)),
        "rejected" => (Tone::Bad, format!("{code} rejected"), "Rejected by an approver; nothing ran.".to_string()),
        "withdrawn" => (Tone::Info, format!("{code} withdrawn"), format!("Withdrawn by {}; nothing ran.", plan.requester.mention())),
        _ => (
            Tone::Info,
            format!("{code} expired"),
            "Expired before enough approvals; it can never run. Ask again if still needed.".to_string(),
        ),
    };
    let mut post = Post::new(tone, title).body(format!("{}\n{}\n{status}", plan.action.describe(), plan.preview.lines.join("\n")));
    post = post.field("Plan", format!("requested by {} · hash {}", plan.requester.mention(), &plan.hash[..12.min(plan.hash.len())]));
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

/// `dry_run:true`: the plan and its preview; nothing asked, nothing run.
pub fn dry_run(action: &Action, preview: &Preview) -> Post {
    Post::new(Tone::Info, format!("Dry run: /{}", action.command())).body(format!(
        "{}\n{}\nNothing was asked and nothing ran.",
        action.describe(),
        preview.lines.join("\n")
    ))
}

/// The requester's answer: where the approval is asked.
pub fn requested(code: &str) -> Post {
    Post::new(Tone::Info, format!("{code} waits for approval"))
        .body(format!("The approval post is in this channel; approvers react {APPROVE} (or {REJECT} to reject)."))
}
