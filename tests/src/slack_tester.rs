//! `SlackTester`: the real bellhop Slack adapter (its config path, a store, simulated Supabase
//! targets) connected to a fake Slack on 127.0.0.1, over one socket.

use crate::fake_slack::FakeSlack;
use crate::KEY;
use bellhop::config::Config;
use bellhop::simulated::{Script, SimulatedPlatform};
use bellhop_commands::{Core, SystemClock};
use std::collections::HashMap;
use std::sync::Arc;

/// The fake workspace's user groups and channels, as bellhop is configured with them.
pub const RESPONDERS: &str = "S0RESPONDERS";
pub const APPROVERS: &str = "S0APPROVERS";
pub const ADMINS: &str = "S0ADMINS";
pub const ONCALL: &str = "S0ONCALL";
pub const INCIDENTS: &str = "C0INCIDENTS";
pub const STATUS: &str = "C0STATUS";
pub const OPS: &str = "C0OPS";

pub struct SlackTester {
    pub fake: FakeSlack,
    pub core: Arc<Core>,
    pub platform: SimulatedPlatform,
    store: String,
    extra: Vec<(String, String)>,
    running: Option<Running>,
    _dir: tempfile::TempDir,
}

/// One running adapter and the way to stop it as SIGINT would.
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// What bellhop needs to run on `fake`'s workspace, with `functions` probed on `platform`.
pub fn slack_env(fake: &FakeSlack) -> Vec<(String, String)> {
    [
        ("SLACK_BOT_TOKEN", FakeSlack::BOT_TOKEN.to_string()),
        ("SLACK_APP_TOKEN", FakeSlack::APP_TOKEN.to_string()),
        ("SLACK_API_URL", fake.api_base()),
        ("SLACK_INCIDENTS_CHANNEL", INCIDENTS.to_string()),
        ("SLACK_STATUS_CHANNEL", STATUS.to_string()),
        ("SLACK_OPS_CHANNEL", OPS.to_string()),
        ("SLACK_RESPONDER_GROUPS", RESPONDERS.to_string()),
        ("SLACK_APPROVER_GROUPS", APPROVERS.to_string()),
        ("SLACK_ADMIN_GROUPS", ADMINS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The platform's part of the environment.
pub fn platform_env(platform: &SimulatedPlatform, store: &str, functions: &str) -> Vec<(String, String)> {
    [
        ("FRONTEND_URL", platform.url()),
        ("SUPABASE_URL", platform.url()),
        ("SUPABASE_ANON_KEY", KEY.to_string()),
        ("BELLHOP_FUNCTIONS", functions.to_string()),
        ("BELLHOP_PROBE_TIMEOUT", "1500ms".to_string()),
        ("BELLHOP_SLOW_AFTER", "400ms".to_string()),
        ("BELLHOP_DATABASE_URL", store.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A configuration from environment pairs, later ones overriding earlier ones.
pub fn config(pairs: impl IntoIterator<Item = (String, String)>) -> Config {
    let env: HashMap<String, String> = pairs.into_iter().collect();
    Config::from_sources(&toml::Table::new(), &env).expect("the test configuration is valid")
}

impl SlackTester {
    /// bellhop on a fresh fake Slack, connected, with `extra` environment besides.
    pub async fn start(script: Script, extra: &[(&str, &str)]) -> SlackTester {
        let fake = FakeSlack::start().await;
        let platform = crate::platform(script).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        let store = extra.iter().find(|(k, _)| *k == "BELLHOP_DATABASE_URL").map_or(sqlite, |(_, v)| v.to_string());
        let extra: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let (core, running) = spawn(&fake, &platform, &store, &extra).await;
        let tester = SlackTester { fake, core, platform, store, extra, running: Some(running), _dir: dir };
        assert!(tester.fake.wait_connected(crate::fake_slack::WAIT).await, "bellhop connects to the fake Slack");
        tester
    }

    /// Stops the adapter as SIGINT does; the fake Slack keeps running.
    pub async fn stop_bot(&mut self) -> anyhow::Result<()> {
        let running = self.running.take().expect("the bot runs");
        let _ = running.stop.send(());
        running.task.await.expect("the bot's task did not panic")
    }

    /// A new bellhop on the same fake Slack and store, connected.
    pub async fn restart(&mut self) {
        let (core, running) = spawn(&self.fake, &self.platform, &self.store, &self.extra).await;
        self.core = core;
        self.running = Some(running);
        assert!(self.fake.wait_connected(crate::fake_slack::WAIT).await, "bellhop connects again");
    }
}

async fn spawn(fake: &FakeSlack, platform: &SimulatedPlatform, store: &str, extra: &[(String, String)]) -> (Arc<Core>, Running) {
    let env = platform_env(platform, store, "invite-user").into_iter().chain(slack_env(fake)).chain(extra.iter().cloned());
    let config = config(env);
    let core = Arc::new(bellhop::app::build_core(&config, Arc::new(SystemClock)).await.expect("the core builds"));
    let settings = bellhop::slack::Settings::from_config(&config).expect("the Slack settings are valid").with_connections(1, 1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bellhop::slack::run(settings, core.clone(), async move {
        let _ = stopped.await;
    }));
    (core, Running { stop, task })
}

impl Drop for SlackTester {
    fn drop(&mut self) {
        if let Some(running) = &self.running {
            running.task.abort();
        }
    }
}
