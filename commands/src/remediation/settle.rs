//! Where plans run: in the loop that holds the chat port, not in a reaction's handler. A plan
//! at quorum is checked against its post first — the ✅ and ❌ on it now, each person's roles as
//! they are now — so a role taken away counts at once, a reaction given while bellhop was down
//! counts after the restart, and only then is the plan claimed and run.

use super::gate::{self, approval_binding, approvals, audit, judge, subject};
use super::plan::{Outcome, Plan, Progress};
use super::posts::{self, APPROVE, REJECT};
use crate::actor::Actor;
use crate::chat_port::{ChatPort, MessageRef};
use crate::core::Core;
use crate::outbox::Op;
use crate::store::{Vote, VoteChange};
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::Ordering;

/// How long one bellhop holds a plan's check before another may take it over.
const CHECK_LEASE_S: i64 = 60;
/// How long a runner may go without a word before its plan is called interrupted; every batch
/// of a long action renews it.
const RUN_LEASE_S: i64 = 600;

const INTERRUPTED: &str = "bellhop stopped while this plan ran. A single-transaction action rolled back; \
    the batches of a purge committed before the stop stay. Check the target before asking again.";

impl Core {
    /// Checks and runs the plans that reached quorum, marks interrupted the ones whose runner
    /// stopped, and (the first time after a start) re-reads every pending plan's post. Returns
    /// how many plans ran. Each plan is handled on its own: one failing does not stop the others.
    pub async fn settle_plans(&self, port: &dyn ChatPort) -> anyhow::Result<usize> {
        let now = self.clock.now();
        if !self.plans_reconciled.swap(true, Ordering::SeqCst) {
            let pending = self.store.want_all_plan_checks(now).await?;
            tracing::info!(pending, "pending plans will be checked against their posts");
        }
        let outcome = serde_json::to_string(&Outcome { error: Some(INTERRUPTED.to_string()), ..Outcome::default() })?;
        for id in self.store.interrupt_stale_plans(now, &outcome).await? {
            if let Err(error) = interrupted(self, id, now).await {
                tracing::error!(plan = id, error = format!("{error:#}"), "cannot report an interrupted plan");
            }
        }
        let until = now + Duration::seconds(CHECK_LEASE_S);
        let mut ran = 0;
        for id in self.store.claim_plan_checks(now, until).await? {
            match check(self, port, id, until).await {
                Ok(true) => ran += 1,
                Ok(false) => {}
                // The claim stays until `until`: the check is tried again then.
                Err(error) => tracing::warn!(plan = id, error = format!("{error:#}"), "cannot check a plan's approvals; will retry"),
            }
        }
        Ok(ran)
    }
}

/// Reads the post's reactions, records what changed, then rejects, runs, or waits.
async fn check(core: &Core, port: &dyn ChatPort, id: i64, claimed: DateTime<Utc>) -> anyhow::Result<bool> {
    let now = core.clock.now();
    let Some(plan) = gate::load(core, id).await? else { return Ok(false) };
    if plan.state != "pending" {
        return Ok(false);
    }
    if plan.expires <= now {
        gate::expire(core, id, now).await?;
        return Ok(false);
    }
    let Some(message) = core.store.bound_message(&approval_binding(id)).await? else {
        // Not posted yet: nobody can have reacted.
        core.store.end_plan_check(id, claimed).await?;
        return Ok(false);
    };
    let mut on_post = Vec::new();
    for emoji in [APPROVE, REJECT] {
        let people = port.reactions(&message, emoji).await?;
        on_post.extend(people.iter().map(|person| judge(core, &plan, person, emoji)));
    }
    let changes = core.store.replace_votes(id, &[APPROVE, REJECT], &on_post, now).await?;
    for change in &changes {
        let (person, text) = describe(change);
        audit(core, &Actor::new(person.id.clone(), person.name.clone(), []), id, text).await;
    }
    if let Some(state) = gate::closing(&plan, &on_post) {
        gate::close(core, id, state, now).await?;
        return Ok(false);
    }
    let votes = core.store.votes(id).await?;
    let mut tx = core.store.begin(now).await?;
    if approvals(&votes) < plan.needed(&core.remediation) {
        if !changes.is_empty() && tx.touch_pending_plan(id).await? {
            tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, &core.remediation) }).await?;
        }
        tx.commit().await?;
        core.store.end_plan_check(id, claimed).await?;
        return Ok(false);
    }
    if !tx.claim_plan(id, now, now + Duration::seconds(RUN_LEASE_S)).await? {
        return tx.commit().await.map(|()| false);
    }
    let running = Plan { state: "executing".into(), ..plan };
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&running, &votes, &core.remediation) }).await?;
    tx.commit().await?;
    let names: Vec<String> = votes.iter().filter(|v| posts::is_approval(v)).map(|v| v.person.mention()).collect();
    audit(core, &Actor::system("remediation"), id, format!("approved by {}, roles checked on the post; executing", names.join(", "))).await;
    // "Running" goes out before the first progress edit.
    core.deliver_outbox(port).await?;
    execute(core, port, &running, &votes, &message).await?;
    Ok(true)
}

fn describe(change: &VoteChange) -> (&crate::actor::Person, String) {
    let counted = |v: &Vote| if v.counted { "counted".to_string() } else { format!("not counted: {}", v.reason) };
    match change {
        VoteChange::Seen(v) => (&v.person, format!("{} found on the post (given while bellhop did not hear it), {}", v.emoji, counted(v))),
        VoteChange::Gone(v) => (&v.person, format!("{} no longer on the post: withdrawn", v.emoji)),
        VoteChange::Rejudged(v) => (&v.person, format!("{} judged again with the roles held now: {}", v.emoji, counted(v))),
    }
}

/// Runs a claimed plan: the drift guard, the action, then the outcome stored and posted.
async fn execute(core: &Core, port: &dyn ChatPort, plan: &Plan, votes: &[Vote], message: &MessageRef) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let settings = &core.remediation;
    let progress = PostProgress { core, port, plan, message };
    let result = match core.target() {
        None => Err(("failed", "bellhop has no target database: SUPABASE_DB_URL is not set.".to_string())),
        Some(_) if !plan.intact() => Err(("aborted", "The stored plan no longer matches its hash; nothing ran.".to_string())),
        Some(target) => match plan.action.preview(target).await {
            Err(error) => Err(("aborted", format!("The preview failed again at execution: {error} Nothing ran."))),
            Ok(now) if settings.drifted(plan.preview.rows, now.rows) => Err((
                "aborted",
                format!(
                    "Drift: {} rows now, {} approved (margin {} % and {} rows). Nothing ran; ask again for a new approval.",
                    now.rows, plan.preview.rows, settings.drift_percent, settings.drift_rows
                ),
            )),
            Ok(fresh) => plan.action.execute(target, settings, &fresh, &progress).await.map_err(|e| ("failed", e)),
        },
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (state, outcome) = match result {
        Ok(done) => (
            "done",
            Outcome {
                rows: done.rows,
                figures: done.figures,
                verification: done.verification,
                duration_ms,
                error: None,
                saved: done.saved,
            },
        ),
        Err((state, error)) => (state, Outcome { duration_ms, error: Some(error), ..Outcome::default() }),
    };
    let now = core.clock.now();
    let finished = Plan { state: state.into(), outcome: Some(outcome.clone()), ..plan.clone() };
    let mut tx = core.store.begin(now).await?;
    if tx.finish_plan(plan.id, state, &serde_json::to_string(&outcome)?, now).await? {
        tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::approval(&finished, votes, settings) }).await?;
    }
    tx.cancel_timers(subject(plan.id), &[]).await?;
    tx.commit().await?;
    crate::metrics::plan_finished(state);
    audit(core, &Actor::system("remediation"), plan.id, format!("{state}: {}", posts::outcome_text(&outcome))).await;
    Ok(())
}

/// A plan whose runner stopped: its post and the audit say so.
async fn interrupted(core: &Core, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(plan) = gate::load(core, id).await? else { return Ok(()) };
    let votes = core.store.votes(id).await?;
    let mut tx = core.store.begin(now).await?;
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, &core.remediation) }).await?;
    tx.cancel_timers(subject(id), &[]).await?;
    tx.commit().await?;
    audit(core, &Actor::system("remediation"), id, format!("interrupted: {INTERRUPTED}")).await;
    Ok(())
}

/// Shows how far a long action got by editing the approval post directly (a lost progress edit
/// is replaced by the next; the outcome goes through the outbox), and renews the run's lease.
struct PostProgress<'a> {
    core: &'a Core,
    port: &'a dyn ChatPort,
    plan: &'a Plan,
    message: &'a MessageRef,
}

#[async_trait::async_trait]
impl Progress for PostProgress<'_> {
    async fn report(&self, done: i64, total: i64) {
        let until = self.core.clock.now() + Duration::seconds(RUN_LEASE_S);
        if let Err(error) = self.core.store.extend_plan_lease(self.plan.id, until).await {
            tracing::warn!(error = format!("{error:#}"), "cannot renew a running plan's lease");
        }
        if let Err(error) = self.port.edit(self.message, &posts::progress(self.plan, done, total)).await {
            tracing::warn!(error = %error, "cannot show a plan's progress");
        }
    }
}
