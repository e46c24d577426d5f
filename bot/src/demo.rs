//! `bellhop demo`: the shell against a simulated platform on 127.0.0.1, with a throwaway store
//! and, when a local PostgreSQL answers, a scratch Supabase-shaped target database.

use crate::config::{default_shell_users, Config, LogFormat};
use crate::simulated::{Script, SimulatedPlatform};
use anyhow::Context as _;
use bellhop_commands::alerts::{AlertSettings, RuleKind};
use bellhop_commands::health::{HealthSettings, RUNBOOK_FUNCTIONS};
use bellhop_commands::remediation::RemediationSettings;
use bellhop_commands::target_db::TargetSettings;
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::time::Duration;

pub const DEMO_KEY: &str = "demo-anon-key";

/// The demo's configuration for a platform at `url`, with its store in `store_dir`, and the
/// target database `target` (a URL as the fixture's bellhop login) when there is one.
pub fn demo_config(url: &str, store_dir: &std::path::Path, target: Option<SecretString>) -> Config {
    Config {
        health: HealthSettings {
            frontend_url: Some(url.to_string()),
            supabase_url: Some(url.to_string()),
            anon_key: Some(SecretString::from(DEMO_KEY)),
            db_url: target.clone(),
            functions: RUNBOOK_FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            rest_table: "plans".into(),
            timeout: Duration::from_secs(10),
            // Short, so the virtual clock's sweeps (every 15 s) do not keep you waiting.
            slow_after: Duration::from_millis(200),
        },
        store_url: SecretString::from(format!("sqlite:{}", store_dir.join("bellhop.sqlite").display())),
        templates_dir: None,
        log_format: LogFormat::Human,
        discord_token: None,
        discord_guild_id: None,
        discord: Default::default(),
        slack: Default::default(),
        shell_users: default_shell_users(),
        shell_users_configured: false,
        incidents: Default::default(),
        // `run_demo` writes the fixture's down files there (fixture::write_rollbacks).
        remediation: RemediationSettings { rollbacks_dir: Some(store_dir.join("rollbacks")), ..Default::default() },
        // The simulated platform answers as the Management API too: function versions, backups.
        management: Some((
            bellhop_commands::alerts::ManagementSettings {
                token: SecretString::from("sbp_demo"),
                project_ref: "demo".into(),
                base: url.to_string(),
                functions: RUNBOOK_FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            },
            Duration::from_secs(30),
        )),
        alerts: demo_alerts(),
        sweep_every: Duration::from_secs(15),
        retention: Duration::from_secs(30 * 86_400),
        http: crate::http::HttpSettings { addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)), ..Default::default() },
        target: target.map(|url| TargetSettings { url, statement_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(60) }),
    }
}

/// A scratch database holding the seeded fixture, dropped when the demo ends.
pub struct DemoDatabase {
    admin: PgConnectOptions,
    name: String,
}

impl DemoDatabase {
    /// Creates `bellhop_demo_<pid>` on the server at `admin_url` (a superuser) and loads the fixture.
    pub async fn create(admin_url: &str) -> anyhow::Result<DemoDatabase> {
        let admin: PgConnectOptions = admin_url.parse().context("the demo's PostgreSQL URL is not a postgres:// URL")?;
        let name = format!("bellhop_demo_{}", std::process::id());
        let mut conn = tokio::time::timeout(Duration::from_secs(5), admin.connect())
            .await
            .map_err(|_| anyhow::anyhow!("no PostgreSQL answered at {}:{} within 5 s", admin.get_host(), admin.get_port()))?
            .with_context(|| format!("no PostgreSQL answers at {}:{}", admin.get_host(), admin.get_port()))?;
        // The name is ours (a pid), never typed by a person.
        for statement in [format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), format!("CREATE DATABASE {name}")] {
            sqlx::raw_sql(&statement).execute(&mut conn).await.context("cannot create the demo's database")?;
        }
        let _ = conn.close().await;
        let database = DemoDatabase { admin: admin.database(&name), name };
        fixture::load(&database.admin, fixture::Scale::DEMO).await?;
        Ok(database)
    }

    /// The URL bellhop uses: the fixture's login, shaped like hosted `postgres`.
    pub fn target_url(&self) -> SecretString {
        SecretString::from(fixture::as_bellhop(&self.admin).to_url_lossy().to_string())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the scratch database (best effort: a leftover is harmless and named after its pid).
    pub async fn drop_database(self) {
        let admin = self.admin.clone().database("postgres");
        if let Ok(mut conn) = admin.connect().await {
            let _ = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn).await;
        }
    }
}

/// The runbook's error-rate rule, judged on the demo's sweeps (one sample of invite-user every
/// 15 s): at least 10 samples in its 5 minutes, so it can fire on sweeps alone.
fn demo_alerts() -> AlertSettings {
    let mut settings = AlertSettings::default();
    // One sample per probe every 15 s: a failures-per-minute or latency rule never has enough.
    settings.rules.retain(|rule| matches!(rule.kind, RuleKind::ErrorRate | RuleKind::SuccessRate));
    for rule in &mut settings.rules {
        rule.min_samples = 10;
    }
    // A sweep every 15 s changes the figures each time: an edit a minute keeps the terminal readable.
    settings.timing.update_every = chrono::Duration::minutes(1);
    settings
}

pub async fn start_platform() -> std::io::Result<SimulatedPlatform> {
    let platform = SimulatedPlatform::start(Script::demo(DEMO_KEY, Duration::from_millis(300))).await?;
    // Every function at v41, deployed three days ago; a daily backup at 03:00, the newest 6 h old.
    let day = chrono::Duration::days(1);
    let backups = vec![chrono::Duration::hours(6), chrono::Duration::hours(6) + day, chrono::Duration::hours(6) + day * 2];
    platform.faults.management.seed(&RUNBOOK_FUNCTIONS, 41, day * 3, backups);
    Ok(platform)
}

/// The banner; `database` says what the target database is, or in one line why there is none.
pub fn banner(platform: &SimulatedPlatform, database: &str) -> String {
    format!(
        "bellhop demo: a simulated hotel platform runs on {} (invite-user fails ~15% of the time, trial-signup is slow).\n\
         {database}\n\
         Try:  /health    /incident declare severity:P1 title:\"Invites failing\"    :advance 6m (with --virtual-clock)    :help\n\
         Rollback: /migrations rollback version:20250922140000 (add dry_run:true to see the plan only).\n\
         Alerts: with --virtual-clock, :advance 30m sweeps every 15 s; :fail invite-user and :recover invite-user switch its failures.\n\
         Deploys: /deploy checklist (bellhop ticks what it can check), :deploy invite-user then :fail invite-user and :advance 6m: the alert names the deploy.\n\
         Approvals: /flags disable names:new-tenant-flow, then @bob react N ✅ and @carol react N ✅ (N: the approval post's number).\n\
         You type as @alice (responder); @bob and @carol are approvers; @erin is an admin (/break-glass in a P0); @dave has no role.",
        platform.addr
    )
}

/// The banner's database line.
pub fn database_line(database: &Result<DemoDatabase, anyhow::Error>) -> String {
    match database {
        Ok(db) => format!(
            "Target database: {} on the local PostgreSQL, a Supabase-shaped fixture with seeded hotels; /health probes it.",
            db.name()
        ),
        Err(error) => format!("Database commands are unavailable: {error:#}."),
    }
}

/// The Supabase-shaped fixture (`fixtures/supabase/`), for the demo, the tests and the benchmark.
pub mod fixture {
    use anyhow::Context as _;
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    pub const SCHEMA: &str = include_str!("../../fixtures/supabase/schema.sql");
    pub const SEED: &str = include_str!("../../fixtures/supabase/seed.sql");
    /// `fixtures/supabase/rollbacks/`: the down file of the seed's newest migration.
    pub const ROLLBACKS: &[(&str, &str)] =
        &[("20250922140000.down.sql", include_str!("../../fixtures/supabase/rollbacks/20250922140000.down.sql"))];
    /// The login the fixture creates, shaped like hosted `postgres` (not superuser, BYPASSRLS).
    pub const ROLE: &str = "bellhop_ops";
    pub const PASSWORD: &str = "bellhop_ops";

    /// How much the seed puts there.
    #[derive(Clone, Copy, Debug)]
    pub struct Scale {
        pub tenants: i32,
        pub users: i32,
        pub sessions: i32,
    }

    impl Scale {
        /// What the tests check figures against.
        pub const TEST: Scale = Scale { tenants: 40, users: 500, sessions: 2000 };
        pub const DEMO: Scale = Scale { tenants: 60, users: 3000, sessions: 12000 };
        /// The benchmark: 100,000 users and 1,000,000 sessions.
        pub const BENCH: Scale = Scale { tenants: 2000, users: 100_000, sessions: 1_000_000 };
    }

    /// Loads the schema and seeds it, connected as a superuser to an empty database.
    pub async fn load(admin: &PgConnectOptions, scale: Scale) -> anyhow::Result<()> {
        let mut conn = admin.connect().await.context("cannot connect to load the fixture")?;
        sqlx::raw_sql(SCHEMA).execute(&mut conn).await.context("cannot load fixtures/supabase/schema.sql")?;
        sqlx::raw_sql(SEED).execute(&mut conn).await.context("cannot load fixtures/supabase/seed.sql")?;
        sqlx::query("SELECT bellhop_fixture.seed($1, $2, $3)")
            .bind(scale.tenants)
            .bind(scale.users)
            .bind(scale.sessions)
            .execute(&mut conn)
            .await
            .context("cannot seed the fixture")?;
        sqlx::query("ANALYZE").execute(&mut conn).await.context("cannot analyze the fixture")?;
        conn.close().await.context("cannot close the loading connection")
    }

    /// Writes the fixture's down files into `dir` (created if missing), for a rollbacks folder
    /// that does not depend on where the source tree is.
    pub fn write_rollbacks(dir: &std::path::Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (name, sql) in ROLLBACKS {
            std::fs::write(dir.join(name), sql).with_context(|| format!("cannot write {name}"))?;
        }
        Ok(())
    }

    /// The same database, as the fixture's bellhop login.
    pub fn as_bellhop(admin: &PgConnectOptions) -> PgConnectOptions {
        admin.clone().username(ROLE).password(PASSWORD)
    }
}
