//! `bellhop demo`: the shell against a simulated platform on 127.0.0.1, with a throwaway store.

use crate::config::{default_shell_users, Config, LogFormat};
use crate::simulated::{Script, SimulatedPlatform};
use bellhop_commands::health::{HealthSettings, RUNBOOK_FUNCTIONS};
use secrecy::SecretString;
use std::time::Duration;

pub const DEMO_KEY: &str = "demo-anon-key";

/// The demo's configuration for a platform at `url`, with its store in `store_dir`.
pub fn demo_config(url: &str, store_dir: &std::path::Path) -> Config {
    Config {
        health: HealthSettings {
            frontend_url: Some(url.to_string()),
            supabase_url: Some(url.to_string()),
            anon_key: Some(SecretString::from(DEMO_KEY)),
            db_url: None,
            functions: RUNBOOK_FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            rest_table: "plans".into(),
            timeout: Duration::from_secs(10),
            slow_after: Duration::from_secs(2),
        },
        store_url: SecretString::from(format!("sqlite:{}", store_dir.join("bellhop.sqlite").display())),
        templates_dir: None,
        log_format: LogFormat::Human,
        discord_token: None,
        discord_guild_id: None,
        discord: Default::default(),
        shell_users: default_shell_users(),
        incidents: Default::default(),
    }
}

pub async fn start_platform() -> std::io::Result<SimulatedPlatform> {
    SimulatedPlatform::start(Script::demo(DEMO_KEY, Duration::from_millis(2500))).await
}

pub fn banner(platform: &SimulatedPlatform) -> String {
    format!(
        "bellhop demo: a simulated hotel platform runs on {} (invite-user fails ~15% of the time, trial-signup is slow; no database).\n\
         Try:  /health    /incident declare severity:P1 title:\"Invites failing\"    :advance 6m (with --virtual-clock)    :help\n\
         You type as @alice (responder); @bob and @carol are approvers; @dave has no role.",
        platform.addr
    )
}

/// The Supabase-shaped fixture (`fixtures/supabase/`), for the demo, the tests and the benchmark.
pub mod fixture {
    use anyhow::Context as _;
    use sqlx::postgres::PgConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    pub const SCHEMA: &str = include_str!("../../fixtures/supabase/schema.sql");
    pub const SEED: &str = include_str!("../../fixtures/supabase/seed.sql");
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

    /// The same database, as the fixture's bellhop login.
    pub fn as_bellhop(admin: &PgConnectOptions) -> PgConnectOptions {
        admin.clone().username(ROLE).password(PASSWORD)
    }
}
