//! The two-person gate and its actions against the Supabase-shaped fixture on the real
//! PostgreSQL: who counts, exactly once, expiry, drift, hostile input, dry runs, the purge.

use bellhop_commands::incident::TimelineKind;
use bellhop_commands::remediation::PlanState;
use bellhop_commands::{Actor, Invocation, Role};
use bellhop_tests::gate::{alice, approval_number, bob, carol, dave, erin_admin, shell_on_fixture, Gate};
use bellhop_tests::metric;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

fn disable(names: &str) -> Invocation {
    Invocation::new("flags disable").option("names", names)
}

const DONE: &str = "bellhop_plans_total{outcome=\"done\"}";
const REJECTED: &str = "bellhop_plans_total{outcome=\"rejected\"}";

const OLD_SESSIONS: &str = "SELECT count(*) FROM auth.sessions WHERE created_at < now() - interval '7 days'";

#[sqlx::test(migrations = false)]
async fn the_requester_and_a_non_approver_are_not_counted_and_one_approver_is_not_enough(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let reply = gate.ask(&alice(), disable("new-tenant-flow, enhanced-invite-system").option("reason", "invites broken")).await;
    assert_eq!(reply.post.title, "PLAN-1 waits for approval");
    assert_eq!(gate.port.titles(), ["Approval needed: PLAN-1 · /flags disable"]);
    let own: Vec<String> = gate.port.reacted.lock().unwrap().iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(own, ["✅", "❌"], "bellhop adds both itself");
    for actor in [alice(), dave(), bob()] {
        gate.react(&actor, 1, "✅", true).await;
    }
    assert!(gate.flag("new-tenant-flow").await, "nothing ran");
    assert_eq!(gate.plan(1).await.state, PlanState::Pending);
    let post = gate.post(1).await;
    assert!(post.body.contains("Needs 1 more ✅ from approvers other than @alice."), "{}", post.body);
    let not_counted = &post.fields.iter().find(|f| f.name == "Not counted").unwrap().value;
    assert_eq!(not_counted, "@alice ✅: is the requester\n@dave ✅: has no approver role");
    assert_eq!(gate.port.edits.lock().unwrap().len(), 3, "the one post edited, never a new message");
    assert_eq!(gate.port.posts.lock().unwrap().len(), 1);
}

#[sqlx::test(migrations = false)]
async fn two_distinct_approvers_execute_once_and_the_post_shows_the_outcome(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let done_before = metric(DONE);
    gate.ask(&alice(), disable("new-tenant-flow,enhanced-invite-system")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&bob(), 1, "✅", false).await;
    gate.react(&carol(), 1, "✅", true).await;
    assert!(gate.flag("new-tenant-flow").await, "bob withdrew his ✅ before quorum");
    gate.react(&bob(), 1, "✅", true).await;
    assert!(!gate.flag("new-tenant-flow").await && !gate.flag("enhanced-invite-system").await);
    assert!(gate.flag("housekeeping-board").await, "only the named flags");
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Done);
    let outcome = plan.outcome.unwrap();
    assert_eq!((outcome.rows, outcome.verification.as_str()), (2, "read back: 2 flag(s) off"));
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 done");
    assert!(metric(DONE) > done_before, "/metrics counts the plan by its outcome");
    gate.react(&carol(), 1, "✅", false).await;
    gate.react(&carol(), 1, "✅", true).await;
    gate.react(&dave(), 1, "✅", true).await;
    assert_eq!(gate.executions().await, 1);
}

#[sqlx::test(migrations = false)]
async fn a_cross_from_an_approver_rejects_and_nothing_runs(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let rejected_before = metric(REJECTED);
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&dave(), 1, "❌", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Pending, "dave's ❌ does not count");
    gate.react(&bob(), 1, "❌", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    gate.react(&bob(), 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Rejected);
    assert!(gate.flag("new-tenant-flow").await);
    assert_eq!(gate.executions().await, 0);
    assert!(metric(REJECTED) > rejected_before, "a plan closed without running is counted too");
}

#[sqlx::test(migrations = false)]
async fn an_expired_plan_is_closed_by_its_timer_and_never_runs(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.clock.advance(chrono::Duration::minutes(14));
    assert_eq!(gate.core.run_due().await.unwrap(), 0, "not yet");
    gate.clock.advance(chrono::Duration::minutes(2));
    assert_eq!(gate.core.run_due().await.unwrap(), 0, "the expiry closes the plan and cancels its own timer");
    gate.core.deliver_outbox(&gate.port).await.unwrap();
    assert_eq!(gate.plan(1).await.state, PlanState::Expired);
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 expired");
    gate.react(&carol(), 1, "✅", true).await;
    assert!(gate.flag("new-tenant-flow").await);
    assert_eq!(gate.executions().await, 0);
}

#[sqlx::test(migrations = false)]
async fn a_hundred_concurrent_approvals_execute_once(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    let message = gate.approval(1).await;
    let approvers: Vec<Actor> =
        (0..100).map(|n| Actor::new(format!("shell:approver{n}"), format!("approver{n}"), [Role::Approver])).collect();
    for approver in &approvers {
        gate.port.set_reaction(&message, "✅", approver, true);
    }
    let reactions = approvers.iter().map(|a| gate.core.reaction(a, &message, "✅", true));
    futures::future::join_all(reactions).await;
    let chat = gate.chat();
    let passes = (0..10).map(|_| gate.core.check_plans(&chat));
    let ran: usize = futures::future::join_all(passes).await.into_iter().map(Result::unwrap).sum();
    assert_eq!(ran, 1);
    gate.core.plan_runs_finished().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert_eq!(gate.executions().await, 1);
}

/// Two replicas on one PostgreSQL store, 100 approvals arriving at both at once: one execution.
#[sqlx::test(migrations = false)]
async fn a_hundred_approvals_at_two_replicas_on_one_postgres_store_execute_once(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start_on_postgres_store(&admin).await;
    let replica = gate.replica().await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    let message = gate.approval(1).await;
    let approvers: Vec<Actor> =
        (0..100).map(|n| Actor::new(format!("shell:approver{n}"), format!("approver{n}"), [Role::Approver])).collect();
    for approver in &approvers {
        gate.port.set_reaction(&message, "✅", approver, true);
    }
    let reactions = approvers.iter().enumerate().map(|(n, a)| {
        let core = if n % 2 == 0 { gate.core.clone() } else { replica.clone() };
        let message = message.clone();
        let chat = gate.chat();
        async move {
            core.reaction(a, &message, "✅", true).await;
            core.check_plans(&chat).await.unwrap()
        }
    });
    let ran: usize = futures::future::join_all(reactions).await.into_iter().sum();
    assert_eq!(ran, 1);
    gate.core.plan_runs_finished().await;
    replica.plan_runs_finished().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert_eq!(gate.executions().await, 1, "one execution between the two replicas");
    assert!(!gate.flag("new-tenant-flow").await);
    drop(replica);
    gate.drop_postgres_store().await;
}

#[sqlx::test(migrations = false)]
async fn a_restart_between_the_two_approvals_still_executes_once(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("trial-signup-v2,new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.restart().await;
    gate.react(&carol(), 1, "✅", true).await;
    assert!(!gate.flag("new-tenant-flow").await);
    gate.restart().await;
    gate.react(&bob(), 1, "✅", false).await;
    gate.react(&bob(), 1, "✅", true).await;
    assert_eq!(gate.executions().await, 1);
}

#[sqlx::test(migrations = false)]
async fn the_drift_guard_aborts_when_many_more_rows_would_go(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d")).await;
    let approved = gate.plan(1).await.preview.rows;
    assert_eq!(approved, gate.count(OLD_SESSIONS).await);
    let mut su = gate.su().await;
    sqlx::raw_sql(
        "INSERT INTO auth.sessions (id, user_id, created_at) SELECT gen_random_uuid(), u.id, now() - interval '30 days'
         FROM auth.users u, generate_series(1, 2) LIMIT 500",
    )
    .execute(&mut su)
    .await
    .unwrap();
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Aborted);
    let error = plan.outcome.unwrap().error.unwrap();
    assert!(error.starts_with(&format!("Drift: {} rows now, {approved} approved", approved + 500)), "{error}");
    assert_eq!(gate.count(OLD_SESSIONS).await, approved + 500, "nothing deleted");
}

#[sqlx::test(migrations = false)]
async fn an_unknown_flag_and_sql_looking_input_are_refused_as_harmless_values(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let reply = gate.ask(&alice(), disable("new-tenant-flow,no-such-flag")).await;
    assert_eq!(reply.post.body, "No feature flag is named `no-such-flag`; /flags list shows them.");
    let reply = gate.ask(&alice(), disable("'; DROP TABLE users; --")).await;
    assert_eq!(reply.post.body, "No feature flag is named `'; DROP TABLE users; --`; /flags list shows them.");
    let reply = gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d").option("user", "x' OR '1'='1")).await;
    assert_eq!(reply.post.body, "No auth user has the id or e-mail `x' or '1'='1`.");
    assert_eq!(gate.count("SELECT count(*) FROM public.users").await, 490);
    assert!(gate.flag("new-tenant-flow").await);
    assert!(gate.port.posts.lock().unwrap().is_empty(), "no plan, no approval post");
}

#[sqlx::test(migrations = false)]
async fn a_dry_run_shows_the_plan_and_changes_nothing(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let before = gate.count(OLD_SESSIONS).await;
    let reply = gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d").option("dry_run", "true")).await;
    assert_eq!(reply.post.title, "Dry run: /sessions purge");
    assert!(reply.post.body.contains(&format!("{before} session(s), {before} refresh token(s)")), "{}", reply.post.body);
    assert!(reply.post.body.contains("Those users will have to sign in again; access tokens already issued stay valid until they expire."));
    assert!(reply.post.body.ends_with("Nothing was asked and nothing ran."));
    assert!(gate.port.posts.lock().unwrap().is_empty());
    assert_eq!(gate.count(OLD_SESSIONS).await, before);
    assert!(gate.core.store().plan(1).await.unwrap().is_none());
}

#[sqlx::test(migrations = false)]
async fn the_purge_deletes_in_batches_and_its_cascade_counts_match(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::with(&admin, |s| s.purge_batch = 100).await;
    let started = std::time::Instant::now();
    let counts = "SELECT (SELECT count(*) FROM auth.sessions), (SELECT count(*) FROM auth.refresh_tokens), (SELECT count(*) FROM auth.mfa_amr_claims)";
    let before: (i64, i64, i64) = sqlx::query_as(counts).fetch_one(&mut gate.su().await).await.unwrap();
    gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d")).await;
    gate.approve_unchecked(1, &[bob(), carol()]).await;
    // As `bellhop run` runs it: the loop delivers the outbox while the purge goes on.
    let looping = tokio::spawn(bellhop::scheduler::run(gate.core.clone(), gate.chat()));
    let done = |port: &bellhop_tests::CollectingPort| port.edits.lock().unwrap().iter().any(|(_, title)| title == "PLAN-1 done");
    tokio::time::timeout(std::time::Duration::from_secs(60), gate.port.until(done)).await.expect("the purge's outcome is posted");
    looping.abort();
    let after: (i64, i64, i64) = sqlx::query_as(counts).fetch_one(&mut gate.su().await).await.unwrap();
    let plan = gate.plan(1).await;
    let outcome = plan.outcome.clone().unwrap();
    assert_eq!(plan.state, PlanState::Done, "{outcome:?}");
    assert_eq!(outcome.figures["sessions"], before.0 - after.0);
    assert_eq!(outcome.figures["refresh_tokens"], before.1 - after.1);
    assert_eq!(outcome.figures["mfa_claims"], before.2 - after.2);
    assert_eq!(outcome.figures["sessions"], plan.preview.figures["sessions"]);
    assert_eq!(outcome.verification, "0 session(s) in scope remain");
    assert_eq!(gate.count(OLD_SESSIONS).await, 0);
    // Shown as it goes, at most every 5 s, whatever the number of batches.
    let progress = gate.port.edited.lock().unwrap().iter().filter(|(_, post)| post.body.contains("so far")).count();
    let most = 1 + started.elapsed().as_secs() as usize / 5;
    assert!((1..=most).contains(&progress), "{progress} progress edit(s) in {:?}", started.elapsed());
}

/// A server that keeps no statistics (`track_counts` off) cannot count the cascade for the purge:
/// each batch then counts its sessions' refresh tokens and MFA claims before deleting them.
#[sqlx::test(migrations = false)]
async fn without_statistics_the_purge_counts_its_cascade_itself(_: PgPoolOptions, admin: PgConnectOptions) {
    let database = admin.get_database().unwrap().to_string();
    sqlx::raw_sql(&format!("ALTER DATABASE \"{database}\" SET track_counts = off"))
        .execute(&mut admin.connect().await.unwrap())
        .await
        .unwrap();
    let gate = Gate::with(&admin, |s| s.purge_batch = 300).await;
    let counts = "SELECT (SELECT count(*) FROM auth.sessions), (SELECT count(*) FROM auth.refresh_tokens), (SELECT count(*) FROM auth.mfa_amr_claims)";
    let before: (i64, i64, i64) = sqlx::query_as(counts).fetch_one(&mut gate.su().await).await.unwrap();
    gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "7d")).await;
    gate.approve(1, &[bob(), carol()]).await;
    let after: (i64, i64, i64) = sqlx::query_as(counts).fetch_one(&mut gate.su().await).await.unwrap();
    let outcome = gate.plan(1).await.outcome.unwrap();
    assert_eq!(
        (outcome.figures["sessions"], outcome.figures["refresh_tokens"], outcome.figures["mfa_claims"]),
        (before.0 - after.0, before.1 - after.1, before.2 - after.2)
    );
    assert!(outcome.figures["mfa_claims"] > 0, "{outcome:?}");
    assert_eq!(outcome.verification, "0 session(s) in scope remain");
}

#[sqlx::test(migrations = false)]
async fn in_the_shell_two_approvals_disable_a_flag_and_flags_list_shows_it(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut session = shell_on_fixture(&admin).await;
    session.type_line(r#"/incident declare severity:P1 title:"Tenant creation failing""#).await;
    let asked = session.type_line("/flags disable names:new-tenant-flow").await;
    let number = approval_number(&asked, "PLAN-1");
    session.type_line(&format!("@bob react {number} ✅")).await;
    let approved = session.type_line(&format!("@carol react {number} ✅")).await;
    assert!(approved.contains("PLAN-1 done"), "{approved}");
    let listed = session.type_line("/flags list").await;
    assert!(listed.contains("off `new-tenant-flow`"), "{listed}");
    let audit = session.type_line("/audit recent limit:25").await;
    for step in ["@alice · /plan PLAN-1", "@bob · /plan PLAN-1", "@carol · /plan PLAN-1"] {
        assert!(audit.contains(step), "{step} in {audit}");
    }
    assert!(audit.contains("(shell:carol)"), "who, by id: {audit}");
    let postmortem = session.type_line("/incident postmortem id:INC-1").await;
    let remediation = postmortem.split("## Remediation").nth(1).unwrap_or_else(|| panic!("{postmortem}"));
    assert!(remediation.contains("PLAN-1 `") && remediation.contains("asked by @alice") && remediation.contains(": done"), "{remediation}");
}

/// The runbook's confirmation reset, corrected: only email users are confirmed; phone-only and
/// anonymous users, which the runbook's statement would also confirm, are counted and left alone.
#[sqlx::test(migrations = false)]
async fn confirming_stuck_users_touches_email_users_only(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), Invocation::new("auth confirm-stuck").option("older_than", "1d")).await;
    let plan = gate.plan(1).await;
    // The seed: every 50th user from 21 never confirmed; users older than a day are j ≥ 112.
    assert_eq!((plan.preview.figures["users"], plan.preview.figures["spared"]), (8, 15), "{:?}", plan.preview);
    let unconfirmed_others = "SELECT count(*) FROM auth.users WHERE email_confirmed_at IS NULL AND (email IS NULL OR is_anonymous)";
    let before = gate.count(unconfirmed_others).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.react(&carol(), 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    let stuck = "SELECT count(*) FROM auth.users WHERE email_confirmed_at IS NULL AND email IS NOT NULL AND NOT is_anonymous
                 AND created_at < now() - interval '1 day'";
    assert_eq!(gate.count(stuck).await, 0, "no email user is stuck any more");
    assert_eq!(gate.count(unconfirmed_others).await, before, "phone-only and anonymous users untouched");
    // The seed confirms everyone else five minutes after signing up; these waited over a day.
    let confirmed_too =
        "SELECT count(*) FROM auth.users WHERE confirmed_at IS NOT NULL AND email_confirmed_at > created_at + interval '1 day'";
    assert_eq!(gate.count(confirmed_too).await, 8, "the generated confirmed_at follows");
}

/// Roles are read again from the chat when the plan reaches quorum: an approver who lost the
/// role since reacting no longer counts, and the plan waits for someone who holds it.
#[sqlx::test(migrations = false)]
async fn roles_are_checked_again_when_the_plan_would_run(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.port.set_roles(&Actor::new("shell:bob", "bob", []));
    gate.react(&carol(), 1, "✅", true).await;
    assert!(gate.flag("new-tenant-flow").await, "bob's role was taken away before the plan ran");
    assert_eq!(gate.plan(1).await.state, PlanState::Pending);
    let post = gate.post(1).await;
    let not_counted = &post.fields.iter().find(|f| f.name == "Not counted").unwrap().value;
    assert_eq!(not_counted, "@bob ✅: has no approver role");
    assert!(post.body.contains("Needs 1 more ✅"), "{}", post.body);
    let audit = gate.plan_audit().await;
    assert!(
        audit.contains(&("shell:bob".into(), "✅ judged again with the roles held now: not counted: has no approver role".into())),
        "{audit:?}"
    );
    let erin = Actor::new("shell:erin", "erin", [Role::Approver]);
    gate.react(&erin, 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert!(!gate.flag("new-tenant-flow").await);
}

/// A ✅ given while bellhop was down never arrives as an event: the restarted bellhop reads it
/// from the post and counts it, once.
#[sqlx::test(migrations = false)]
async fn an_approval_given_while_bellhop_was_down_counts_after_the_restart(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.port.set_reaction(&gate.approval(1).await, "✅", &carol(), true);
    assert_eq!(gate.plan(1).await.state, PlanState::Pending, "no event, nothing heard");
    gate.restart().await;
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert!(!gate.flag("new-tenant-flow").await);
    assert_eq!(gate.executions().await, 1);
    let audit = gate.plan_audit().await;
    let seen = "✅ found on the post (given while bellhop did not hear it), counted";
    assert_eq!(audit.iter().filter(|(who, what)| who == "shell:carol" && what == seen).count(), 1, "{audit:?}");
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 done");
}

/// A ✅ taken back while bellhop was down is withdrawn after the restart: the next ✅ is not quorum.
#[sqlx::test(migrations = false)]
async fn an_approval_withdrawn_while_bellhop_was_down_does_not_count(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    gate.port.set_reaction(&gate.approval(1).await, "✅", &bob(), false);
    gate.restart().await;
    gate.react(&carol(), 1, "✅", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Pending);
    assert!(gate.flag("new-tenant-flow").await);
    let approved: Vec<String> = gate.core.store().votes(1).await.unwrap().into_iter().map(|v| v.person.name).collect();
    assert_eq!(approved, ["carol"]);
}

/// What a bellhop killed while it held plan 1 leaves behind: executing, its lease running, and
/// (when `writing`) its first write started.
async fn killed_runner(gate: &Gate, writing: bool) {
    let lease = gate.core.clock().now() + chrono::Duration::minutes(10);
    sqlx::any::install_default_drivers();
    sqlx::query("UPDATE plans SET state = 'executing', lease_ms = $1, writing_ms = CASE WHEN $2 = 1 THEN $1 END WHERE id = 1")
        .bind(lease.timestamp_millis())
        .bind(i64::from(writing))
        .execute(&mut sqlx::AnyConnection::connect(&gate.store_url).await.unwrap())
        .await
        .unwrap();
}

/// A bellhop that stops mid-run leaves its plan executing; once its lease runs out, the post and
/// the audit say the plan was interrupted, and it is never run again.
#[sqlx::test(migrations = false)]
async fn a_plan_whose_runner_stopped_is_marked_interrupted_and_not_run_again(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    killed_runner(&gate, true).await;
    gate.restart().await;
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Executing, "its lease has not run out: the runner may be alive");
    gate.clock.advance(chrono::Duration::minutes(11));
    gate.settle().await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Interrupted);
    assert!(plan.outcome.unwrap().error.unwrap().starts_with("bellhop stopped while this plan ran."));
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 interrupted");
    gate.react(&carol(), 1, "✅", true).await;
    assert_eq!(gate.executions().await, 0);
    assert!(gate.flag("new-tenant-flow").await);
}

/// A runner stopped after claiming the plan but before its first write: the plan is not called
/// interrupted (nothing may have half-run), but aborted, having changed nothing.
#[sqlx::test(migrations = false)]
async fn a_plan_stopped_before_its_first_write_says_nothing_changed(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    killed_runner(&gate, false).await;
    gate.restart().await;
    gate.clock.advance(chrono::Duration::minutes(11));
    gate.settle().await;
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Aborted);
    assert_eq!(
        plan.outcome.unwrap().error.unwrap(),
        "bellhop stopped before this plan's first write; nothing changed. Ask again if it is still needed."
    );
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 aborted");
    assert!(gate.flag("new-tenant-flow").await);
}

fn break_glass(plan: &str) -> Invocation {
    Invocation::new("break-glass").option("plan", plan).option("reason", "every sign-in fails; bob is unreachable")
}

/// In an open P0, an admin's break-glass is the one approval a plan asked in its thread needs:
/// it runs once, the escalation roles are pinged in the thread, the timeline and audit keep it.
#[sqlx::test(migrations = false)]
async fn break_glass_in_a_p0_runs_a_plan_on_the_admins_approval_loudly(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    let thread = gate.declare("P0").await;
    gate.ask_in(&thread, &alice(), disable("new-tenant-flow")).await;
    let refused = gate.ask_in(&thread, &bob(), break_glass("PLAN-1")).await;
    assert_eq!(refused.post.body, "`/break-glass` is for an admin; ask an admin for the role.");
    let reply = gate.ask_in(&thread, &erin_admin(), break_glass("plan-1")).await;
    assert_eq!(reply.post.title, "Break-glass on PLAN-1");
    assert_eq!(reply.post.body, "INC-1: it runs now on @erin's approval.");
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Done);
    assert!(!gate.flag("new-tenant-flow").await);
    assert_eq!(gate.executions().await, 1);
    let posts = gate.port.posts.lock().unwrap().clone();
    let (place, loud) = posts.iter().find(|(_, p)| p.title.starts_with("🔓 Break-glass")).expect("the loud post");
    assert_eq!(bellhop_tests::place_key(place), thread, "in the incident's thread");
    assert_eq!(loud.title, "🔓 Break-glass on PLAN-1: one approval instead of two");
    assert!(!loud.pings.is_empty() && loud.pings.len() == bellhop_commands::incident::IncidentSettings::default().escalation.len());
    let timeline = gate.core.store().timeline(1).await.unwrap();
    let entry = timeline.iter().find(|e| e.kind == TimelineKind::BreakGlass).expect("on the timeline");
    assert_eq!(entry.actor.id, "shell:erin");
    assert!(entry.text.contains("every sign-in fails; bob is unreachable"), "{}", entry.text);
    let audit = gate.plan_audit().await;
    assert!(audit.iter().any(|(who, what)| who == "shell:erin" && what.starts_with("break-glass during INC-1")), "{audit:?}");
    let done = gate.post(1).await;
    assert_eq!(done.fields.iter().find(|f| f.name == "Approved by").unwrap().value, "@erin (break-glass)");
}

/// Break-glass never lets one person act alone, and only in an open P0.
#[sqlx::test(migrations = false)]
async fn break_glass_needs_an_open_p0_and_a_second_person(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&erin_admin(), disable("new-tenant-flow")).await;
    let outside = gate.ask(&erin_admin(), break_glass("PLAN-1")).await;
    assert_eq!(
        outside.post.body,
        "Break-glass is for a plan asked in an open P0 incident's thread; PLAN-1 was not. Get two approvals instead."
    );
    let p1 = gate.declare("P1").await;
    gate.ask_in(&p1, &alice(), disable("new-tenant-flow")).await;
    assert!(gate
        .ask_in(&p1, &erin_admin(), break_glass("PLAN-2"))
        .await
        .post
        .body
        .starts_with("Break-glass is for a plan asked in an open P0"));
    for bad in ["", "PLAN-", "PLAN-x", "'; DROP TABLE plans; --", "PLAN-99999999999999999999"] {
        let reply = gate.ask(&erin_admin(), break_glass(bad)).await;
        assert!(
            reply.post.body.contains("is not a plan; write it like PLAN-3") || reply.post.body.contains("`plan:`"),
            "{bad}: {}",
            reply.post.body
        );
    }
    assert_eq!(gate.ask(&erin_admin(), break_glass("PLAN-77")).await.post.body, "There is no PLAN-77.");

    let p0 = gate.declare("P0").await;
    gate.ask_in(&p0, &erin_admin(), disable("new-tenant-flow")).await;
    let own = gate.ask_in(&p0, &erin_admin(), break_glass("PLAN-3")).await;
    assert_eq!(own.post.body, "INC-2: @erin asked for it, so one ✅ from another approver runs it.");
    gate.settle().await;
    assert_eq!(gate.plan(3).await.state, PlanState::Pending, "the requester's own break-glass is not an approval");
    gate.react(&erin_admin(), 3, "✅", true).await;
    assert_eq!(gate.plan(3).await.state, PlanState::Pending, "nor is the requester's ✅");
    gate.react(&bob(), 3, "✅", true).await;
    assert_eq!(gate.plan(3).await.state, PlanState::Done, "one other approver is enough");
    assert_eq!(gate.executions().await, 1);
    let again = gate.ask_in(&p0, &erin_admin(), break_glass("PLAN-3")).await;
    assert_eq!(again.post.body, "PLAN-3 is done; break-glass only lets a pending plan run.");
}

/// The requester's own ❌ withdraws the plan (asking was a mistake); nothing runs, and later ✅
/// change nothing. A pending plan is offered when an admin types break-glass's `plan:`.
#[sqlx::test(migrations = false)]
async fn the_requester_withdraws_a_plan_with_a_cross(_: PgPoolOptions, admin: PgConnectOptions) {
    let gate = Gate::start(&admin).await;
    gate.ask(&dave_responder(), disable("new-tenant-flow")).await;
    gate.ask(&alice(), disable("housekeeping-board")).await;
    let offered = gate.core.suggest(&bellhop_tests::gate::erin_admin(), bellhop_commands::command::spec::Suggest::PendingPlans, "").await;
    assert_eq!(
        offered,
        [
            ("PLAN-2 · /flags disable · asked by @alice".to_string(), "PLAN-2".to_string()),
            ("PLAN-1 · /flags disable · asked by @dave".to_string(), "PLAN-1".to_string())
        ]
    );
    assert!(gate.post(1).await.body.contains("❌ from an approver rejects it; @dave's ❌ withdraws it."));
    gate.react(&dave_responder(), 1, "❌", true).await;
    assert_eq!(gate.plan(1).await.state, PlanState::Withdrawn);
    assert_eq!(gate.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 withdrawn");
    assert_eq!(gate.post(1).await.body.lines().last().unwrap(), "Withdrawn by @dave; nothing ran.");
    gate.approve(1, &[bob(), carol()]).await;
    assert_eq!(gate.executions().await, 0);
    assert!(gate.flag("new-tenant-flow").await);
    let offered =
        gate.core.suggest(&bellhop_tests::gate::erin_admin(), bellhop_commands::command::spec::Suggest::PendingPlans, "plan-").await;
    assert_eq!(offered.len(), 1, "only PLAN-2 still waits: {offered:?}");
}

/// A withdrawal given while bellhop was down is read from the post after the restart.
#[sqlx::test(migrations = false)]
async fn a_withdrawal_given_while_bellhop_was_down_closes_the_plan_after_the_restart(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut gate = Gate::start(&admin).await;
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    let message = gate.approval(1).await;
    gate.port.set_reaction(&message, "❌", &alice(), true);
    gate.port.set_reaction(&message, "✅", &carol(), true);
    gate.restart().await;
    gate.settle().await;
    assert_eq!(gate.plan(1).await.state, PlanState::Withdrawn, "the requester's ❌ wins over a quorum");
    assert_eq!(gate.executions().await, 0);
    assert!(gate.flag("new-tenant-flow").await);
}

fn dave_responder() -> Actor {
    Actor::new("shell:dave", "dave", [Role::Responder])
}

/// Polls `sql` (a count) on `conn` until it is positive: a session waiting on a lock gives no
/// other signal.
async fn until_positive(conn: &mut sqlx::PgConnection, sql: &str) {
    for _ in 0..1000 {
        if sqlx::query_scalar::<_, i64>(sql).fetch_one(&mut *conn).await.unwrap() > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never true within 10 s: {sql}");
}

/// A change that committed is done, even when reading it back fails: the outcome says "done;
/// read-back failed", never "failed". The read-back fails for real: another session asks for
/// the whole table while bellhop's write holds its lock, gets it the moment the write commits,
/// and bellhop's read-back times out behind it.
#[sqlx::test(migrations = false)]
async fn a_committed_change_whose_read_back_fails_is_done_and_says_so(_: PgPoolOptions, admin: PgConnectOptions) {
    use bellhop::demo::fixture::{self, Scale};
    use bellhop_commands::target_db::{TargetDb, TargetSettings};
    fixture::load(&admin, Scale::TEST).await.unwrap();
    let url = secrecy::SecretString::from(fixture::as_bellhop(&admin).to_url_lossy().to_string());
    // A plan reads back on the write pool, under the write timeout.
    let settings =
        TargetSettings { url, statement_timeout: std::time::Duration::from_secs(5), write_timeout: std::time::Duration::from_secs(2) };
    let gate =
        std::sync::Arc::new(Gate::on_loaded(&admin, TargetDb::new(&settings).unwrap(), bellhop::shell::virtual_start(), |_| {}).await);
    // The write waits inside its transaction, its lock on the table taken, until the test lets it go.
    let mut holder = gate.su().await;
    sqlx::raw_sql(
        "CREATE FUNCTION public.hold_flag_writes() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$;
         CREATE TRIGGER hold_flag_writes AFTER UPDATE ON public.feature_flags
         FOR EACH STATEMENT EXECUTE FUNCTION public.hold_flag_writes();
         SELECT pg_advisory_lock(4242);",
    )
    .execute(&mut holder)
    .await
    .unwrap();
    gate.ask(&alice(), disable("new-tenant-flow")).await;
    gate.react(&bob(), 1, "✅", true).await;
    let run = tokio::spawn({
        let gate = gate.clone();
        async move { gate.react(&carol(), 1, "✅", true).await }
    });
    let here = "database = (SELECT oid FROM pg_database WHERE datname = current_database())";
    until_positive(&mut holder, &format!("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND {here}")).await;
    let mut locker = gate.su().await;
    let locking = async {
        sqlx::raw_sql("BEGIN; LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE").execute(&mut locker).await.unwrap();
    };
    let releasing = async {
        let queued = "SELECT count(*) FROM pg_locks WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock' AND NOT granted
                      AND relation = 'public.feature_flags'::regclass";
        until_positive(&mut holder, queued).await;
        sqlx::query("SELECT pg_advisory_unlock(4242)").execute(&mut holder).await.unwrap();
    };
    tokio::join!(locking, releasing);
    run.await.unwrap();
    sqlx::raw_sql("ROLLBACK").execute(&mut locker).await.unwrap();
    let plan = gate.plan(1).await;
    assert_eq!(plan.state, PlanState::Done);
    let outcome = plan.outcome.unwrap();
    assert!(outcome.verification.starts_with("done; read-back failed:"), "{}", outcome.verification);
    assert!(outcome.verification.contains("ran past the 2s statement timeout"), "{}", outcome.verification);
    assert!(
        outcome.verification.contains("BELLHOP_TARGET_WRITE_TIMEOUT"),
        "the setting to raise is the write timeout: {}",
        outcome.verification
    );
    assert_eq!(outcome.rows, 1);
    assert!(!gate.flag("new-tenant-flow").await, "the change committed");
    let post = gate.post(1).await;
    assert_eq!(post.title, "PLAN-1 done");
    assert!(
        post.body.contains("done; read-back failed") || post.fields.iter().any(|f| f.value.contains("done; read-back failed")),
        "{post:?}"
    );
}
