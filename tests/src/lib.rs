//! The end-to-end harness: a simulated platform on 127.0.0.1, a core over a real store, the
//! shell adapter driven line by line as a person would, a fake Discord for the real bot, and a
//! real Alertmanager as a child process.

pub mod alertmanager;
pub mod bot_process;
mod collecting_port;
pub mod discord_gate;
pub mod fake_discord;
pub mod fake_slack;
pub mod gate;
pub mod held_write;
pub mod slack_tester;
mod tester;

pub use collecting_port::{key as place_key, CollectingPort};
pub use slack_tester::SlackTester;
pub use tester::{discord_env, discord_settings, BellhopTester, Bot};

use bellhop::config::default_shell_users;
use bellhop::shell::{virtual_start, Shell};
use bellhop::simulated::{Script, SimulatedPlatform};
use bellhop_commands::health::HealthSettings;
use bellhop_commands::store::Store;
use bellhop_commands::target_db::TargetDb;
use bellhop_commands::templates::Templates;
use bellhop_commands::{Core, ManualClock};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

pub const KEY: &str = "test-anon-key";

/// Health settings for a platform at `url` with `functions`, short timeouts, no database.
pub fn settings(url: &str, functions: &[&str]) -> HealthSettings {
    HealthSettings {
        frontend_url: Some(url.to_string()),
        supabase_url: Some(url.to_string()),
        anon_key: Some(SecretString::from(KEY)),
        db_url: None,
        functions: functions.iter().map(|f| f.to_string()).collect(),
        rest_table: "plans".into(),
        timeout: Duration::from_millis(1500),
        slow_after: Duration::from_millis(400),
    }
}

pub async fn platform(script: Script) -> SimulatedPlatform {
    SimulatedPlatform::start(script).await.expect("the simulated platform starts on 127.0.0.1")
}

/// A whole bellhop behind the shell adapter, with a SQLite store in a temporary directory
/// and the virtual clock.
pub struct ShellSession {
    pub shell: Shell<Vec<u8>>,
    pub core: Arc<Core>,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

impl ShellSession {
    pub async fn start(health: HealthSettings) -> ShellSession {
        ShellSession::start_on(health, "").await
    }

    /// A session whose store is at `store` (empty: SQLite in a temporary directory).
    pub async fn start_on(health: HealthSettings, store: &str) -> ShellSession {
        ShellSession::start_with_target(health, store, None).await
    }

    /// A session whose core also reads a target database.
    pub async fn start_with_target(health: HealthSettings, store: &str, target: Option<TargetDb>) -> ShellSession {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        let store = Store::connect(if store.is_empty() { &sqlite } else { store }).await.expect("the store opens");
        store.migrate().await.expect("the store migrates");
        let clock = Arc::new(ManualClock::new(virtual_start()));
        let core = Core::new(health, Templates::load(None).expect("templates"), store, clock.clone()).expect("the core builds");
        let core = Arc::new(core.with_target(target));
        let shell = Shell::new(core.clone(), default_shell_users(), Some(clock.clone()), Vec::new());
        ShellSession { shell, core, clock, _dir: dir }
    }

    /// Types `line`; returns what the shell printed in answer.
    pub async fn type_line(&mut self, line: &str) -> String {
        let _quit = self.shell.line(line).await.expect("writing to memory cannot fail");
        self.take_output()
    }

    /// Types every line of `script`, returning a transcript: each line, then what it printed.
    pub async fn conversation(&mut self, script: &str) -> String {
        let mut transcript = String::new();
        for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            transcript.push_str(&format!("> {line}\n"));
            transcript.push_str(&self.type_line(line).await);
        }
        transcript
    }

    fn take_output(&mut self) -> String {
        String::from_utf8_lossy(&self.shell.printer().take()).into_owned()
    }
}

/// A core over the store at `url` (migrated) with the given clock and no live targets: what a
/// bellhop process is, minus its adapters. Two of these on one URL are two replicas.
pub async fn core_on(url: &str, clock: Arc<ManualClock>) -> Arc<Core> {
    let store = Store::connect(url).await.expect("the store opens");
    store.migrate().await.expect("the store migrates");
    let health = HealthSettings { frontend_url: Some("http://127.0.0.1:9".into()), ..settings("http://127.0.0.1:9", &[]) };
    Arc::new(Core::new(health, Templates::load(None).expect("templates"), store, clock).expect("the core builds"))
}

/// The value of one recorded series (`name{labels}`) in the process's metrics, installing the
/// recorder first: tests of one binary share it, so compare before and after, never absolutes.
pub fn metric(series: &str) -> f64 {
    bellhop::http::metrics::install();
    let text = bellhop::http::metrics::rendered().expect("the recorder is installed");
    text.lines().find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok()).unwrap_or(0.0)
}

/// A pool of its own on a store, for a test that breaks the store on purpose.
pub async fn raw_pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.expect("a second connection to the store")
}

/// Runs `async fn name(store_url: &str)` as two tests, `name::on_sqlite` and `name::on_postgres`
/// (a database of its own on the test server): every conversation holds on both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn on_sqlite() {
                let dir = tempfile::tempdir().expect("a temporary directory");
                super::$name(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await;
            }

            #[sqlx::test(migrations = false)]
            async fn on_postgres(_: sqlx::postgres::PgPoolOptions, options: sqlx::postgres::PgConnectOptions) {
                use sqlx::ConnectOptions as _;
                super::$name(options.to_url_lossy().as_str()).await;
            }
        }
    };
}

/// A benchmark's binary argument as an absolute path; one that is not there says which.
pub fn binary(path: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    std::fs::canonicalize(path).map_err(|error| anyhow::anyhow!("no bellhop binary at {}: {error}", path.display()))
}

/// Puts a binary in the page cache the way a first read from disk does, for benchmarks that
/// compare binaries' resident memory. The kernel maps a binary's code in whole folios, whose
/// size depends on how the file entered the cache (written by the linker, copied, read): the
/// same code showed 21.8 or 25.1 MiB resident depending on that alone. Evicting it (GNU dd:
/// `iflag=nocache count=0`) and reading it once gives every binary the same start.
pub fn same_page_cache(binary: &std::path::Path) -> anyhow::Result<()> {
    let evicted = std::process::Command::new("dd")
        .arg(format!("if={}", binary.display()))
        .args(["iflag=nocache", "count=0", "status=none"])
        .status()?;
    anyhow::ensure!(evicted.success(), "dd could not evict {} from the page cache", binary.display());
    std::fs::read(binary)?;
    Ok(())
}
