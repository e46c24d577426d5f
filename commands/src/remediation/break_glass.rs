//! Break-glass for a P0: an admin lets a plan asked in an open P0 incident's thread run with one
//! approval instead of two. The admin's command is that approval — unless they asked for the plan
//! themselves, when one approver other than them must still react ✅ — so two people always stand
//! behind what runs. It is loud: the escalation roles (system administrator, infrastructure) are
//! pinged in the incident's thread by default, and the post and the timeline name them; the
//! incident's timeline and the audit log keep it.

use super::gate::{self, approval_binding, audit};
use super::posts;
use super::{Ctx, PlanState};
use crate::actor::Actor;
use crate::error::CommandError;
use crate::incident::{Severity, TimelineKind};
use crate::outbox::Op;
use crate::post::{Destination, Ping, Post, Reply, Tone};
use crate::store::Vote;

pub use super::posts::BREAK_GLASS;

pub(crate) async fn run(cx: &Ctx<'_>, actor: &Actor, id: i64, reason: &str) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let code = super::effects::code(id);
    let Some(plan) = gate::load(cx, id).await? else {
        return Err(CommandError::user(format!("There is no {code}.")));
    };
    if plan.state != PlanState::Pending || plan.expires <= now {
        let state = if plan.state == PlanState::Pending { PlanState::Expired } else { plan.state };
        return Err(CommandError::user(format!("{code} is {state}; break-glass only lets a pending plan run.")));
    }
    let incident = match plan.incident {
        Some(incident) => cx.store.incident(incident).await?,
        None => None,
    };
    let Some(incident) = incident.filter(|i| i.is_open() && i.severity == Severity::P0) else {
        return Err(CommandError::user(format!(
            "Break-glass is for a plan asked in an open P0 incident's thread; {code} was not. Get two approvals instead."
        )));
    };
    let counts = !actor.is(&plan.requester) || cx.settings.requester_may_approve;
    let who = actor.person().mention();
    let runs = match counts {
        true => format!("it runs now on {who}'s approval"),
        false => format!("{who} asked for it, so one ✅ from another approver runs it"),
    };
    let paged: Vec<Ping> = cx.escalation.iter().map(|step| step.ping.clone()).collect();
    let by = format!("{who} during {} (P0)", incident.code());
    let loud = announcement(&code, &plan.action.describe(), &runs, reason, &by, &paged);
    let mut votes = cx.store.votes(id).await?;
    let own = Vote { person: actor.person(), emoji: BREAK_GLASS.to_string(), counted: true, reason: String::new() };
    // The quorum, the admin's approval, the timeline, the loud post and the edit land together.
    let mut tx = cx.store.begin(now).await?;
    if !tx.set_plan_quorum(id, 1).await? {
        return Err(CommandError::user(format!("{code} is no longer pending.")));
    }
    if counts && tx.record_vote(id, &own, now).await? {
        votes.push(own);
    }
    let plan = super::Plan { quorum: Some(1), ..plan };
    let told = format!("{who} broke glass on {code} ({reason}); {runs}; paged {}", paged_text(&paged));
    tx.timeline(incident.id, &actor.person(), TimelineKind::BreakGlass, &told).await?;
    tx.post(Destination::Place { subject: incident.subject() }, loud).await?;
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, cx.settings) }).await?;
    tx.commit().await?;
    if gate::approvals(&votes) >= 1 {
        cx.store.want_plan_check(id, now).await?;
    }
    audit(cx, actor, id, format!("break-glass during {}: {reason}; {runs}", incident.code())).await;
    Ok(Reply::invoker(posts::break_glass_used(&code, &incident.code(), &runs)))
}

/// The loud post in the incident's thread: what runs, why, by whom, and who was paged for it.
fn announcement(code: &str, action: &str, runs: &str, reason: &str, by: &str, paged: &[Ping]) -> Post {
    let mut post = Post::new(Tone::Bad, format!("🔓 Break-glass on {code}: one approval instead of two"))
        .body(format!("{action}\n{}", crate::text::sentence(runs)))
        .field("Reason", reason.to_string())
        .field("By", by.to_string())
        .field(
            "Paged",
            match paged.is_empty() {
                true => "nobody: no escalation role is set (BELLHOP_PAGE_SYSADMIN, BELLHOP_PAGE_INFRA)".to_string(),
                false => format!("{} (the escalation roles)", paged_text(paged)),
            },
        );
    for ping in paged {
        post = post.ping(ping.clone());
    }
    post
}

/// `@sysadmin, @infrastructure`, or a plain "nobody" when no escalation role is configured.
fn paged_text(paged: &[Ping]) -> String {
    match paged.is_empty() {
        true => "nobody".to_string(),
        false => paged.iter().map(Ping::label).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::IncidentSettings;

    fn role(name: &str) -> Ping {
        Ping::role(name)
    }

    #[test]
    fn break_glass_pings_the_escalation_roles_and_names_them() {
        let paged: Vec<Ping> = IncidentSettings::default().escalation.into_iter().map(|step| step.ping).collect();
        let post = announcement(
            "PLAN-1",
            "Disable the flag.",
            "it runs now on @erin's approval",
            "sign-in down",
            "@erin during INC-1 (P0)",
            &paged,
        );
        assert_eq!(post.pings, [role("sysadmin"), role("infrastructure")], "by default, the runbook's escalation chain");
        let field = |name: &str| post.fields.iter().find(|f| f.name == name).map(|f| f.value.clone());
        assert_eq!(field("Paged").as_deref(), Some("@sysadmin, @infrastructure (the escalation roles)"));
        assert_eq!(post.body, "Disable the flag.\nIt runs now on @erin's approval.");
        let nobody = announcement("PLAN-1", "x", "y", "z", "w", &[]);
        let said = nobody.fields.iter().find(|f| f.name == "Paged").map(|f| f.value.as_str());
        assert_eq!(said, Some("nobody: no escalation role is set (BELLHOP_PAGE_SYSADMIN, BELLHOP_PAGE_INFRA)"));
    }
}
