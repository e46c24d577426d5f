//! The runbook's diagnostics against the Supabase-shaped fixture on the real PostgreSQL, with
//! figures checked against what the seed put there (`fixtures/supabase/seed.sql`).

use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::diagnostics::auth_diagnose::{AnonProbe, HelperAnswer};
use bellhop_commands::diagnostics::slow_queries::SlowQueries;
use bellhop_commands::diagnostics::{auth_diagnose, connections, db_health, flags_list, migrations_status, slow_queries, SlowQueryArgs};
use bellhop_commands::target_db::{TargetDb, TargetError, TargetSettings};
use bellhop_commands::Tone;
use secrecy::SecretString;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::time::Duration;

/// Loads the fixture at the test scale; returns the target as bellhop sees it.
async fn seeded(admin: &PgConnectOptions) -> TargetDb {
    fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
    target(&fixture::as_bellhop(admin), Duration::from_secs(5))
}

fn target(options: &PgConnectOptions, statement_timeout: Duration) -> TargetDb {
    let url = SecretString::from(options.to_url_lossy().to_string());
    TargetDb::new(&TargetSettings { url, statement_timeout, write_timeout: statement_timeout }).expect("a valid target URL")
}

async fn superuser(admin: &PgConnectOptions) -> PgConnection {
    admin.connect().await.expect("the test database answers")
}

async fn exec(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(sql).execute(conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Tenant i was created 7 + 2·(i-1)² minutes before the seed ran: its hour bucket, oldest first.
fn expected_tenants_per_hour() -> Vec<i64> {
    let mut hours = vec![0i64; 24];
    for i in 1..=Scale::TEST.tenants as i64 {
        let minutes = 7 + 2 * (i - 1) * (i - 1);
        if minutes < 24 * 60 {
            hours[23 - (minutes / 60) as usize] += 1;
        }
    }
    hours
}

#[sqlx::test(migrations = false)]
async fn db_health_counts_what_the_seed_put_there_and_names_the_table_without_rls(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let health = db_health::run(&target).await.unwrap();
    let counts: Vec<(&str, Option<i64>)> = health.counts.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    // 500 auth users, of whom every 50th-from-13 is anonymous and has no profile: 490.
    assert_eq!(counts, [("users", Some(490)), ("tenants", Some(40)), ("roles", Some(120)), ("plans", Some(3))]);
    assert_eq!(health.tenants_per_hour, expected_tenants_per_hour());
    assert_eq!(health.new_tenants(), 27);
    assert_eq!(health.tables_without_rls, ["import_staging"]);
    let post = db_health::post(&health);
    assert_eq!(post.tone, Tone::Warning);
    assert!(post.body.starts_with("27 new tenants in the last 24 hours; busiest hour: 6 (0–1 hours ago); last hour: 6."), "{}", post.body);
    assert_eq!(post.fields[0].value, "users 490 · tenants 40 · roles 120 · plans 3");
    assert_eq!(post.fields[1].value, "import_staging");
    let chart = &post.attachments[0];
    assert_eq!(chart.filename, "new-tenants-24h.png");
    assert_eq!(&chart.bytes[..8], b"\x89PNG\r\n\x1a\n");

    exec(&mut superuser(&admin).await, "ALTER TABLE public.import_staging ENABLE ROW LEVEL SECURITY; DROP TABLE public.roles CASCADE")
        .await;
    let post = db_health::post(&db_health::run(&target).await.unwrap());
    assert_eq!(post.fields[0].value, "users 490 · tenants 40 · roles missing · plans 3");
    assert_eq!(post.fields[1].value, "none — every public table has row-level security");
}

#[sqlx::test(migrations = false)]
async fn auth_diagnose_tells_refused_no_rows_and_a_leak_apart(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let diagnosis = auth_diagnose::run(&target).await.unwrap();
    assert_eq!(diagnosis.signups_last_hour, 5);
    let HelperAnswer::Answered(context) = &diagnosis.helpers[0].answer else { panic!("{:?}", diagnosis.helpers) };
    assert!(context.contains(r#""session_user": "bellhop_ops""#), "{context}");
    assert_eq!(diagnosis.helpers[1].answer, HelperAnswer::Answered("false".into()));
    let policies: Vec<(&str, &str)> = diagnosis.policies.iter().map(|p| (p.table.as_str(), p.name.as_str())).collect();
    assert_eq!(
        policies,
        [
            ("roles", "roles_of_own_tenant"),
            ("tenants", "tenants_own_or_super_admin"),
            ("users", "users_same_tenant"),
            ("users", "users_update_self")
        ]
    );
    let probes: Vec<&AnonProbe> = diagnosis.anon.iter().map(|(_, p)| p).collect();
    assert_eq!(probes, [&AnonProbe::NoRows, &AnonProbe::NoRows, &AnonProbe::NoRows]);
    let post = auth_diagnose::post(&diagnosis);
    assert_eq!(
        (post.tone, post.body.as_str()),
        (Tone::Good, "5 sign-up(s) in the last hour. The anon role sees no rows of users, tenants or roles.")
    );

    let mut su = superuser(&admin).await;
    exec(&mut su, "REVOKE ALL ON public.users FROM anon").await;
    exec(&mut su, "CREATE POLICY oops ON public.tenants FOR SELECT TO anon USING (true)").await;
    exec(&mut su, "DROP FUNCTION public.debug_auth_context()").await;
    let diagnosis = auth_diagnose::run(&target).await.unwrap();
    let probes: Vec<&AnonProbe> = diagnosis.anon.iter().map(|(_, p)| p).collect();
    assert_eq!(probes, [&AnonProbe::Refused, &AnonProbe::RowsVisible(40), &AnonProbe::NoRows]);
    assert_eq!(diagnosis.helpers[0].answer, HelperAnswer::Missing);
    let post = auth_diagnose::post(&diagnosis);
    assert_eq!(post.tone, Tone::Bad);
    assert!(post.body.ends_with("LEAK: the anon role can read rows of tenants."), "{}", post.body);
    let anon = &post.fields[2].value;
    assert_eq!(anon, "users: refused (permission denied)\ntenants: 40 rows visible — a leak\nroles: no rows visible");
    assert!(post.fields[0].value.starts_with("debug_auth_context() is missing"), "{}", post.fields[0].value);

    // The runbook's REVOKE everywhere: no leak, and the summary says refused, not "no rows".
    exec(&mut su, "DROP POLICY oops ON public.tenants; REVOKE ALL ON public.tenants, public.roles FROM anon").await;
    let post = auth_diagnose::post(&auth_diagnose::run(&target).await.unwrap());
    assert!(post.body.ends_with(". anon is refused on users, tenants, roles."), "{}", post.body);
    assert_eq!(
        post.fields[2].value,
        "users: refused (permission denied)\ntenants: refused (permission denied)\nroles: refused (permission denied)"
    );
}

#[sqlx::test(migrations = false)]
async fn migrations_status_lists_the_last_five_newest_first(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let status = migrations_status::run(&target).await.unwrap();
    assert_eq!(status.total, Some(8));
    let versions: Vec<&str> = status.latest.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(versions, ["20250922140000", "20250918090000", "20250910143000", "20250901101000", "20250820160000"]);
    let post = migrations_status::post(&status);
    assert!(post.body.starts_with("8 applied; the latest 5, newest first:\n`20250922140000` latest_invite_fixes\n"), "{}", post.body);

    exec(&mut superuser(&admin).await, "DROP SCHEMA supabase_migrations CASCADE").await;
    let post = migrations_status::post(&migrations_status::run(&target).await.unwrap());
    assert!(post.body.starts_with("There is no migration history"), "{}", post.body);
}

#[sqlx::test(migrations = false)]
async fn flags_list_shows_each_flag_and_its_state(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let post = flags_list::post(&flags_list::run(&target).await.unwrap());
    assert_eq!(
        post.body,
        "3 of 5 on:\non  `enhanced-invite-system`\non  `housekeeping-board`\noff `maintenance-banner`\non  `new-tenant-flow`\noff `trial-signup-v2`"
    );
}

#[sqlx::test(migrations = false)]
async fn connections_counts_others_by_state_and_finds_the_longest_active_query(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let quiet = connections::run(&target).await.unwrap();
    assert_eq!((quiet.total(), quiet.longest_active.is_none()), (0, true), "{quiet:?}");

    // One connection holds a lock inside an open transaction; another waits on it, active.
    let mut holder = superuser(&admin).await;
    exec(&mut holder, "BEGIN; LOCK TABLE public.plans IN ACCESS EXCLUSIVE MODE").await;
    let waiter_options = admin.clone();
    let waiter = tokio::spawn(async move {
        let mut conn = waiter_options.connect().await.unwrap();
        sqlx::query("SELECT count(*) /* bellhop-test-waiter */ FROM public.plans").execute(&mut conn).await.unwrap();
    });
    let (seen, _watcher) = wait_until_active(&admin).await;
    let busy = connections::run(&target).await.unwrap();
    // The holder idles in its transaction, the waiter is active, the watcher is idle.
    assert_eq!((busy.count("active"), busy.count("idle in transaction"), busy.count("idle")), (1, 1, 1), "{busy:?}");
    let longest = busy.longest_active.clone().unwrap();
    assert_eq!(longest.pid, seen);
    assert!(longest.query.contains("bellhop-test-waiter"), "{longest:?}");
    let post = connections::post(&busy);
    assert!(post.body.starts_with("3 client connection(s) besides bellhop's own:"), "{}", post.body);
    assert!(post.fields[0].value.contains("bellhop-test-waiter"), "{}", post.fields[0].value);
    exec(&mut holder, "COMMIT").await;
    waiter.await.unwrap();
}

/// Waits (on the server's own view, not a timer) until the waiter's query shows as active;
/// returns its pid and the watching connection, kept open so the count of idle ones is known.
async fn wait_until_active(admin: &PgConnectOptions) -> (i32, PgConnection) {
    let mut conn = superuser(admin).await;
    let look = async {
        loop {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%bellhop-test-waiter%' AND pid <> pg_backend_pid()",
            )
            .fetch_optional(&mut conn)
            .await
            .unwrap();
            if let Some(pid) = pid {
                return pid;
            }
            tokio::task::yield_now().await;
        }
    };
    let pid = tokio::time::timeout(Duration::from_secs(10), look).await.expect("the waiting query shows in pg_stat_activity");
    (pid, conn)
}

#[sqlx::test(migrations = false)]
async fn a_diagnostic_transaction_refuses_writes_and_times_out_statements(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let mut tx = target.read().await.unwrap();
    let error = sqlx::query("UPDATE public.feature_flags SET is_enabled = false").execute(tx.conn()).await.unwrap_err();
    let error = tx.error(error);
    assert!(matches!(error, TargetError::ReadOnly { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("The target database at 127.0.0.1:{} refused a write: diagnostics run read-only.", admin.get_port())
    );
    drop(tx);
    let still: i64 = sqlx::query_scalar("SELECT count(*) FROM public.feature_flags WHERE is_enabled")
        .fetch_one(&mut superuser(&admin).await)
        .await
        .unwrap();
    assert_eq!(still, 3, "nothing was written");

    // A lock held elsewhere makes the read wait; the statement timeout ends it.
    let mut holder = superuser(&admin).await;
    exec(&mut holder, "BEGIN; LOCK TABLE public.feature_flags IN ACCESS EXCLUSIVE MODE").await;
    let impatient = target_with_timeout(&admin, Duration::from_millis(300));
    let error = flags_list::run(&impatient).await.unwrap_err();
    assert!(error.to_string().contains("ran past the 300ms statement timeout"), "{error}");
    exec(&mut holder, "ROLLBACK").await;
}

fn target_with_timeout(admin: &PgConnectOptions, timeout: Duration) -> TargetDb {
    target(&fixture::as_bellhop(admin), timeout)
}

#[sqlx::test(migrations = false)]
async fn failures_are_one_sentence_naming_the_host_never_the_password(_: PgPoolOptions, admin: PgConnectOptions) {
    let target_db = seeded(&admin).await;
    let port = admin.get_port();
    let wrong_user = target(&admin.clone().username("no_such_role_bellhop").password("hunter2"), Duration::from_secs(5));
    let sentence = flags_list::run(&wrong_user).await.unwrap_err().to_string();
    assert!(!sentence.contains("hunter2") && !sentence.contains(fixture::PASSWORD), "{sentence}");
    assert_eq!(
        sentence,
        format!("The target database at 127.0.0.1:{port} refused user no_such_role_bellhop (wrong password or unknown user); check the credentials in SUPABASE_DB_URL.")
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = target(&fixture::as_bellhop(&admin).port(closed).password("hunter2"), Duration::from_secs(1));
    let sentence = db_health::run(&down).await.unwrap_err().to_string();
    assert!(!sentence.contains("hunter2") && !sentence.contains(fixture::PASSWORD), "{sentence}");
    assert_eq!(sentence, format!("Cannot reach the target database at 127.0.0.1:{closed} (connection refused); check SUPABASE_DB_URL's host and port, and that the database is up."));
    let no_db = target(&fixture::as_bellhop(&admin).database("no_such_db_bellhop").password("hunter2"), Duration::from_secs(5));
    let sentence = migrations_status::run(&no_db).await.unwrap_err().to_string();
    assert!(!sentence.contains("hunter2") && !sentence.contains(fixture::PASSWORD), "{sentence}");
    assert!(sentence.contains("has no database named no_such_db_bellhop"), "{sentence}");
    exec(&mut superuser(&admin).await, "DROP TABLE public.feature_flags").await;
    let sentence = flags_list::run(&target_db).await.unwrap_err().to_string();
    assert!(!sentence.contains("hunter2") && !sentence.contains(fixture::PASSWORD), "{sentence}");
    assert_eq!(
        sentence,
        format!("Something bellhop reads is missing on 127.0.0.1:{port}: relation \"public.feature_flags\" does not exist; check that this is the platform's database.")
    );
}

#[test]
fn the_transaction_pooler_is_refused_with_a_sentence() {
    let url = SecretString::from("postgres://postgres.abc:hunter2@aws-0-eu-west-1.pooler.supabase.com:6543/postgres".to_string());
    let error = TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(60) })
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "aws-0-eu-west-1.pooler.supabase.com:6543 is Supabase's transaction pooler, which cannot keep the prepared statements bellhop uses; set SUPABASE_DB_URL to the direct connection or the session pooler (port 5432)."
    );
    assert!(!error.contains("hunter2"));
}

#[sqlx::test(migrations = false)]
async fn slow_queries_says_how_to_enable_the_extension_when_it_is_absent(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let result = slow_queries::run(&target, SlowQueryArgs::default()).await.unwrap();
    assert_eq!(result, SlowQueries::NotInstalled);
    let post = slow_queries::post(&result, SlowQueryArgs::default());
    assert!(post.body.contains("Database → Extensions → pg_stat_statements"), "{}", post.body);

    // Installed but not preloaded (this server) or preloaded (a server configured for it).
    exec(
        &mut superuser(&admin).await,
        "CREATE SCHEMA IF NOT EXISTS extensions; CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions",
    )
    .await;
    let preloaded = preloads_statements(&admin).await;
    let result = slow_queries::run(&target, SlowQueryArgs::default()).await.unwrap();
    if preloaded {
        assert!(matches!(result, SlowQueries::Found { ref schema, .. } if schema == "extensions"), "{result:?}");
    } else {
        assert_eq!(result, SlowQueries::NotLoaded { schema: "extensions".into() });
        let post = slow_queries::post(&result, SlowQueryArgs::default());
        assert!(post.body.contains("add it to shared_preload_libraries"), "{}", post.body);
    }
}

async fn preloads_statements(options: &PgConnectOptions) -> bool {
    let mut conn = options.connect().await.expect("the server answers");
    let libraries: String = sqlx::query_scalar("SHOW shared_preload_libraries").fetch_one(&mut conn).await.unwrap();
    let _ = conn.close().await;
    libraries.split(',').any(|l| l.trim() == "pg_stat_statements")
}

/// A server that loads pg_stat_statements: the test server when it does, else the one
/// `scripts/test` starts for this (BELLHOP_STATS_DATABASE_URL, default port 5433).
async fn statements_server(test_server: &PgConnectOptions) -> PgConnectOptions {
    if preloads_statements(test_server).await {
        return test_server.clone().database("postgres");
    }
    let url =
        std::env::var("BELLHOP_STATS_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres:postgres@127.0.0.1:5433/postgres".to_string());
    let options: PgConnectOptions = url.parse().expect("BELLHOP_STATS_DATABASE_URL is a postgres:// URL");
    let reachable = tokio::time::timeout(Duration::from_secs(5), options.connect()).await.is_ok_and(|c| c.is_ok());
    assert!(
        reachable && preloads_statements(&options).await,
        "NOT TESTED: pg_stat_statements with data needs a PostgreSQL that preloads it. The test server does not \
         (shared_preload_libraries), and none answers at {}. Run scripts/test, which starts one on port 5433, \
         or set BELLHOP_STATS_DATABASE_URL.",
        options.get_host()
    );
    options
}

#[sqlx::test(migrations = false)]
async fn slow_queries_reads_pg13_columns_from_the_extensions_schema(_: PgPoolOptions, admin: PgConnectOptions) {
    let server = statements_server(&admin).await;
    let name = format!("bellhop_stats_{}", std::process::id());
    let mut root = server.connect().await.unwrap();
    exec(&mut root, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    exec(&mut root, &format!("CREATE DATABASE {name}")).await;
    let scratch = server.clone().database(&name);
    fixture::load(&scratch, Scale::TEST).await.unwrap();
    let mut su = scratch.connect().await.unwrap();
    exec(&mut su, "CREATE SCHEMA extensions; CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions").await;
    for n in 0..120 {
        sqlx::query("SELECT count(*) /* bellhop-slow-probe */ FROM auth.sessions WHERE created_at < now() - make_interval(mins => $1)")
            .bind(n)
            .execute(&mut su)
            .await
            .unwrap();
    }
    let target = target(&fixture::as_bellhop(&scratch), Duration::from_secs(5));
    let result = slow_queries::run(&target, SlowQueryArgs { min_calls: 100, limit: 5 }).await.unwrap();
    let SlowQueries::Found { schema, queries } = &result else { panic!("{result:?}") };
    assert_eq!(schema, "extensions");
    let probe = queries.iter().find(|q| q.query.contains("bellhop-slow-probe")).expect("the probe's statement is listed");
    assert_eq!((probe.calls, probe.rows), (120, 120));
    assert!(probe.mean_exec_ms > 0.0 && probe.total_exec_ms >= probe.mean_exec_ms, "{probe:?}");
    let post = slow_queries::post(&result, SlowQueryArgs { min_calls: 100, limit: 5 });
    assert!(post.fields.iter().any(|f| f.value.contains("120 calls")), "{:?}", post.fields);
    drop(target);
    let _ = su.close().await;
    exec(&mut root, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

#[sqlx::test(migrations = false)]
async fn bellhop_diagnose_runs_all_six_and_flags_what_needs_attention(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let reports = bellhop_commands::diagnostics::run_all(&target).await;
    let names: Vec<&str> = reports.iter().map(|r| r.name).collect();
    assert_eq!(names, ["db_health", "slow_queries", "connections", "auth_diagnose", "migrations_status", "flags_list"]);
    assert!(reports.iter().all(|r| !r.failed), "{:?}", reports.iter().map(|r| &r.json).collect::<Vec<_>>());
    let attention: Vec<&str> = reports.iter().filter(|r| bellhop_commands::diagnostics::needs_attention(r)).map(|r| r.name).collect();
    // The unprotected import_staging table, and no pg_stat_statements in the fixture.
    assert_eq!(attention, ["db_health", "slow_queries"]);
    assert_eq!(reports[5].json["ok"][0]["name"], "enhanced-invite-system");
}

/// The diagnostics as people run them: commands in the shell, answered only to the typist, with
/// the chart attached; without a target, one sentence says what is missing.
#[sqlx::test(migrations = false)]
async fn the_diagnostics_answer_as_commands(_: PgPoolOptions, admin: PgConnectOptions) {
    let target = seeded(&admin).await;
    let health = bellhop_tests::settings("http://127.0.0.1:9", &[]);
    let mut session = bellhop_tests::ShellSession::start_with_target(health.clone(), "", Some(target)).await;
    let flags = session.type_line("/flags list").await;
    assert!(flags.starts_with("#1 (only @alice) "), "{flags}");
    let checklist = session.type_line("/db health").await;
    assert!(checklist.contains("users 490 · tenants 40 · roles 120 · plans 3"), "{checklist}");
    assert!(checklist.contains("📎 "), "the chart is attached: {checklist}");
    let refused = session.type_line("/db slow-queries limit:500").await;
    assert!(refused.contains("✗ `limit:` `500` is not a whole number from 1 to 25."), "{refused}");
    let stranger = session.type_line("@dave /migrations status").await;
    assert!(stranger.contains("✗ `/migrations status` is for a responder; ask an admin for the role."), "{stranger}");

    let mut without = bellhop_tests::ShellSession::start(health).await;
    let missing = without.type_line("/db connections").await;
    assert!(missing.contains("✗ bellhop has no target database: SUPABASE_DB_URL is not set."), "{missing}");
}
