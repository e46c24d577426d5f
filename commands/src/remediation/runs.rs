//! Where plans run: in the loop that holds the chat port, not in a reaction's handler. A plan
//! at quorum is checked against its post first — the ✅ and ❌ on it now, each person's roles as
//! they are now — so a role taken away counts at once, a reaction given while bellhop was down
//! counts after the restart, and only then is the plan claimed. Each claimed plan runs in a task
//! of its own, so a long purge holds back no other plan and no check.

use super::effects::Progress;
use super::gate::{self, approval_binding, approvals, audit, entry, judge, subject};
use super::plan::{Outcome, Plan};
use super::posts::{self, APPROVE, REJECT};
use super::{Ctx, PlanState};
use crate::actor::Actor;
use crate::chat_port::ChatPort;
use crate::chats::Chats;
use crate::incident::Severity;
use crate::outbox::Op;
use crate::post::{ChannelName, Destination};
use crate::store::{Vote, VoteChange};
use chrono::{DateTime, Duration, Utc};

/// How long one bellhop holds a plan's check before another may take it over.
const CHECK_LEASE_S: i64 = 60;
/// How long a runner may go without a word before its plan is called interrupted; its
/// progress reporter renews it every minute.
const RUN_LEASE_S: i64 = 600;
/// Checks in a row that cannot read a plan's post before its post and the ops channel say so.
const FAILURES_SAID: i64 = 3;
/// Approved plans that run at once; each holds at most one connection of the write pool.
pub(crate) const RUNNING_PLANS: usize = crate::target_db::WRITE_CONNECTIONS as usize;
/// A long action's progress is shown at most this often.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

const INTERRUPTED: &str = "bellhop stopped while this plan ran. A single-transaction action rolled back; \
    the batches of a purge committed before the stop stay. Check the target before asking again.";
const NEVER_STARTED: &str = "bellhop stopped before this plan's first write; nothing changed. Ask again if it is still needed.";

/// A plan claimed for running, with what its run needs.
pub(crate) struct Claimed {
    pub(crate) plan: Plan,
    votes: Vec<Vote>,
}

/// Marks the plans whose runner stopped, then reads each plan due a check against its post
/// and returns those that may run now, claimed. Each plan is handled on its own: one failing
/// holds back no other. `recheck`: every pending plan is due a check (every few minutes, and
/// after a restart or a reconnection).
/// Returns the plans that may run, and how many plans the pass touched (checked or marked
/// interrupted): none, and there is nothing to post.
pub(crate) async fn claim_ready_plans(cx: &Ctx<'_>, chats: &Chats, recheck: bool) -> anyhow::Result<(Vec<Claimed>, usize)> {
    let now = cx.clock.now();
    if recheck {
        let pending = cx.store.want_all_plan_checks(now).await?;
        tracing::debug!(pending, "pending plans will be read against their posts");
    }
    let interrupted = serde_json::to_string(&Outcome { error: Some(INTERRUPTED.to_string()), ..Outcome::default() })?;
    let unstarted = serde_json::to_string(&Outcome { error: Some(NEVER_STARTED.to_string()), ..Outcome::default() })?;
    let stale = cx.store.interrupt_stale_plans(now, &interrupted, &unstarted).await?;
    let mut touched = stale.len();
    for id in stale {
        if let Err(error) = stopped(cx, id, now).await {
            tracing::error!(plan = id, error = format!("{error:#}"), "cannot report a plan whose runner stopped");
        }
    }
    let until = now + Duration::seconds(CHECK_LEASE_S);
    let mut ready = Vec::new();
    for id in cx.store.claim_plan_checks(now, until, &chats.filter()).await? {
        touched += 1;
        let chat = cx.store.chat_of(subject(id)).await?;
        // Claimed for this process's chats only, so its port is here.
        let Some(port) = chats.port(chat.as_deref()) else { continue };
        match check(cx, port.as_ref(), id, until).await {
            Ok(Some(claimed)) => ready.push(claimed),
            Ok(None) => {}
            // The claim stays until `until`: the check is tried again then.
            Err(error) => checking_failed(cx, id, &error).await,
        }
    }
    Ok((ready, touched))
}

/// Reads the post's reactions, records what changed, then rejects, claims, or waits.
async fn check(cx: &Ctx<'_>, port: &dyn ChatPort, id: i64, claimed: DateTime<Utc>) -> anyhow::Result<Option<Claimed>> {
    let Some(plan) = gate::load(cx, id).await? else { return Ok(None) };
    if plan.state != PlanState::Pending {
        return Ok(None);
    }
    let Some(read_version) = cx.store.plan_version(id).await? else { return Ok(None) };
    let Some(message) = cx.store.bound_message(&approval_binding(id)).await? else {
        // Not posted yet: nobody can have reacted.
        cx.store.end_plan_check(id, claimed).await?;
        return Ok(None);
    };
    let mut on_post = Vec::new();
    for emoji in [APPROVE, REJECT] {
        let people = port.reactions(&message, emoji).await?;
        on_post.extend(people.iter().map(|reactor| judge(cx, &plan, reactor, emoji)));
    }
    cx.store.plan_check_read(id).await?;
    // The clock is read again: reading the post takes as long as the chat takes.
    let now = cx.clock.now();
    let mut tx = cx.store.begin(now).await?;
    if !tx.votes_unchanged_since(id, read_version).await? {
        tx.commit().await?;
        // A reaction was recorded while the post was read: what was read may be older than it.
        cx.store.check_again(id, now).await?;
        return Ok(None);
    }
    let changes = tx.replace_votes(id, &[APPROVE, REJECT], &on_post).await?;
    tx.commit().await?;
    for change in &changes {
        let (person, text) = describe(change);
        audit(cx, &Actor::new(person.id.clone(), person.name.clone(), []), id, text).await;
    }
    if let Some(state) = gate::closing(&plan, &on_post) {
        gate::close(cx, id, state, now).await?;
        return Ok(None);
    }
    let votes = cx.store.votes(id).await?;
    if approvals(&votes) < plan.needed(cx.settings) {
        cx.store.quorum_lost(id).await?;
        let mut tx = cx.store.begin(now).await?;
        if !changes.is_empty() && tx.touch_pending_plan(id).await? {
            tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, cx.settings) }).await?;
        }
        tx.commit().await?;
        cx.store.end_plan_check(id, claimed).await?;
        if plan.expires <= now {
            gate::expire(cx, id, now).await?;
        }
        return Ok(None);
    }
    let mut tx = cx.store.begin(now).await?;
    // Approved in time is judged by when the quorum was reached, not by when this check came.
    if !tx.claim_plan(id, now, now + Duration::seconds(RUN_LEASE_S)).await? {
        tx.commit().await?;
        if plan.expires <= now {
            gate::expire(cx, id, now).await?;
        }
        return Ok(None);
    }
    let running = Plan { state: PlanState::Executing, ..plan };
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&running, &votes, cx.settings) }).await?;
    let names: Vec<String> = votes.iter().filter(|v| posts::is_approval(v)).map(|v| v.person.mention()).collect();
    let said = format!("approved by {}, roles checked on the post; executing", names.join(", "));
    tx.audit(&entry(cx, &Actor::system("remediation"), id, said)).await?;
    tx.commit().await?;
    Ok(Some(Claimed { plan: running, votes }))
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
async fn checking_failed(cx: &Ctx<'_>, id: i64, error: &anyhow::Error) {
    tracing::warn!(plan = id, error = format!("{error:#}"), "cannot check a plan's approvals; will retry");
    let said = async {
        if cx.store.plan_check_failed(id).await? != FAILURES_SAID {
            return anyhow::Ok(());
        }
        let Some(plan) = gate::load(cx, id).await? else { return Ok(()) };
        let votes = cx.store.votes(id).await?;
        let code = plan.code();
        let why = crate::text::ellipsize(&format!("{error:#}"), 300);
        let notice = posts::checks_failing(&code, FAILURES_SAID, &why);
        let warned = posts::approval(&plan, &votes, cx.settings)
            .field("⚠️ Checks failing", format!("bellhop cannot read this post's reactions ({FAILURES_SAID} tries); it keeps trying."));
        let mut tx = cx.store.begin(cx.clock.now()).await?;
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
pub(crate) async fn execute(cx: &Ctx<'_>, claimed: &Claimed) -> anyhow::Result<()> {
    let Claimed { plan, votes } = claimed;
    let started = std::time::Instant::now();
    let settings = cx.settings;
    let reporter = Reporter::start(cx, plan);
    let result = match cx.target().map(|t| t.writer()) {
        None => Err((PlanState::Failed, "bellhop has no target database: SUPABASE_DB_URL is not set.".to_string())),
        Some(_) if !plan.intact() => Err((PlanState::Aborted, "The stored plan no longer matches its hash; nothing ran.".to_string())),
        Some(target) => match still_allowed(cx, plan).await? {
            Some(why) => Err((PlanState::Aborted, why)),
            None => {
                let action = plan.runnable_action();
                let counting = std::time::Instant::now();
                let recounted = action.recount(&target).await;
                if let Ok(now) = &recounted {
                    let took_ms = counting.elapsed().as_millis() as u64;
                    tracing::info!(plan = plan.id, rows = now.rows, approved = plan.preview.rows, took_ms, "drift guard counted");
                }
                match recounted {
                    Err(error) => Err((PlanState::Aborted, format!("The preview failed again at execution: {error} Nothing ran."))),
                    Ok(now) if settings.drifted(plan.preview.rows, now.rows) => Err((
                        PlanState::Aborted,
                        format!(
                            "Drift: {} rows now, {} approved (margin {} % and {} rows). Nothing ran; ask again for a new approval.",
                            now.rows, plan.preview.rows, settings.drift_percent, settings.drift_rows
                        ),
                    )),
                    Ok(fresh) => match cx.store.plan_writing(plan.id, cx.clock.now()).await {
                        Err(error) => {
                            Err((PlanState::Aborted, format!("bellhop could not record that the plan starts ({error}); nothing ran.")))
                        }
                        Ok(false) => Err((
                            PlanState::Aborted,
                            "This run's claim on the plan ran out before it started, and the plan was marked; nothing ran.".to_string(),
                        )),
                        Ok(true) => {
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
    let now = cx.clock.now();
    let finished = Plan { state, outcome: Some(outcome.clone()), ..plan.clone() };
    let mut tx = cx.store.begin(now).await?;
    if tx.finish_plan(plan.id, state.as_str(), &serde_json::to_string(&outcome)?, now).await? {
        tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::approval(&finished, votes, settings) }).await?;
    }
    tx.cancel_timers(subject(plan.id), &[]).await?;
    tx.audit(&entry(cx, &Actor::system("remediation"), plan.id, format!("{state}: {}", posts::outcome_text(&outcome)))).await?;
    tx.commit().await?;
    crate::metrics::plan_finished(state.as_str());
    Ok(())
}

/// Whatever changed since the approval that forbids running now: a break-glass plan runs only
/// while its incident is still an open P0.
async fn still_allowed(cx: &Ctx<'_>, plan: &Plan) -> anyhow::Result<Option<String>> {
    if plan.quorum.is_none() {
        return Ok(None);
    }
    let incident = match plan.incident {
        Some(id) => cx.store.incident(id).await?,
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
async fn stopped(cx: &Ctx<'_>, id: i64, now: DateTime<Utc>) -> anyhow::Result<()> {
    let Some(plan) = gate::load(cx, id).await? else { return Ok(()) };
    let votes = cx.store.votes(id).await?;
    let mut tx = cx.store.begin(now).await?;
    tx.enqueue(&Op::Edit { of: approval_binding(id), post: posts::approval(&plan, &votes, cx.settings) }).await?;
    tx.cancel_timers(subject(id), &[]).await?;
    let said = plan.outcome.as_ref().and_then(|o| o.error.clone()).unwrap_or_default();
    tx.audit(&entry(cx, &Actor::system("remediation"), id, format!("{}: {said}", plan.state))).await?;
    tx.commit().await
}

/// Queues an edit of the approval post showing `done` of `total`, unless something of the post
/// still waits to be delivered; true when it queued one.
async fn queue_progress(store: &crate::store::Store, now: DateTime<Utc>, plan: &Plan, done: i64, total: i64) -> anyhow::Result<bool> {
    if store.lane_waiting(&subject(plan.id).to_string()).await? {
        return Ok(false);
    }
    let mut tx = store.begin(now).await?;
    tx.enqueue(&Op::Edit { of: approval_binding(plan.id), post: posts::progress(plan, done, total) }).await?;
    tx.commit().await?;
    Ok(true)
}

/// How often a claimed plan's lease is renewed, against [`RUN_LEASE_S`].
const RENEW_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Renews a claimed plan's lease; false once the plan is no longer executing (it was marked).
async fn renew(store: &crate::store::Store, clock: &dyn crate::Clock, id: i64) -> bool {
    match store.extend_plan_lease(id, clock.now() + Duration::seconds(RUN_LEASE_S)).await {
        Ok(held) => held,
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "cannot renew a running plan's lease");
            true
        }
    }
}

/// Waits for `slot` while keeping the claimed plan's lease, so a plan queued behind long runs is
/// not taken for one whose runner stopped. None when the claim was lost meanwhile: the plan was
/// marked, and must not run.
pub(crate) async fn holding_claim<T>(cx: &Ctx<'_>, id: i64, slot: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::pin!(slot);
    loop {
        tokio::select! {
            got = &mut slot => return Some(got),
            () = tokio::time::sleep(RENEW_EVERY) => {
                if !renew(&cx.store, cx.clock.as_ref(), id).await {
                    return None;
                }
            }
        }
    }
}

/// Shows how far a long action got and keeps its lease, beside the action: the action only
/// hands the latest count over and never waits on the chat or the store. Progress is an edit of
/// the approval post queued in the post's lane, behind the claim's "running now" and the votes,
/// so it is delivered after them and never overwritten by them; a count is queued only when
/// nothing of the post still waits (a chat that is down gets no pile of edits, only the newest
/// once it answers), at most every few seconds. The lease is renewed every minute.
struct Reporter {
    latest: tokio::sync::watch::Sender<Option<(i64, i64)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    fn start(cx: &Ctx<'_>, plan: &Plan) -> Reporter {
        let (latest, mut seen) = tokio::sync::watch::channel(None);
        let (store, clock, plan, waker) = (cx.store.clone(), cx.clock.clone(), plan.clone(), cx.ctx.waker());
        let task = tokio::spawn(async move {
            let mut renewed = std::time::Instant::now();
            loop {
                let changed = tokio::time::timeout(std::time::Duration::from_secs(60), seen.changed()).await;
                if matches!(changed, Ok(Err(_))) {
                    return;
                }
                if renewed.elapsed() >= RENEW_EVERY || changed.is_err() {
                    renew(&store, clock.as_ref(), plan.id).await;
                    renewed = std::time::Instant::now();
                }
                let progress = *seen.borrow_and_update();
                if let Some((done, total)) = progress {
                    match queue_progress(&store, clock.now(), &plan, done, total).await {
                        Ok(true) => waker.notify_one(),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot show a plan's progress"),
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
