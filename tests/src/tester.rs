//! `BellhopTester`: the real `bellhop` Discord bot (its config path, a SQLite store in a temporary
//! directory, simulated Supabase targets) connected to a fake Discord on 127.0.0.1.

use crate::fake_discord::payloads::{self, ADMIN_ROLE, APPROVER_ROLE, RESPONDER_ROLE};
use crate::fake_discord::FakeDiscord;
use bellhop::config::Config;
use bellhop::simulated::{Script, SimulatedPlatform};
use bellhop_commands::{Clock, Core, SystemClock};
use std::sync::Arc;

pub struct BellhopTester {
    pub fake: FakeDiscord,
    pub core: Arc<Core>,
    pub platform: SimulatedPlatform,
    /// Completing it stops the bot as SIGINT would.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    bot: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl BellhopTester {
    /// The bot with `functions` probed on a platform following `script`, connected and with
    /// its commands registered.
    pub async fn start(script: Script, functions: &[&str]) -> BellhopTester {
        BellhopTester::start_with(script, functions, &[]).await
    }

    /// Like `start`, with more (or overriding) environment variables.
    pub async fn start_with(script: Script, functions: &[&str], extra: &[(&str, &str)]) -> BellhopTester {
        let tester = BellhopTester::boot(script, functions, extra).await;
        tester.fake.ready().await;
        tester
    }

    /// Like `start_with`, the bot's core reading the time from `clock` (Discord's own times,
    /// snowflakes and rate limits, stay real).
    pub async fn start_at(script: Script, functions: &[&str], extra: &[(&str, &str)], clock: Arc<dyn Clock>) -> BellhopTester {
        let tester = BellhopTester::boot_at(FakeDiscord::start().await, script, functions, extra, clock).await;
        tester.fake.ready().await;
        tester
    }

    /// Starts the bot without waiting for it to connect.
    pub async fn boot(script: Script, functions: &[&str], extra: &[(&str, &str)]) -> BellhopTester {
        BellhopTester::boot_on(FakeDiscord::start().await, script, functions, extra).await
    }

    /// Starts the bot against `fake`, prepared by the test.
    pub async fn boot_on(fake: FakeDiscord, script: Script, functions: &[&str], extra: &[(&str, &str)]) -> BellhopTester {
        BellhopTester::boot_at(fake, script, functions, extra, Arc::new(SystemClock)).await
    }

    async fn boot_at(
        fake: FakeDiscord,
        script: Script,
        functions: &[&str],
        extra: &[(&str, &str)],
        clock: Arc<dyn Clock>,
    ) -> BellhopTester {
        let platform = crate::platform(script).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let sqlite = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        let store = extra.iter().find(|(k, _)| *k == "BELLHOP_DATABASE_URL").map_or(sqlite, |(_, v)| v.to_string());
        let bot = Bot::spawn(&fake, &platform, &store, functions, extra, clock).await;
        BellhopTester { fake, core: bot.core, platform, stop: Some(bot.stop), bot: Some(bot.task), _dir: dir }
    }

    /// Another bellhop on the same fake Discord and platform (a replica), with its store at `store`.
    pub async fn replica(&self, store: &str, functions: &[&str]) -> Bot {
        self.replica_with(store, functions, &[]).await
    }

    /// Like `replica`, with more environment variables.
    pub async fn replica_with(&self, store: &str, functions: &[&str], extra: &[(&str, &str)]) -> Bot {
        Bot::spawn(&self.fake, &self.platform, store, functions, extra, Arc::new(SystemClock)).await
    }

    /// Stops the bot as SIGINT does, keeping the fake Discord running for another one.
    pub async fn stop_bot(&mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().map(|stop| stop.send(()));
        self.bot.take().expect("the bot runs").await.expect("the bot's task did not panic")
    }
}

/// What bellhop needs to run on `fake`'s guild. With the fake serving discord.com, REST goes
/// there with serenity's rate limiter on, rather than through the proxy.
pub fn discord_env(fake: &FakeDiscord) -> Vec<(String, String)> {
    let mut env = vec![
        ("DISCORD_TOKEN", "fake-token"),
        ("DISCORD_GUILD_ID", payloads::GUILD),
        ("DISCORD_RESPONDER_ROLES", RESPONDER_ROLE),
        ("DISCORD_APPROVER_ROLES", APPROVER_ROLE),
        ("DISCORD_ADMIN_ROLES", ADMIN_ROLE),
        ("DISCORD_INCIDENTS_CHANNEL", payloads::INCIDENTS_CHANNEL),
        ("DISCORD_STATUS_CHANNEL", payloads::STATUS_CHANNEL),
        ("DISCORD_OPS_CHANNEL", payloads::OPS_CHANNEL),
    ];
    if fake.discord_com.is_none() {
        env.push(("DISCORD_HTTP_PROXY", fake.rest_url.as_str()));
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The Discord adapter's settings for `fake`.
pub fn discord_settings(fake: &FakeDiscord, config: &Config) -> bellhop::discord::Settings {
    let settings = bellhop::discord::Settings::from_config(config).expect("the Discord settings are valid");
    match fake.discord_com.clone() {
        Some(discord_com) => settings.with_client_setup(move |builder| discord_com.client(builder)),
        None => settings,
    }
}

/// One running bot: its core, and the way to stop it.
pub struct Bot {
    pub core: Arc<Core>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Bot {
    async fn spawn(
        fake: &FakeDiscord,
        platform: &SimulatedPlatform,
        store: &str,
        functions: &[&str],
        extra: &[(&str, &str)],
        clock: Arc<dyn Clock>,
    ) -> Bot {
        let env = crate::slack_tester::platform_env(platform, store, &functions.join(","))
            .into_iter()
            .chain(discord_env(fake))
            .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = crate::slack_tester::config(env);
        let core = Arc::new(bellhop::app::build_core(&config, clock).await.expect("the core builds"));
        let settings = discord_settings(fake, &config);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(bellhop::discord::run(settings, core.clone(), async move {
            let _ = stopped.await;
        }));
        Bot { core, stop, task }
    }

    /// Stops the bot as SIGINT does and returns how `run` ended.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.expect("the bot's task did not panic")
    }
}

impl BellhopTester {
    /// Stops the bot as SIGINT does and returns how `run` ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().map(|stop| stop.send(()));
        self.bot.take().expect("the bot runs").await.expect("the bot's task did not panic")
    }

    /// Waits for `run` to end on its own (a failed setup, a fatal close) and returns how.
    pub async fn ended(mut self) -> anyhow::Result<()> {
        let bot = self.bot.take().expect("the bot runs");
        tokio::time::timeout(crate::fake_discord::WAIT, bot).await.expect("the bot stops by itself").expect("no panic")
    }
}

impl Drop for BellhopTester {
    fn drop(&mut self) {
        if let Some(bot) = &self.bot {
            bot.abort();
        }
    }
}
