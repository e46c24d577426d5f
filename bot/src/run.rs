//! `bellhop run`: the chat adapters the configuration names, on one core and one store. Discord
//! runs when its token is set, Slack when both its tokens are, both in one process when both are;
//! each subject's posts go to the chat it started in (see `bellhop_commands::chats`).

use crate::config::{Config, ConfigError};
use crate::discord::{self, AbortOnDrop};
use crate::slack;
use bellhop_commands::Core;
use std::future::Future;
use std::sync::Arc;

/// The chats the configuration names, each checked; every problem of both at once.
pub fn chats(config: &Config) -> Result<(Option<discord::Settings>, Option<slack::Settings>), ConfigError> {
    let wants_discord = config.discord_token.is_some();
    let wants_slack = config.slack.tokens.is_some();
    if !wants_discord && !wants_slack {
        return Err(ConfigError(vec![
            "DISCORD_TOKEN is not set, nor SLACK_BOT_TOKEN and SLACK_APP_TOKEN: `bellhop run` needs one chat (Discord or Slack) or both; `bellhop demo` needs neither"
                .into(),
        ]));
    }
    let mut problems = Vec::new();
    let discord_settings =
        wants_discord.then(|| discord::Settings::from_config(config).and_then(|s| discord::check_channels(config).map(|()| s)));
    let slack_settings = wants_slack.then(|| slack::Settings::from_config(config));
    let discord_settings = discord_settings.and_then(|s| s.map_err(|e| problems.extend(e.0)).ok());
    let slack_settings = slack_settings.and_then(|s| s.map_err(|e| problems.extend(e.0)).ok());
    problems.extend(page_problems(config, wants_discord, wants_slack));
    match problems.is_empty() {
        true => Ok((discord_settings, slack_settings)),
        false => Err(ConfigError(problems)),
    }
}

/// Pages given in the other chat's kind of id: a Discord role id with Slack alone, a Slack user
/// group id where Discord runs (beside Slack, `SLACK_PAGE_*` name Slack's groups). Either would
/// page nobody, silently.
fn page_problems(config: &Config, discord: bool, slack: bool) -> Vec<String> {
    let escalation = |n: usize| config.incidents.escalation.get(n).map(|step| &step.ping);
    let pages = [
        ("BELLHOP_PAGE_ONCALL", config.incidents.on_call.as_ref()),
        ("BELLHOP_PAGE_SYSADMIN", escalation(0)),
        ("BELLHOP_PAGE_INFRA", escalation(1)),
        ("BELLHOP_PAGE_APPROVERS", Some(&config.remediation.approver_ping)),
        ("DISCORD_SECURITY_ROLE", config.incidents.security.as_ref()),
    ];
    let mut problems = Vec::new();
    for (key, ping) in pages {
        let Some(bellhop_commands::post::Ping::Role { id, .. }) = ping else { continue };
        let discord_id = !id.is_empty() && id.chars().all(|c| c.is_ascii_digit());
        let slack_id = crate::config::slack_id(id, &['S']);
        if slack && !discord && discord_id {
            problems.push(format!("{key} = {id:?} is a Discord role id, but only Slack runs: give a Slack user group id (S…)"));
        }
        if discord && slack_id {
            let beside = if slack { "; beside Slack, SLACK_PAGE_* name the Slack groups" } else { "" };
            problems.push(format!("{key} = {id:?} is a Slack user group id, but Discord pages role ids{beside}"));
        }
    }
    problems
}

/// Checks the configuration of every chat it names, builds the core and runs until SIGINT or SIGTERM.
pub async fn run_from_config(config: &Config) -> anyhow::Result<()> {
    let (discord_settings, slack_settings) = chats(config)?;
    let core = Arc::new(crate::app::build_core(config, Arc::new(bellhop_commands::SystemClock)).await?);
    let (_, http) = crate::app::start_http(config, &core).await?;
    let _http = AbortOnDrop(http);
    let _management = crate::app::start_management(config, &core)?.map(AbortOnDrop);
    run_chats(core, discord_settings, slack_settings, discord::stop_signal()).await
}

/// Runs the chats given on `core` until `shutdown` completes.
pub async fn run_chats(
    core: Arc<Core>,
    discord: Option<discord::Settings>,
    slack: Option<slack::Settings>,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    match (discord, slack) {
        (Some(discord), None) => discord::run(discord, core, shutdown).await,
        (None, Some(slack)) => slack::run(slack, core, shutdown).await,
        (Some(discord), Some(slack)) => {
            // Discord's adapter holds the store's presence and runs the loop for both chats.
            let slack = slack::start(slack, core.clone()).await?;
            let ran = discord::run_beside(discord, core, vec![(slack::CHAT, slack.port())], shutdown).await;
            slack.stop().await;
            ran
        }
        (None, None) => Err(anyhow::anyhow!("no chat to run")),
    }
}
