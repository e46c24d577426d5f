//! Where plans run: in the loop that holds the chat port, not in a reaction's handler. A plan
//! at quorum is checked against its post first — the ✅ and ❌ on it now, each person's roles as
//! they are now — so a role taken away counts at once, a reaction given while bellhop was down
//! counts after the restart, and only then is the plan claimed. Each claimed plan runs in a task
//! of its own, so a long purge holds back no other plan and no check.

use super::gate::{self, approval_binding, approvals, audit, entry, judge, subject};
use super::plan::{Outcome, Plan, Progress};
use super::posts::{self, APPROVE, REJECT};
use super::PlanState;
use crate::actor::Actor;
use crate::chat_port::{ChatPort, MessageRef};
use crate::core::Core;
use crate::incident::Severity;
use crate::outbox::Op;
use crate::post::{ChannelName, Destination, Post, Tone};
use crate::store::{Vote, VoteChange};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use tracing::Instrument as _;

/// How long one bellhop holds a plan's check before another may take it over.
const CHECK_LEASE_S: i64 = 60;
/// How long a runner may go without a word before its plan is called interrupted; its
/// progress reporter renews it every minute.
const RUN_LEASE_S: i64 = 600;
/// Pending plans are read against their posts this often, besides at quorum: a reaction whose
/// event was lost (a reconnection) still counts.
const RECHECK_EVERY_S: i64 = 300;
/// Checks in a row that cannot read a plan's post before its post and the ops channel say so.
const FAILURES_SAID: i64 = 3;
/// Approved plans that run at once; each holds at most one connection of the write pool.
pub(crate) const RUNNING_PLANS: usize = 4;
/// A long action's progress is shown at most this often.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

const INTERRUPTED: &str = "bellhop stopped while this plan ran. A single-transaction action rolled back; \
    the batches of a purge committed before the stop stay. Check the target before asking again.";
const NEVER_STARTED: &str = "bellhop stopped before this plan's first write; nothing changed. Ask again if it is still needed.";

/// A plan claimed for running, with what its run needs.
struct Claimed {
    plan: Plan,
    votes: Vec<Vote>,
    message: MessageRef,
}

impl Core {
    /// Reads pending plans against their posts (at quorum, every few minutes, and after a
    /// restart or a reconnection), marks the plans whose runner stopped, and starts each plan
    /// that may run in a task of its own. Returns how many it started. Each plan is handled on
    /// its own: one failing holds back no other.
    pub async fn check_plans(self: &Arc<Self>, port: &Arc<dyn ChatPort>) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let recheck = {
            let mut last = self.plans_rechecked.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|at| now - at >= Duration::seconds(RECHECK_EVERY_S));
            if due {
                *last = Some(now);
            }
            due
        };
        if recheck {
            let pending = self.store.want_all_plan_checks(now).await?;
            tracing::debug!(pending, "pending plans will be read against their posts");
        }
        let interrupted = serde_json::to_string(&Outcome { error: Some(INTERRUPTED.to_string()), ..Outcome::default() })?;
        let unstarted = serde_json::to_string(&Outcome { error: Some(NEVER_STARTED.to_string()), ..Outcome::default() })?;
        for id in self.store.interrupt_stale_plans(now, &interrupted, &unstarted).await? {
            if let Err(error) = stopped(self, id, now).await {
                tracing::error!(plan = id, error = format!("{error:#}"), "cannot report a plan whose runner stopped");
            }
        }
        let until = now + Duration::seconds(CHECK_LEASE_S);
        let mut started = 0;
        for id in self.store.claim_plan_checks(now, until).await? {
            match check(self, port.as_ref(), id, until).await {
                Ok(Some(claimed)) => {
                    started += 1;
                    self.start_plan(port, claimed);
                }
                Ok(None) => {}
                // The claim stays until `until`: the check is tried again then.
                Err(error) => checking_failed(self, id, &error).await,
            }
        }
        Ok(started)
    }

    /// Every pending plan is read against its post at the next pass (after a reconnection, whose
    /// lost reaction events the chat does not replay).
    pub fn recheck_plans(&self) {
        *self.plans_rechecked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.wake();
    }

    /// Runs a claimed plan in a task of its own, within the bound on plans running at once.
    fn start_plan(self: &Arc<Self>, port: &Arc<dyn ChatPort>, claimed: Claimed) {
        let (core, port) = (self.clone(), port.clone());
        let span = tracing::info_span!("plan", id = claimed.plan.id, action = claimed.plan.action.command());
        let task = tokio::spawn(
            async move {
                let Ok(_slot) = core.plan_slots.clone().acquire_owned().await else { return };
                if let Err(error) = execute(&core, &port, &claimed).await {
                    tracing::error!(error = format!("{error:#}"), "a plan's run ended in error; its lease will mark it");
                }
                core.wake();
            }
            .instrument(span),
        );
        self.plan_runs.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }
}

/// Reads the post's reactions, records what changed, then rejects, claims, or waits.
async fn check(core: &Core, port: &dyn ChatPort, id: i64, claimed: DateTime<Utc>) -> anyhow::Result<Option<Claimed>> {
    let Some(plan) = gate::load(core, id).await? else { return Ok(None) };
    if plan.state != PlanState::Pending {
        return Ok(None);
    }
    let Some(message) = core.store.bound_message(&approval_binding(id)).await? else {
        // Not posted yet: nobody can have reacted.
        core.store.end_plan_check(id, claimed).await?;
        return Ok(None);
    };
    let mut on_post = Vec::new();
    for emoji in [APPROVE, REJECT] {
        let people = port.reactions(&message, emoji).await?;
        on_post.extend(people.iter().map(|reactor| judge(core, &plan, reactor, emoji)));
    }
    core.store.plan_check_read(id).await?;
    // The clock is read again: reading the post takes as long as the chat takes.
    let now = core.clock.now();
    let changes = core.store.replace_votes(id, &[APPROVE, REJECT], &on_post, now).await?;
    for change in &changes {
        let (person, text) = describe(change);
        audit(core, &Actor::new(person.id.clone(), person.name.clone(), []), id, text).await;
    }
    if let Some(state) = gate::closing(&plan, &on_post) {
        gate::close(core, id, state, now).await?;
        return Ok(None);
    }
    let votes = core.store.votes(id).await?;
    if approvals(&votes) < plan.needed(&core.remediation) {
        core.store.quorum_lost(id).await?;
        let mut tx = core.store.begin(now).await?;
        if !changes.is_empty() && tx.touch_pending_plan(id).await? {
            tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, &core.remediation) }).await?;
        }
        tx.commit().await?;
        core.store.end_plan_check(id, claimed).await?;
        if plan.expires <= now {
            gate::expire(core, id, now).await?;
        }
        return Ok(None);
    }
    let mut tx = core.store.begin(now).await?;
    // Approved in time is judged by when the quorum was reached, not by when this check came.
    if !tx.claim_plan(id, now, now + Duration::seconds(RUN_LEASE_S)).await? {
        tx.commit().await?;
        if plan.expires <= now {
            gate::expire(core, id, now).await?;
        }
        return Ok(None);
    }
    let running = Plan { state: PlanState::Executing, ..plan };
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&running, &votes, &core.remediation) }).await?;
    let names: Vec<String> = votes.iter().filter(|v| posts::is_approval(v)).map(|v| v.person.mention()).collect();
    let said = format!("approved by {}, roles checked on the post; executing", names.join(", "));
    tx.audit(&entry(core, &Actor::system("remediation"), id, said)).await?;
    tx.commit().await?;
    Ok(Some(Claimed { plan: running, votes, message }))
}

fn describe(change: &VoteChange) -> (&crate::actor::Person, String) {
    let counted = |v: &Vote| if v.counted { "counted".to_string() } else { format!("not counted: {}", v.reason) };
    match change {
        VoteChange::Seen(v) => (&v.person, format!("{} found on the post (given while bellhop did not hear it), {}", v.emoji, counted(v))),
        VoteChange::Gone(v) => (&v.person, format!("{} no longer on the post: withdrawn", v.emoji)),
        VoteChange::Rejudged(v) => (&v.person, format!("{} judged again with the roles held now: {}", v.emoji, counted(v))),
    }
}

/// A check that could not read the post is retried; after a few in a row, its post and the ops
/// channel say so, once.
async fn checking_failed(core: &Core, id: i64, error: &anyhow::Error) {
    tracing::warn!(plan = id, error = format!("{error:#}"), "cannot check a plan's approvals; will retry");
    let said = async {
        if core.store.plan_check_failed(id).await? != FAILURES_SAID {
            return anyhow::Ok(());
        }
        let Some(plan) = gate::load(core, id).await? else { return Ok(()) };
        let votes = core.store.votes(id).await?;
        let code = plan.code();
        let why = crate::text::ellipsize(&format!("{error:#}"), 300);
        let notice = Post::new(Tone::Bad, format!("⚠️ bellhop cannot read the approvals of {code}"))
            .body(format!("{FAILURES_SAID} checks in a row failed: {why}\nIt keeps trying; the plan runs once its approvals can be read."));
        let warned = posts::approval(&plan, &votes, &core.remediation)
            .field("⚠️ Checks failing", format!("bellhop cannot read this post's reactions ({FAILURES_SAID} tries); it keeps trying."));
        let mut tx = core.store.begin(core.clock.now()).await?;
        tx.post(Destination::Channel { channel: ChannelName::Ops }, notice).await?;
        if tx.touch_pending_plan(id).await? {
            tx.enqueue(&Op::Edit { of: approval_binding(id), post: warned }).await?;
        }
        tx.commit().await
    };
    if let Err(error) = said.await {
        tracing::error!(plan = id, error = format!("{error:#}"), "cannot say that a plan's checks fail");
    }
}

/// Runs a claimed plan: the drift guard, the action, then the outcome stored and posted.
async fn execute(core: &Core, port: &Arc<dyn ChatPort>, claimed: &Claimed) -> anyhow::Result<()> {
    let Claimed { plan, votes, message } = claimed;
    let started = std::time::Instant::now();
    let settings = &core.remediation;
    let reporter = Reporter::start(core, port, plan, message);
    let result = match core.target().map(|t| t.writer()) {
        None => Err((PlanState::Failed, "bellhop has no target database: SUPABASE_DB_URL is not set.".to_string())),
        Some(_) if !plan.intact() => Err((PlanState::Aborted, "The stored plan no longer matches its hash; nothing ran.".to_string())),
        Some(target) => match still_allowed(core, plan).await? {
            Some(why) => Err((PlanState::Aborted, why)),
            None => {
                let action = plan.runnable_action();
                match action.preview(&target).await {
                    Err(error) => Err((PlanState::Aborted, format!("The preview failed again at execution: {error} Nothing ran."))),
                    Ok(now) if settings.drifted(plan.preview.rows, now.rows) => Err((
                        PlanState::Aborted,
                        format!(
                            "Drift: {} rows now, {} approved (margin {} % and {} rows). Nothing ran; ask again for a new approval.",
                            now.rows, plan.preview.rows, settings.drift_percent, settings.drift_rows
                        ),
                    )),
                    Ok(fresh) => match core.store.plan_writing(plan.id, core.clock.now()).await {
                        Err(error) => {
                            Err((PlanState::Aborted, format!("bellhop could not record that the plan starts ({error}); nothing ran.")))
                        }
                        Ok(()) => {
                            action.execute(&target, settings, &plan.preview, &fresh, &reporter).await.map_err(|e| (PlanState::Failed, e))
                        }
                    },
                }
            }
        },
    };
    reporter.stop().await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (state, outcome) = match result {
        Ok(done) => (
            PlanState::Done,
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
    let finished = Plan { state, outcome: Some(outcome.clone()), ..plan.clone() };
    let mut tx = core.store.begin(now).await?;
    if tx.finish_plan(plan.id, state.as_str(), &serde_json::to_string(&outcome)?, now).await? {
        tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::approval(&finished, votes, settings) }).await?;
    }
    tx.cancel_timers(subject(plan.id), &[]).await?;
    tx.audit(&entry(core, &Actor::system("remediation"), plan.id, format!("{state}: {}", posts::outcome_text(&outcome)))).await?;
    tx.commit().await?;
    crate::metrics::plan_finished(state.as_str());
    Ok(())
}

/// Whatever changed since the approval that forbids running now: a break-glass plan runs only
/// while its incident is still an open P0.
async fn still_allowed(core: &Core, plan: &Plan) -> anyhow::Result<Option<String>> {
    if plan.quorum.is_none() {
        return Ok(None);
    }
    let incident = match plan.incident {
        Some(id) => core.store.incident(id).await?,
        None => None,
    };
    Ok(match incident {
        Some(incident) if incident.is_open() && incident.severity == Severity::P0 => None,
        Some(incident) => Some(format!(
            "Break-glass needs an open P0, and {} is {}; nothing ran. Get two approvals instead.",
            incident.code(),
            if incident.is_open() { format!("now {}", incident.severity) } else { "resolved".to_string() }
        )),
        None => Some("Break-glass needs the plan's P0 incident, which bellhop cannot find; nothing ran.".to_string()),
    })
}

/// A plan whose runner stopped: its post and the audit say so.
async fn stopped(core: &Core, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(plan) = gate::load(core, id).await? else { return Ok(()) };
    let votes = core.store.votes(id).await?;
    let mut tx = core.store.begin(now).await?;
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, &core.remediation) }).await?;
    tx.cancel_timers(subject(id), &[]).await?;
    let said = plan.outcome.as_ref().and_then(|o| o.error.clone()).unwrap_or_default();
    tx.audit(&entry(core, &Actor::system("remediation"), id, format!("{}: {said}", plan.state))).await?;
    tx.commit().await
}

/// Shows how far a long action got and keeps its lease, beside the action: the action only
/// hands the latest count over and never waits on the chat or the store. The post is edited at
/// most every few seconds (a lost edit is replaced by the next; the outcome goes through the
/// outbox), and the lease is renewed every minute.
struct Reporter {
    latest: tokio::sync::watch::Sender<Option<(i64, i64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    fn start(core: &Core, port: &Arc<dyn ChatPort>, plan: &Plan, message: &MessageRef) -> Reporter {
        let (latest, mut seen) = tokio::sync::watch::channel(None);
        let (store, clock, plan, message, port) = (core.store.clone(), core.clock.clone(), plan.clone(), message.clone(), port.clone());
        let task = tokio::spawn(async move {
            let mut renewed = std::time::Instant::now();
            loop {
                let changed = tokio::time::timeout(std::time::Duration::from_secs(60), seen.changed()).await;
                if matches!(changed, Ok(Err(_))) {
                    return;
                }
                if renewed.elapsed() >= std::time::Duration::from_secs(60) || changed.is_err() {
                    if let Err(error) = store.extend_plan_lease(plan.id, clock.now() + Duration::seconds(RUN_LEASE_S)).await {
                        tracing::warn!(error = format!("{error:#}"), "cannot renew a running plan's lease");
                    }
                    renewed = std::time::Instant::now();
                }
                let progress = *seen.borrow_and_update();
                if let Some((done, total)) = progress {
                    if let Err(error) = port.edit(&message, &posts::progress(&plan, done, total)).await {
                        tracing::warn!(error = %error, "cannot show a plan's progress");
                    }
                    tokio::time::sleep(PROGRESS_EVERY).await;
                }
            }
        });
        Reporter { latest, task }
    }

    /// Stops reporting before the outcome is posted, so no progress edit lands after it.
    async fn stop(self) {
        drop(self.latest);
        self.task.abort();
        let _ = self.task.await;
    }
}

#[async_trait::async_trait]
impl Progress for Reporter {
    async fn report(&self, done: i64, total: i64) {
        self.latest.send_replace(Some((done, total)));
    }
}
