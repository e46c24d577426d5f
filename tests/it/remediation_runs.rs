//! Plans that nobody can freeze, against the Supabase-shaped fixture: approval in time is judged
//! at quorum, a run that lost its claim does not start, progress is never overwritten, checks
//! that keep failing are said, and a plan's cutoff does not move. (Plans running side by side
//! are tested through the fake Discord, in `discord_plan_runs`.)

use bellhop_commands::remediation::PlanState;
use bellhop_commands::Invocation;
use bellhop_tests::gate::{alice, bob, carol, Gate};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn disable(names: &str) -> Invocation {
    Invocation::new("flags disable").option("names", names)
}

/// Approved in time is judged at quorum: a plan whose second ✅ came before its expiry runs even
/// when its check comes later (bellhop was busy, or down), and the expiry timer leaves it be.
#[sqlx::test(migrations = false)]
async fn an_approval_in_time_runs_even_if_its_check_comes_after_the_expiry(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.approve_unchecked(1, &[bob(), carol()]).await;
    gate.clock.advance(chrono::Duration::minutes(16));
    gate.core.run_due().await.unwrap();
    assert_eq!(gate.plan(1).await.state, PlanState::Pending, "the expiry left a plan approved in time to its check");
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert!(!gate.flag("new-tenant-flow").await);
}

/// A run whose claim ran out before its first write (its drift guard waited behind a lock while
/// bellhop marked the plan as stopped) does not start when the lock goes: the plan stays aborted,
/// as its post says, and nothing changes.
#[sqlx::test(migrations = false)]
async fn a_run_whose_claim_ran_out_before_it_started_changes_nothing(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.approve_unchecked(1, &[bob(), carol()]).await;
    let mut locker = gate.su().await;
    sqlx::raw_sql("BEGIN; LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE").execute(&mut locker).await.unwrap();
    assert_eq!(gate.core.check_plans(gate.chat()).await.unwrap(), 1, "the plan is claimed and its run started");
    let mut watcher = gate.su().await;
    let blocked = async {
        while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_locks WHERE NOT granted").fetch_one(&mut watcher).await.unwrap() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), blocked).await.expect("the run's drift guard waits behind the lock");
    gate.clock.advance(chrono::Duration::minutes(11));
    gate.core.check_plans(gate.chat()).await.unwrap();
    assert_eq!(gate.plan(1).await.state, PlanState::Aborted, "its lease ran out: marked as stopped before its first write");
    sqlx::raw_sql("ROLLBACK").execute(&mut locker).await.unwrap();
    gate.core.plan_runs_finished().await;
    assert!(gate.flag("new-tenant-flow").await, "the marked plan did not run");
    assert_eq!(gate.plan(1).await.state, PlanState::Aborted);
    assert_eq!(gate.executions().await, 0);
}

/// The claim's "running now" reaches the post through the outbox, the purge's progress straight
/// from beside the batches: progress waits until that edit is delivered, so the post never goes
/// back to "running now" once it said how far the purge got.
#[sqlx::test(migrations = false)]
async fn the_claims_running_edit_never_overwrites_progress(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::with(&admin, |s| s.purge_batch = 20).await;
    gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d")).await;
    let message = gate.approve_unchecked(1, &[bob(), carol()]).await;
    // Claimed and run to its end before the loop delivers the outbox's "running now".
    assert_eq!(gate.core.check_plans(gate.chat()).await.unwrap(), 1);
    gate.core.plan_runs_finished().await;
    gate.settle().await;
    let bodies: Vec<String> =
        gate.port.edited.lock().unwrap().iter().filter(|(id, _)| *id == message.message).map(|(_, post)| post.body.clone()).collect();
    let first_progress = bodies.iter().position(|body| body.contains("session(s) so far"));
    let last_running = bodies.iter().rposition(|body| body.contains("Approved; running now."));
    assert!(last_running.is_some(), "{bodies:#?}");
    assert!(first_progress.is_none_or(|progress| Some(progress) > last_running), "{bodies:#?}");
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
}

/// A check that cannot read who reacted is retried; after three in a row, the ops channel and the
/// approval post say so, once; when the chat answers again, the plan runs.
#[sqlx::test(migrations = false)]
async fn checks_that_keep_failing_are_said_once_then_the_plan_runs(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.port.reactions_down.store(true, Ordering::SeqCst);
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    for _ in 0..4 {
        // A failed check keeps its claim for a minute; then it is tried again.
        gate.clock.advance(chrono::Duration::seconds(61));
        gate.settle().await;
    }
    let notices: Vec<String> = gate.port.titles().into_iter().filter(|t| t.contains("cannot read the approvals")).collect();
    assert_eq!(notices, ["⚠️ bellhop cannot read the approvals of PLAN-1"], "said once in #ops");
    let warned = gate.port.edited.lock().unwrap().iter().any(|(_, post)| post.fields.iter().any(|f| f.name == "⚠️ Checks failing"));
    assert!(warned, "the approval post says so too");
    assert_eq!(gate.plan(1).await.state, PlanState::Pending);
    gate.port.reactions_down.store(false, Ordering::SeqCst);
    gate.clock.advance(chrono::Duration::seconds(61));
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done, "approved in time, it runs once the post can be read");
}

/// A purge's cutoff is a time frozen in the plan when it is asked: a session that ages into
/// "older than 7 days" while the plan waits for approval is not deleted by it.
#[sqlx::test(migrations = false)]
async fn the_purge_cutoff_does_not_move_after_approval(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d")).await;
    let plan = gate.plan(1).await;
    let bellhop_commands::remediation::Action::PurgeSessions { before: Some(before), .. } = plan.action else {
        panic!("the plan froze its cutoff: {:?}", plan.action)
    };
    // One millisecond younger than the cutoff: not in scope when asked, "7 days old" moments later.
    sqlx::query(
        "INSERT INTO auth.sessions (id, user_id, created_at, updated_at)
         SELECT gen_random_uuid(), id, to_timestamp($1::double precision / 1000), now() FROM auth.users LIMIT 1",
    )
    .bind(before.timestamp_millis() + 1)
    .execute(&mut gate.su().await)
    .await
    .unwrap();
    gate.approve(1, &[bob(), carol()]).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    let kept = format!(
        "SELECT count(*) FROM auth.sessions WHERE created_at = to_timestamp({}::double precision / 1000)",
        before.timestamp_millis() + 1
    );
    assert_eq!(gate.count(&kept).await, 1, "the session younger than the frozen cutoff stays");
}

/// A ✅ given while a check reads the post (the post as read does not show it yet) is kept: the
/// check does not write its older reading over it, and reads the post again.
#[sqlx::test(migrations = false)]
async fn an_approval_given_while_a_check_reads_the_post_is_kept(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("housekeeping-board")).await;
    let message = gate.approval(1).await;
    gate.port.hold_next_reading();
    // The first pass reads every pending plan against its post (as after a restart).
    let pass = tokio::spawn({
        let (core, chat) = (gate.core.clone(), gate.chat());
        async move { core.check_plans(&chat).await.unwrap() }
    });
    gate.port.reading_held().await;
    gate.port.set_reaction(&message, "✅", &bob(), true);
    gate.core.reaction(&bob(), &message, "✅", true).await;
    gate.port.release_reading();
    pass.await.unwrap();
    let votes = gate.core.store().votes(1).await.unwrap();
    assert!(votes.iter().any(|v| v.person.name == "bob" && v.counted), "bob's ✅ is kept: {votes:?}");

    gate.react(&carol(), 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done, "bob and carol approved it");
    assert!(!gate.flag("housekeeping-board").await);
}

/// A pass over the plans that touches none asks for no tick, while one that checks a plan does
/// (to post what it found): an idle bellhop ticked ten times a second when every pass woke it.
#[sqlx::test(migrations = false)]
async fn only_a_pass_that_touched_a_plan_wakes_the_loop(_: PgPoolOptions, admin: PgConnectOptions) {
    use futures::FutureExt as _;
    let gate = Gate::start(&admin).await;
    let asked_for_a_tick = || gate.core.woken().now_or_never().is_some();
    gate.settle().await;
    asked_for_a_tick();
    gate.settle().await;
    assert!(!asked_for_a_tick(), "nothing to do, nobody woken");
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.settle().await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    asked_for_a_tick();
    gate.core.check_plans(&gate.chat()).await.unwrap();
    assert!(!asked_for_a_tick(), "a done plan is not checked again");
    gate.ask(&alice(), disable("housekeeping-board")).await;
    gate.settle().await;
    gate.core.recheck_plans();
    asked_for_a_tick();
    gate.core.check_plans(&gate.chat()).await.unwrap();
    assert!(asked_for_a_tick(), "the pending plan was read against its post: the loop posts what changed");
}

/// Approved writes have connections of their own: with every reading connection held (slow
/// diagnostics, a fast typist's suggestions), an approved plan still runs, at once; what reads
/// waits, and one that waited too long says the connections are busy, not that the database is down.
#[sqlx::test(migrations = false)]
async fn an_approved_plan_runs_while_every_reading_connection_is_taken(_: PgPoolOptions, admin: PgConnectOptions) {
    use bellhop::demo::fixture;
    let target = bellhop_tests::gate::fixture_target(&admin);
    fixture::load(&admin, fixture::Scale::TEST).await.expect("the fixture loads");
    let gate = Gate::on_loaded(&admin, target.clone(), bellhop::shell::virtual_start(), |_| {}).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    let held = [target.read().await.unwrap(), target.read().await.unwrap()];
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done, "{:?}", gate.plan(1).await.outcome);
    assert!(!gate.flag("new-tenant-flow").await, "the flag is off");
    let busy = target.read().await.err().expect("no third reading connection within the statement timeout");
    assert!(busy.to_string().starts_with("All 2 of bellhop's connections to the target database"), "{busy}");
    drop(held);
    target.read().await.expect("a reading connection once one is given back");
}
