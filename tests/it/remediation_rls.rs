//! `/rls lockdown` and `/rls restore` against the Supabase-shaped fixture on the real PostgreSQL:
//! two approvals lock anon out of the public tables, a dry run changes nothing, and the restore
//! gives back exactly the grants the lockdown recorded.

use bellhop_commands::remediation::Plan;
use bellhop_commands::remediation::PlanState;
use bellhop_commands::Invocation;
use bellhop_tests::gate::{alice, approval_number, bob, carol, shell_on_fixture, Gate};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// Asks for plan `id` and has bob and carol approve it.
async fn approved(rls: &Gate, invocation: Invocation, id: i64) -> Plan {
    rls.ask(&alice(), invocation).await;
    rls.approve(id, &[bob(), carol()]).await;
    rls.plan(id).await
}

/// anon's table privileges in public as information_schema reports them (not the catalog
/// query bellhop uses): (table, privilege, grantor, grantable), sorted.
async fn anon_grants(rls: &Gate) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT table_name::text, privilege_type::text, grantor::text, is_grantable::text
         FROM information_schema.table_privileges WHERE grantee = 'anon' AND table_schema = 'public' ORDER BY 1, 2, 3",
    )
    .fetch_all(&mut rls.su().await)
    .await
    .unwrap()
}

/// `SET ROLE anon; SELECT count(*) FROM public.users` on a connection of its own: the rows
/// anon sees, or the SQLSTATE it got.
async fn anon_reads_users(rls: &Gate) -> Result<i64, String> {
    let mut conn = rls.su().await;
    sqlx::query("SET ROLE anon").execute(&mut conn).await.unwrap();
    let read = sqlx::query_scalar("SELECT count(*) FROM public.users").fetch_one(&mut conn).await;
    read.map_err(|e| e.as_database_error().and_then(|d| d.code()).map(|c| c.to_string()).unwrap_or_else(|| e.to_string()))
}

fn lockdown() -> Invocation {
    Invocation::new("rls lockdown")
}

fn restore() -> Invocation {
    Invocation::new("rls restore")
}

#[sqlx::test(migrations = false)]
async fn a_lockdown_needs_two_approvers_then_anon_is_refused_on_users(_: PgPoolOptions, admin: PgConnectOptions) {
    let rls = Gate::start(&admin).await;
    let before = anon_grants(&rls).await;
    assert!(before.iter().any(|(t, p, _, _)| t == "users" && p == "SELECT"), "{before:?}");
    assert_eq!(anon_reads_users(&rls).await, Ok(0), "before: RLS shows anon no rows, but the read is allowed");
    let reply = rls.ask(&alice(), lockdown()).await;
    assert_eq!(reply.post.title, "PLAN-1 waits for approval");
    assert_eq!(rls.port.titles(), ["Approval needed: PLAN-1 · /rls lockdown"]);
    let plan = rls.plan(1).await;
    assert_eq!(plan.preview.rows, before.len() as i64);
    assert!(plan.preview.lines.iter().any(|l| l.starts_with("`public.users`: ")), "{:?}", plan.preview.lines);
    let loader = admin.get_username();
    let caveat = format!("Tables created later by `{loader}` are granted to anon again by default privileges");
    assert!(plan.preview.lines.iter().any(|l| l.starts_with(&caveat)), "{:?}", plan.preview.lines);

    rls.approve(1, &[bob()]).await;
    assert_eq!(rls.plan(1).await.state, PlanState::Pending, "one approver is not enough");
    assert_eq!(anon_reads_users(&rls).await, Ok(0), "nothing ran");

    rls.approve(1, &[carol()]).await;
    let plan = rls.plan(1).await;
    let outcome = plan.outcome.clone().unwrap();
    assert_eq!(plan.state, PlanState::Done, "{outcome:?}");
    assert_eq!(anon_reads_users(&rls).await, Err("42501".to_string()), "permission denied, not 0 rows");
    assert!(anon_grants(&rls).await.is_empty());
    assert_eq!(outcome.rows, before.len() as i64);
    assert_eq!(
        outcome.verification,
        format!(
            "as anon, reading public.users is refused (permission denied); tables created later by {loader} are granted to anon \
             again by default privileges; undo with /rls restore"
        )
    );
    let saved = outcome.saved.unwrap();
    assert_eq!(saved.as_array().map(Vec::len), Some(before.len()), "{saved}");
    assert_eq!(rls.port.edits.lock().unwrap().last().unwrap().1, "PLAN-1 done");
}

#[sqlx::test(migrations = false)]
async fn a_dry_run_changes_nothing_and_names_default_privileges_only_when_they_grant_anon(_: PgPoolOptions, admin: PgConnectOptions) {
    let rls = Gate::start(&admin).await;
    let before = anon_grants(&rls).await;
    let reply = rls.ask(&alice(), lockdown().option("dry_run", "true")).await;
    assert_eq!(reply.post.title, "Dry run: /rls lockdown");
    let body = &reply.post.body;
    assert!(body.contains(&format!("anon loses {} grant(s) on 6 table(s):", before.len())), "{body}");
    assert!(body.contains("are granted to anon again by default privileges"), "{body}");
    assert!(body.contains("anon can still call 3 SECURITY DEFINER function(s) in public"), "{body}");
    assert!(body.contains("Undo with /rls restore (approval-gated)"), "{body}");
    assert!(body.ends_with("Nothing was asked and nothing ran."), "{body}");
    assert_eq!(anon_grants(&rls).await, before);
    assert!(rls.port.posts.lock().unwrap().is_empty());
    assert!(rls.core.store().plan(1).await.unwrap().is_none());

    // The loader's defaults are the only ones granting anon; without them there is no caveat.
    sqlx::raw_sql("ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM anon").execute(&mut rls.su().await).await.unwrap();
    let reply = rls.ask(&alice(), lockdown().option("dry_run", "true")).await;
    assert!(!reply.post.body.contains("default privileges"), "{}", reply.post.body);
    assert_eq!(anon_grants(&rls).await, before);
}

#[sqlx::test(migrations = false)]
async fn the_restore_gives_back_exactly_the_recorded_grants_once(_: PgPoolOptions, admin: PgConnectOptions) {
    let rls = Gate::start(&admin).await;
    let before = anon_grants(&rls).await;
    assert_eq!(approved(&rls, lockdown(), 1).await.state, PlanState::Done);
    assert!(anon_grants(&rls).await.is_empty());
    // What the caveat warns of: a table made after the lockdown is anon's again by default.
    sqlx::raw_sql("CREATE TABLE public.guest_notes (id int)").execute(&mut rls.su().await).await.unwrap();
    let later = anon_grants(&rls).await;
    assert!(!later.is_empty() && later.iter().all(|(t, _, _, _)| t == "guest_notes"), "{later:?}");

    let reply = rls.ask(&alice(), restore().option("dry_run", "true")).await;
    assert!(
        reply.post.body.contains(&format!("anon gets back {} grant(s) on 6 table(s) that PLAN-1 revoked:", before.len())),
        "{}",
        reply.post.body
    );
    let plan = approved(&rls, restore(), 2).await;
    let outcome = plan.outcome.clone().unwrap();
    assert_eq!(plan.state, PlanState::Done, "{outcome:?}");
    assert_eq!(outcome.rows, before.len() as i64);
    assert_eq!(
        outcome.verification,
        "read back: anon holds the recorded grants again; as anon, reading public.users is allowed (RLS decides the rows)"
    );
    let mut expected = before.clone();
    expected.extend(later);
    expected.sort();
    assert_eq!(anon_grants(&rls).await, expected, "the recorded grants, and the later table's left as they were");
    assert_eq!(anon_reads_users(&rls).await, Ok(0));

    let again = rls.ask(&alice(), restore()).await;
    assert_eq!(again.post.body, "PLAN-1's lockdown was already undone by PLAN-2.");
    assert!(rls.core.store().plan(3).await.unwrap().is_none());
}

#[sqlx::test(migrations = false)]
async fn a_restore_without_a_lockdown_is_a_clear_error(_: PgPoolOptions, admin: PgConnectOptions) {
    let rls = Gate::start(&admin).await;
    let before = anon_grants(&rls).await;
    let reply = rls.ask(&alice(), restore()).await;
    assert_eq!(reply.post.body, "No lockdown to undo: /rls lockdown has not run.");
    assert!(rls.port.posts.lock().unwrap().is_empty());
    assert!(rls.core.store().plan(1).await.unwrap().is_none());
    assert_eq!(anon_grants(&rls).await, before);
}

/// A grant bellhop's login did not make (a table created by another role) cannot be revoked by
/// it; the lockdown says so before any plan instead of half-working.
#[sqlx::test(migrations = false)]
async fn grants_bellhop_cannot_revoke_are_named_and_nothing_is_asked(_: PgPoolOptions, admin: PgConnectOptions) {
    let rls = Gate::start(&admin).await;
    sqlx::raw_sql("CREATE TABLE public.guest_notes (id int)").execute(&mut rls.su().await).await.unwrap();
    let before = anon_grants(&rls).await;
    let reply = rls.ask(&alice(), lockdown()).await;
    let loader = admin.get_username();
    assert_eq!(
        reply.post.body,
        format!(
            "bellhop's login cannot revoke anon's grants on `public.guest_notes` (granted by `{loader}`): only their grantor can; \
             connect bellhop as the tables' owner (hosted: postgres)."
        )
    );
    assert!(rls.port.posts.lock().unwrap().is_empty());
    assert_eq!(anon_grants(&rls).await, before);
}

#[sqlx::test(migrations = false)]
async fn in_the_shell_two_approvals_lock_anon_out(_: PgPoolOptions, admin: PgConnectOptions) {
    let mut session = shell_on_fixture(&admin).await;
    let asked = session.type_line("/rls lockdown").await;
    let number = approval_number(&asked, "PLAN-1");
    session.type_line(&format!("@bob react {number} ✅")).await;
    let approved = session.type_line(&format!("@carol react {number} ✅")).await;
    assert!(approved.contains("PLAN-1 done"), "{approved}");
    assert!(approved.contains("as anon, reading public.users is refused"), "{approved}");
    assert!(approved.contains("undo with /rls restore"), "{approved}");
    let diagnosis = session.type_line("/auth diagnose").await;
    assert!(diagnosis.contains("refused"), "{diagnosis}");
    let undo = session.type_line("/rls restore dry_run:true").await;
    assert!(undo.contains("that PLAN-1 revoked"), "{undo}");
}
