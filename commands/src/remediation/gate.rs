//! The two-person gate: a request becomes a plan and its approval post; ✅ and ❌ from people
//! holding the approver role decide it; the plan runs at most once, and never after expiry.

use super::plan::{hash, Action, Plan};
use super::posts::{self, APPROVE, REJECT};
use crate::actor::{Actor, Role};
use crate::core::Core;
use crate::error::CommandError;
use crate::outbox::{Binding, Op};
use crate::post::{ChannelName, Destination, Reply};
use crate::store::{AuditEntry, NewPlan, Vote};
use crate::subject::{Subject, SubjectKind};
use crate::timers::{Job, Timer, TimerOutcome};
use chrono::{DateTime, Utc};

pub(super) fn subject(id: i64) -> Subject {
    Subject { kind: SubjectKind::Plan, id }
}

pub(super) fn approval_binding(id: i64) -> Binding {
    Binding::new(subject(id), "approval")
}

/// A request: previews the action, stores the plan, and queues the approval post with bellhop's
/// own ✅ and ❌ and the expiry timer, all in one transaction.
pub(crate) async fn request(
    core: &Core,
    actor: &Actor,
    channel: Option<&str>,
    action: Action,
    dry_run: bool,
) -> Result<Reply, CommandError> {
    let Some(target) = core.target() else {
        return Err(CommandError::user("bellhop has no target database: SUPABASE_DB_URL is not set."));
    };
    let action = action.resolve(&core.store, &core.remediation).await?;
    let preview = action.preview(target).await?;
    if dry_run {
        return Ok(Reply::invoker(posts::dry_run(&action, &preview)));
    }
    let settings = &core.remediation;
    let now = core.clock.now();
    let expires = now + chrono::Duration::from_std(settings.expiry).map_err(anyhow::Error::from)?;
    let requester = actor.person();
    let plan_hash = hash(&action, &preview, &requester, now, expires);
    let (params, preview_json) =
        (serde_json::to_string(&action).map_err(anyhow::Error::from)?, serde_json::to_string(&preview).map_err(anyhow::Error::from)?);
    let incident = match channel {
        Some(key) => core.store.subjects_in(key).await?.into_iter().find(|s| s.kind == SubjectKind::Incident).map(|s| s.id),
        None => None,
    };
    let mut tx = core.store.begin(now).await?;
    let new = NewPlan {
        action: action.command(),
        params: &params,
        preview: &preview_json,
        requester: &requester,
        created: now,
        expires,
        hash: &plan_hash,
        incident,
    };
    let id = tx.insert_plan(&new).await?;
    let plan = Plan {
        id,
        action,
        preview,
        requester,
        created: now,
        expires,
        hash: plan_hash,
        state: "pending".into(),
        outcome: None,
        incident,
        quorum: None,
    };
    let to = match channel {
        Some(key) => Destination::Key { key: key.to_string() },
        None => Destination::Channel { channel: ChannelName::Ops },
    };
    let post = posts::asking(&plan, settings).ping(settings.approver_ping.clone());
    tx.enqueue(&Op::Post { to, post, bind: Some(approval_binding(id)) }).await?;
    for emoji in [APPROVE, REJECT] {
        tx.enqueue(&Op::React { on: approval_binding(id), emoji: emoji.to_string() }).await?;
    }
    tx.schedule(subject(id), &Job::PlanExpiry, expires).await?;
    tx.commit().await?;
    audit(core, actor, id, format!("requested: {} (hash {})", plan.action.describe(), plan.hash)).await;
    Ok(Reply::invoker(posts::requested(&plan.code())))
}

/// A person's ✅ or ❌ added or removed on a plan's approval post (recorded once already).
/// It only updates the post; at quorum it asks for a check, which reads the post's reactions
/// and the approvers' roles again through the chat and runs the plan (`settle::check`).
pub(crate) async fn on_reaction(core: &Core, actor: &Actor, id: i64, emoji: &str, added: bool) -> anyhow::Result<()> {
    if emoji != APPROVE && emoji != REJECT {
        return Ok(());
    }
    let now = core.clock.now();
    let Some(plan) = load(core, id).await? else { return Ok(()) };
    if plan.state != "pending" {
        audit(core, actor, id, format!("{emoji} after the plan was {}: not counted", plan.state)).await;
        return Ok(());
    }
    if plan.expires <= now {
        return expire(core, id, now).await;
    }
    let vote = judge(core, &plan, actor, emoji);
    let changed = match added {
        true => core.store.record_vote(id, &vote, now).await?,
        false => core.store.remove_vote(id, &vote.person, emoji).await?,
    };
    if !changed {
        return Ok(());
    }
    let verb = if added { "given" } else { "withdrawn" };
    let counted = if vote.counted { "counted".to_string() } else { format!("not counted: {}", vote.reason) };
    audit(core, actor, id, format!("{emoji} {verb}, {counted}")).await;
    if let (true, Some(state)) = (added, closing(&plan, std::slice::from_ref(&vote))) {
        return close(core, id, state, now).await;
    }
    let votes = core.store.votes(id).await?;
    let mut tx = core.store.begin(now).await?;
    if tx.touch_pending_plan(id).await? {
        tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, &core.remediation) }).await?;
    }
    tx.commit().await?;
    if approvals(&votes) >= plan.needed(&core.remediation) {
        core.store.want_plan_check(id, now).await?;
    }
    Ok(())
}

/// Counted approvals among the votes: ✅ on the post, and an admin's break-glass.
pub(super) fn approvals(votes: &[Vote]) -> usize {
    votes.iter().filter(|v| posts::is_approval(v)).count()
}

/// What the votes close the plan as: the requester's ❌ withdraws it, an approver's rejects it.
pub(super) fn closing(plan: &Plan, votes: &[Vote]) -> Option<&'static str> {
    let crosses = || votes.iter().filter(|v| v.counted && v.emoji == REJECT);
    if crosses().any(|v| v.person.id == plan.requester.id) {
        Some("withdrawn")
    } else {
        crosses().next().map(|_| "rejected")
    }
}

/// Whether a vote counts, and why not.
pub(super) fn judge(core: &Core, plan: &Plan, actor: &Actor, emoji: &str) -> Vote {
    let settings = &core.remediation;
    let reason = if emoji == REJECT && actor.is(&plan.requester) {
        "" // the requester's own ❌ withdraws the plan
    } else if !actor.has(Role::Approver) {
        "has no approver role"
    } else if actor.is(&plan.requester) && !settings.requester_may_approve {
        "is the requester"
    } else {
        ""
    };
    Vote { person: actor.person(), emoji: emoji.to_string(), counted: reason.is_empty(), reason: reason.to_string() }
}

/// The expiry timer fired: a plan still pending is closed and its post says so.
pub(crate) async fn timer(core: &Core, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<TimerOutcome> {
    if timer.job == Job::PlanExpiry {
        expire(core, timer.owner.id, now).await?;
    }
    Ok(TimerOutcome::default())
}

pub(super) async fn expire(core: &Core, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    close(core, id, "expired", now).await
}

/// pending → rejected or expired, with the post edited in the same transaction.
pub(super) async fn close(core: &Core, id: i64, state: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(plan) = load(core, id).await? else { return Ok(()) };
    let votes = core.store.votes(id).await?;
    let mut tx = core.store.begin(now).await?;
    if !tx.close_pending_plan(id, state, now).await? {
        return tx.commit().await;
    }
    let closed = Plan { state: state.into(), ..plan };
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&closed, &votes, &core.remediation) }).await?;
    tx.cancel_timers(subject(id), &[]).await?;
    tx.commit().await?;
    audit(core, &Actor::system("remediation"), id, state.to_string()).await;
    Ok(())
}

pub(super) async fn load(core: &Core, id: i64) -> anyhow::Result<Option<Plan>> {
    core.store.plan(id).await?.map(Plan::from_row).transpose()
}

/// Every step of a plan, append-only, beside the commands in the audit log.
pub(super) async fn audit(core: &Core, actor: &Actor, id: i64, outcome: String) {
    let entry = AuditEntry {
        at: core.clock.now(),
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        command: format!("/plan {}", super::plan::code(id)),
        outcome: crate::text::ellipsize(&outcome, 500),
    };
    if let Err(error) = core.store.record_audit(&entry).await {
        tracing::warn!(error = format!("{error:#}"), "cannot record the plan's audit entry");
    }
}
