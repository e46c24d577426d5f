//! The Slack adapter: `/bellhop` commands and reaction events over Socket Mode (no public URL),
//! posts and edits through the Web API, on the same core and store as Discord.
//!
//! slack-morphism acknowledges an envelope only when its callback returns, and reads a
//! connection's envelopes one after another: every callback here hands its work on and returns
//! at once, so the ack is never late. Each command runs in a task of its own (one slow command
//! holds back no other); events are handled one after another, in the order they came, since a
//! reaction's removal handled before its addition would leave a vote that was taken back.

mod api;
mod command;
mod events;
pub mod mrkdwn;
mod people;
mod port;

pub use command::invocation;
pub use port::{unicode, SlackPort};

use crate::config::{Config, ConfigError, SlackConfig};
use api::Api;
use bellhop_commands::{ChatPort, Core};
use people::{Directory, RoleGroups};
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;

/// How the core knows this chat (see `bellhop_commands::chats`).
pub const CHAT: &str = "slack";

/// The Slack part of the configuration, checked: both tokens and the three channels.
pub struct Settings {
    bot_token: SecretString,
    app_token: SecretString,
    config: SlackConfig,
    /// Socket connections kept open (Slack sends each envelope to one of them).
    connections: u32,
    reconnect_after_s: u64,
}

impl Settings {
    pub fn from_config(config: &Config) -> Result<Settings, ConfigError> {
        let Some((bot_token, app_token)) = config.slack.tokens.clone() else {
            return Err(ConfigError(vec![
                "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set: Slack needs both (see the README's Slack section)".into(),
            ]));
        };
        let unset: Vec<String> = [
            (&config.slack.incidents_channel, "SLACK_INCIDENTS_CHANNEL"),
            (&config.slack.status_channel, "SLACK_STATUS_CHANNEL"),
            (&config.slack.ops_channel, "SLACK_OPS_CHANNEL"),
        ]
        .into_iter()
        .filter(|(id, _)| id.is_none())
        .map(|(_, key)| format!("{key} is not set: bellhop posts there on its own (Slack: the channel's name → About → Channel ID)"))
        .collect();
        if !unset.is_empty() {
            return Err(ConfigError(unset));
        }
        Ok(Settings { bot_token, app_token, config: config.slack.clone(), connections: 2, reconnect_after_s: 30 })
    }

    /// One socket connection and a quick reconnect: what a test against a fake wants.
    pub fn with_connections(mut self, connections: u32, reconnect_after_s: u64) -> Settings {
        self.connections = connections.max(1);
        self.reconnect_after_s = reconnect_after_s.max(1);
        self
    }
}

/// What the callbacks reach, through slack-morphism's user state.
pub(crate) struct App {
    core: Arc<Core>,
    events: tokio::sync::mpsc::UnboundedSender<SlackPushEventCallback>,
    api: Arc<Api>,
    people: Arc<Directory>,
    pages: mrkdwn::Pages,
}

/// A running Slack adapter: its socket listener and its port.
pub struct Slack {
    listener: SlackClientSocketModeListener<SlackClientHyperHttpsConnector>,
    port: Arc<SlackPort>,
    events: tokio::task::JoinHandle<()>,
}

impl Slack {
    /// The `ChatPort` the core's loop delivers Slack's operations through.
    pub fn port(&self) -> Arc<dyn ChatPort> {
        self.port.clone()
    }

    /// Closes the sockets; a listener dropped without this would leave one open that nobody reads.
    pub async fn stop(self) {
        self.listener.shutdown().await;
        self.events.abort();
    }
}

/// Checks both tokens (slack-morphism only logs a refused app token and retries forever),
/// then opens the socket connections. A refused token is a configuration error that names it.
pub async fn start(settings: Settings, core: Arc<Core>) -> anyhow::Result<Slack> {
    let api = Arc::new(Api::new(&settings.config.api_url, &settings.bot_token)?);
    let me = match api::timed(api.session().auth_test()).await {
        Ok(me) => me.user_id.0,
        Err(error) if error.code().is_some() => {
            return Err(
                ConfigError(vec![format!("SLACK_BOT_TOKEN: Slack refused it ({error}); copy the Bot User OAuth Token again")]).into()
            )
        }
        Err(error) => return Err(anyhow::anyhow!("cannot reach Slack at {}: {error}", settings.config.api_url)),
    };
    let app_token = SlackApiToken::new(SlackApiTokenValue(settings.app_token.expose_secret().to_string()));
    match api.client.open_session(&app_token).apps_connections_open(&SlackApiAppsConnectionOpenRequest::new()).await {
        Ok(_) => {}
        Err(SlackClientError::ApiError(error)) => {
            return Err(ConfigError(vec![format!(
                "SLACK_APP_TOKEN: Slack refused it ({}); it must be an app-level token with connections:write, and Socket Mode must be on",
                error.code
            )])
            .into())
        }
        Err(error) => return Err(anyhow::anyhow!("cannot open a Slack socket: {error}")),
    }
    let roles = RoleGroups::new(&settings.config.responder_groups, &settings.config.approver_groups, &settings.config.admin_groups);
    let people = Arc::new(Directory::new(api.clone(), roles, me));
    let channels = port::Channels {
        incidents: settings.config.incidents_channel.clone(),
        status: settings.config.status_channel.clone(),
        ops: settings.config.ops_channel.clone(),
    };
    let pages = settings.config.pages.clone();
    let port = Arc::new(SlackPort::new(api.clone(), channels, pages.clone(), people.clone()));
    let (events, mut queued) = tokio::sync::mpsc::unbounded_channel();
    let app = Arc::new(App { core, events, api: api.clone(), people, pages });
    let handler = app.clone();
    let events = tokio::spawn(async move {
        while let Some(event) = queued.recv().await {
            handler.push(event).await;
        }
    });
    let callbacks = SlackSocketModeListenerCallbacks::new()
        // Reactions given while the socket was down are not replayed: every pending plan is read
        // against its post again.
        .with_hello_events(|_hello, _client, state| async move {
            if let Some(app) = app_of(&state).await {
                app.core.recheck_plans();
            }
        })
        .with_command_events(on_command)
        .with_push_events(on_push);
    let environment =
        Arc::new(SlackClientEventsListenerEnvironment::new(api.client.clone()).with_error_handler(on_error).with_user_state(app));
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(settings.connections)
        .with_reconnect_timeout_in_seconds(settings.reconnect_after_s);
    let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
    listener.listen_for(&app_token).await.map_err(|error| anyhow::anyhow!("cannot listen on Slack's socket: {error}"))?;
    listener.start().await;
    tracing::info!("listening to Slack over Socket Mode");
    Ok(Slack { listener, port, events })
}

/// `bellhop run` with Slack alone: the adapter and the core's loop until `shutdown` completes.
pub async fn run(settings: Settings, core: Arc<Core>, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let presence = crate::presence::claim(&core, crate::presence::Adapter::Discord).await?;
    let slack = start(settings, core.clone()).await?;
    let chats = bellhop_commands::Chats::home(CHAT, slack.port());
    let looping = crate::scheduler::Loop::start(core.clone(), chats);
    shutdown.await;
    tracing::info!("stopping: closing the Slack connections");
    looping.stop().await;
    core.release_alerts().await;
    presence.release().await;
    slack.stop().await;
    Ok(())
}

async fn app_of(state: &SlackClientEventsUserState) -> Option<Arc<App>> {
    state.read().await.get_user_state::<Arc<App>>().cloned()
}

/// Acknowledged at once with an empty payload; the answer follows through `response_url`.
async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    if let Some(app) = app_of(&state).await {
        tokio::spawn(async move { app.command(event).await });
    }
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new()))
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(app) = app_of(&state).await {
        let _ = app.events.send(event);
    }
    Ok(())
}

/// An envelope the client could not read: logged and acknowledged, so Slack does not send it again.
fn on_error(
    error: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackHyperClient>,
    _state: SlackClientEventsUserState,
) -> http::StatusCode {
    tracing::warn!(%error, "a Slack envelope could not be read");
    http::StatusCode::OK
}
