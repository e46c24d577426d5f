//! `bellhop run`: the Discord adapter. Slash commands (poise) and reaction events (serenity) call
//! the core; its replies and posts are rendered as embeds that ping only what the core asked.

mod actor;
mod answer;
pub mod embed;
mod events;
pub mod mentions;
mod port;
pub mod registry;

pub use actor::RoleMap;
pub use port::DiscordPort;

use crate::config::{Config, ConfigError, DiscordConfig};
use anyhow::Context as _;
use bellhop_commands::Core;
use poise::serenity_prelude as serenity;
use secrecy::{ExposeSecret, SecretString};
use std::future::Future;
use std::sync::Arc;

/// What the adapter needs: slash commands need no intent; reactions need `GUILD_MESSAGE_REACTIONS`.
/// No privileged intent.
pub const INTENTS: serenity::GatewayIntents = serenity::GatewayIntents::GUILDS.union(serenity::GatewayIntents::GUILD_MESSAGE_REACTIONS);

/// How long a stop waits for the gateway connection to close.
const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Data {
    core: Arc<Core>,
    roles: RoleMap,
}

pub type Error = anyhow::Error;

/// How the core knows this chat (see `bellhop_commands::chats`).
pub const CHAT: &str = "discord";

/// Idle connections kept to Discord's REST host, and for how long: enough for steady traffic.
const DISCORD_IDLE_PER_HOST: usize = 16;
const DISCORD_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The Discord part of the configuration, checked: a token is required to run.
pub struct Settings {
    token: SecretString,
    guild_id: Option<serenity::GuildId>,
    discord: DiscordConfig,
    client_setup: Option<ClientSetup>,
}

/// A last change to the REST client before it is built.
type ClientSetup = Box<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let token = config.discord_token.clone().ok_or_else(|| {
            ConfigError(vec![
                "DISCORD_TOKEN is not set: `bellhop run` needs the bot's token (Developer Portal → your application → Bot → Reset Token)"
                    .into(),
            ])
        })?;
        Ok(Settings {
            token,
            guild_id: config.discord_guild_id.map(serenity::GuildId::new),
            discord: config.discord.clone(),
            client_setup: None,
        })
    }

    /// Adjusts the REST client before it is built. Without a proxy, serenity's rate limiter
    /// sends every request to discord.com itself; this is how a test makes that host resolve
    /// to a fake on loopback and trust its certificate, so the rate limiter runs as in production.
    pub fn with_client_setup(
        mut self,
        setup: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Settings {
        self.client_setup = Some(Box::new(setup));
        self
    }

    /// REST through `DISCORD_HTTP_PROXY` when set; serenity's rate limiter would otherwise send
    /// every request to discord.com, ignoring the proxy, so it is off there. The connection pool
    /// is bounded: a burst of follow-ups must not leave hundreds of idle connections behind.
    pub fn http(&self) -> serenity::Http {
        let builder = serenity::HttpBuilder::new(self.token.expose_secret());
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .pool_max_idle_per_host(DISCORD_IDLE_PER_HOST)
            .pool_idle_timeout(DISCORD_IDLE_TIMEOUT);
        let client = match &self.client_setup {
            Some(setup) => setup(client),
            None => client,
        };
        let builder = match client.build() {
            Ok(client) => builder.client(client),
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "cannot bound Discord's connection pool; using serenity's default client");
                builder
            }
        };
        match &self.discord.http_proxy {
            Some(proxy) => builder.proxy(proxy.clone()).ratelimiter_disabled(true).build(),
            None => builder.build(),
        }
    }

    /// The `ChatPort` for posts the core makes on its own.
    pub fn port(&self, http: Arc<serenity::Http>) -> DiscordPort {
        DiscordPort::new(http, &self.discord)
    }
}

/// Checks that the channels bellhop posts to on its own are set; unset, each such post would be
/// given up.
pub fn check_channels(config: &Config) -> Result<(), ConfigError> {
    let unset: Vec<String> = [
        (config.discord.incidents_channel, "DISCORD_INCIDENTS_CHANNEL"),
        (config.discord.status_channel, "DISCORD_STATUS_CHANNEL"),
        (config.discord.ops_channel, "DISCORD_OPS_CHANNEL"),
    ]
    .into_iter()
    .filter(|(id, _)| id.is_none())
    .map(|(_, key)| format!("{key} is not set: `bellhop run` posts there on its own (Discord → right-click the channel → Copy ID)"))
    .collect();
    match unset.is_empty() {
        true => Ok(()),
        false => Err(ConfigError(unset)),
    }
}

/// Connects, registers the commands, runs the core's loop and answers until `shutdown`
/// completes. Fails when the connection fails for good (a bad token) or when registering the
/// commands fails: a bot that cannot register would ignore every command (poise waits forever
/// on a failed setup).
pub async fn run(settings: Settings, core: Arc<Core>, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    run_beside(settings, core, Vec::new(), shutdown).await
}

/// Like [`run`], with the core's loop also delivering the operations of other chats running in
/// this process (Slack), through their ports.
pub async fn run_beside(
    settings: Settings,
    core: Arc<Core>,
    beside: Vec<(&'static str, Arc<dyn bellhop_commands::ChatPort>)>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let presence = crate::presence::claim(&core, crate::presence::Adapter::Discord).await?;
    let (setup_failed, mut setup_failure) = tokio::sync::oneshot::channel::<anyhow::Error>();
    let guild_id = settings.guild_id;
    let roles = RoleMap::from_config(&settings.discord);
    let scheduler_core = core.clone();
    let stopping_core = core.clone();
    let framework = poise::Framework::builder()
        .options(options())
        .setup(move |ctx, ready, _framework| {
            Box::pin(async move {
                match registry::register(&ctx.http, guild_id).await {
                    Ok(()) => {
                        tracing::info!(bot = %ready.user.name, guild = ?guild_id.map(|g| g.get()), "slash commands registered");
                        Ok(Data { core, roles })
                    }
                    Err(error) => {
                        let _ = setup_failed.send(anyhow::anyhow!("{error:#}"));
                        Err(error)
                    }
                }
            })
        })
        .build();
    let mut client = serenity::ClientBuilder::new_with_http(settings.http(), INTENTS)
        .framework(framework)
        .await
        .context("cannot build the Discord client")?;
    let shards = client.shard_manager.clone();
    // Timers and the outbox run beside the gateway, through the same REST client.
    let port: Arc<dyn bellhop_commands::ChatPort> = Arc::new(settings.port(client.http.clone()));
    let chats = beside.into_iter().fold(bellhop_commands::Chats::home(CHAT, port), |chats, (name, port)| chats.and(name, port));
    let looping = crate::scheduler::Loop::start(scheduler_core, chats);
    let mut running = tokio::spawn(async move { client.start().await });
    tokio::select! {
        finished = &mut running => match finished {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(anyhow::Error::new(error).context("the Discord connection failed")),
            Err(panic) => Err(anyhow::anyhow!("the Discord client stopped: {panic}")),
        },
        Ok(error) = &mut setup_failure => {
            shards.shutdown_all().await;
            running.abort();
            Err(error.context("Discord refused bellhop's slash commands; stopping rather than ignoring every command"))
        }
        () = shutdown => {
            tracing::info!("stopping: closing the Discord connection");
            looping.stop().await;
            stopping_core.release_alerts().await;
            presence.release().await;
            shards.shutdown_all().await;
            // serenity can keep retrying a lost connection after the shutdown; don't wait on that.
            if tokio::time::timeout(STOP_WITHIN, &mut running).await.is_err() {
                tracing::warn!("the Discord client did not stop within {STOP_WITHIN:?}; leaving it");
                running.abort();
            }
            Ok(())
        }
    }
}

/// Stops a background task when the adapter stops.
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn options() -> poise::FrameworkOptions<Data, Error> {
    poise::FrameworkOptions {
        commands: registry::commands(),
        on_error: |error| Box::pin(on_error(error)),
        event_handler: |framework, event| Box::pin(events::handle(framework, event)),
        allowed_mentions: Some(serenity::CreateAllowedMentions::new().empty_users().empty_roles()),
        initialize_owners: false,
        ..Default::default()
    }
}

/// The framework's one error handler: internal errors are logged with their chain, and the
/// person gets one sentence with a reference to find it.
async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            let reference = format!("{:x}", ctx.id() & 0xffff_ffff);
            tracing::error!(reference, command = %ctx.command().qualified_name, error = format!("{error:#}"), "command failed");
            let post = bellhop_commands::Post::error(format!(
                "Something went wrong on bellhop's side (ref {reference}); the details are in its log."
            ));
            // After a defer, Discord turns the first follow-up into an edit of the deferred
            // message, ignoring its ephemeral flag: settle that one with a neutral line first.
            let deferred = match ctx {
                poise::Context::Application(app) => app.has_sent_initial_response.load(std::sync::atomic::Ordering::SeqCst),
                poise::Context::Prefix(_) => false,
            };
            if deferred {
                let note = bellhop_commands::Post::new(bellhop_commands::Tone::Info, "")
                    .body("bellhop could not finish this; see the message only you can see.");
                let _ = ctx.send(embed::reply(&bellhop_commands::Reply::channel(note))).await;
            }
            let _ = ctx.send(embed::reply(&bellhop_commands::Reply::invoker(post))).await;
        }
        poise::FrameworkError::UnknownInteraction { framework, interaction, .. } => {
            answer::unknown(framework.serenity_context, interaction).await;
        }
        poise::FrameworkError::EventHandler { error, event, .. } => {
            tracing::error!(event = event.snake_case_name(), error = format!("{error:#}"), "event failed");
        }
        other => {
            if let Err(error) = poise::builtins::on_error(other).await {
                tracing::error!(error = %error, "cannot report an error to Discord");
            }
        }
    }
}

pub(crate) async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops bellhop");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
