//! The two-person gate: a request becomes a plan and its approval post; ✅ and ❌ from people
//! holding the approver role decide it; the plan runs at most once, and never after expiry.

use super::action::Action;
use super::plan::{hash, Plan};
use super::posts::{self, APPROVE, REJECT};
use super::{Ctx, PlanState};
use crate::actor::{Actor, Role};
use crate::chat_port::Reactor;
use crate::error::CommandError;
use crate::outbox::{Binding, Op, Part};
use crate::post::{ChannelName, Destination, Reply};
use crate::store::{AuditEntry, NewPlan, Tx, Vote};
use crate::subject::{Subject, SubjectKind};
use crate::timers::{Job, Timer, TimerOutcome};
use chrono::{DateTime, Utc};

pub(super) fn subject(id: i64) -> Subject {
    Subject { kind: SubjectKind::Plan, id }
}

pub(super) fn approval_binding(id: i64) -> Binding {
    Binding::new(subject(id), Part::Approval)
}

/// A request: previews the action, stores the plan, and queues the approval post with bellhop's
/// own ✅ and ❌ and the expiry timer, all in one transaction.
pub(crate) async fn request(
    cx: &Ctx<'_>,
    actor: &Actor,
    channel: Option<&str>,
    action: Action,
    dry_run: bool,
) -> Result<Reply, CommandError> {
    let Some(target) = cx.target() else {
        return Err(CommandError::user("bellhop has no target database: SUPABASE_DB_URL is not set."));
    };
    let action = action.resolve(&cx.store, cx.settings, target).await?;
    let preview = action.preview(target).await?;
    if dry_run {
        return Ok(Reply::invoker(posts::dry_run(&action, &preview)));
    }
    let settings = cx.settings;
    let now = cx.clock.now();
    let expires = now + chrono::Duration::from_std(settings.expiry).map_err(anyhow::Error::from)?;
    let requester = actor.person();
    let plan_hash = hash(&action, &preview, &requester, now, expires);
    let (params, preview_json) =
        (serde_json::to_string(&action).map_err(anyhow::Error::from)?, serde_json::to_string(&preview).map_err(anyhow::Error::from)?);
    let incident = match channel {
        Some(key) => cx.store.subjects_in(key).await?.into_iter().find(|s| s.kind == SubjectKind::Incident).map(|s| s.id),
        None => None,
    };
    let mut tx = cx.store.begin(now).await?;
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
        state: PlanState::Pending,
        outcome: None,
        incident,
        quorum: None,
        quorum_at: None,
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
    audit(cx, actor, id, format!("requested: {} (hash {})", plan.action.describe(), plan.hash)).await;
    Ok(Reply::invoker(posts::requested(&plan.code())))
}

/// A person's ✅ or ❌ added or removed on a plan's approval post, in the transaction that
/// records the reaction itself: the vote, the post's edit and — at quorum — the ask for a check
/// commit together, or not at all. It only updates the post: the check reads the post's
/// reactions and the approvers' roles again through the chat before the plan runs
/// (`runs::check`). Returns what the audit should say, if anything.
pub(crate) async fn on_reaction(
    cx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    plan: &Plan,
    actor: &Actor,
    emoji: &str,
    added: bool,
) -> anyhow::Result<Option<String>> {
    if emoji != APPROVE && emoji != REJECT {
        return Ok(None);
    }
    let now = tx.now();
    if plan.state != PlanState::Pending {
        return Ok(Some(format!("{emoji} after the plan was {}: not counted", plan.state)));
    }
    let vote = judge(cx, plan, &Reactor::Member(actor.clone()), emoji);
    if plan.expires <= now && added {
        close_in(cx, tx, plan, PlanState::Expired).await?;
        return Ok(Some(format!("{emoji} after the plan expired: not counted")));
    }
    let changed = match added {
        true => tx.record_vote(plan.id, &vote, now).await?,
        false => tx.remove_vote(plan.id, &vote.person, emoji).await?,
    };
    if !changed {
        return Ok(None);
    }
    let verb = if added { "given" } else { "withdrawn" };
    let counted = if vote.counted { "counted".to_string() } else { format!("not counted: {}", vote.reason) };
    let said = format!("{emoji} {verb}, {counted}");
    if let (true, Some(state)) = (added, closing(plan, std::slice::from_ref(&vote))) {
        close_in(cx, tx, plan, state).await?;
        return Ok(Some(said));
    }
    let votes = tx.votes(plan.id).await?;
    if tx.touch_pending_plan(plan.id).await? {
        tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::approval(plan, &votes, cx.settings) }).await?;
    }
    if approvals(&votes) >= plan.needed(cx.settings) {
        tx.want_plan_check(plan.id, now).await?;
    }
    Ok(Some(said))
}

/// Counted approvals among the votes: ✅ on the post, and an admin's break-glass.
pub(super) fn approvals(votes: &[Vote]) -> usize {
    votes.iter().filter(|v| posts::is_approval(v)).count()
}

/// What the votes close the plan as: the requester's ❌ withdraws it, an approver's rejects it.
pub(super) fn closing(plan: &Plan, votes: &[Vote]) -> Option<PlanState> {
    let crosses = || votes.iter().filter(|v| v.counted && v.emoji == REJECT);
    if crosses().any(|v| v.person.id == plan.requester.id) {
        Some(PlanState::Withdrawn)
    } else {
        crosses().next().map(|_| PlanState::Rejected)
    }
}

/// Whether a vote counts, and why not.
pub(super) fn judge(cx: &Ctx<'_>, plan: &Plan, reactor: &Reactor, emoji: &str) -> Vote {
    let settings = cx.settings;
    let actor = match reactor {
        Reactor::Member(actor) => actor,
        Reactor::Departed(person) => {
            return Vote { person: person.clone(), emoji: emoji.to_string(), counted: false, reason: "is not a member any more".into() }
        }
    };
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
/// A plan whose approvals reached quorum in time is not expired while its check is pending: the
/// check confirms the approvals and runs it, or finds them short and expires it.
pub(crate) async fn timer(cx: &Ctx<'_>, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<TimerOutcome> {
    if timer.job == Job::PlanExpiry {
        match load(cx, timer.owner.id).await? {
            Some(plan) if plan.approved_in_time() => {
                cx.store.want_plan_check(plan.id, now).await?;
            }
            _ => expire(cx, timer.owner.id, now).await?,
        }
    }
    Ok(TimerOutcome::default())
}

pub(super) async fn expire(cx: &Ctx<'_>, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    close(cx, id, PlanState::Expired, now).await
}

/// pending → rejected, withdrawn or expired, with the post edited in the same transaction.
pub(super) async fn close(cx: &Ctx<'_>, id: i64, state: PlanState, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(plan) = load(cx, id).await? else { return Ok(()) };
    let mut tx = cx.store.begin(now).await?;
    close_in(cx, &mut tx, &plan, state).await?;
    tx.commit().await
}

/// [`close`] within `tx`; its audit entry lands with it.
async fn close_in(cx: &Ctx<'_>, tx: &mut Tx<'_>, plan: &Plan, state: PlanState) -> anyhow::Result<()> {
    if !tx.close_pending_plan(plan.id, state.as_str(), tx.now()).await? {
        return Ok(());
    }
    let votes = tx.votes(plan.id).await?;
    let closed = Plan { state, ..plan.clone() };
    tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::approval(&closed, &votes, cx.settings) }).await?;
    tx.cancel_timers(subject(plan.id), &[]).await?;
    tx.audit(&entry(cx, &Actor::system("remediation"), plan.id, state.to_string())).await?;
    crate::metrics::plan_finished(state.as_str());
    Ok(())
}

pub(super) async fn load(cx: &Ctx<'_>, id: i64) -> anyhow::Result<Option<Plan>> {
    cx.store.plan(id).await?.map(Plan::from_row).transpose()
}

/// Every step of a plan, append-only, beside the commands in the audit log.
pub(super) async fn audit(cx: &Ctx<'_>, actor: &Actor, id: i64, outcome: String) {
    if let Err(error) = cx.store.record_audit(&entry(cx, actor, id, outcome)).await {
        tracing::warn!(error = format!("{error:#}"), "cannot record the plan's audit entry");
    }
}

/// A plan's audit entry, to record now or with a transaction.
pub(crate) fn entry(cx: &Ctx<'_>, actor: &Actor, id: i64, outcome: String) -> AuditEntry {
    AuditEntry {
        at: cx.clock.now(),
        actor_id: actor.id.clone(),
        actor_name: cx.audit_name(&actor.name),
        command: format!("/plan {}", super::effects::code(id)),
        outcome: crate::text::ellipsize(&outcome, 500),
    }
}
