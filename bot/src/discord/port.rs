//! The `ChatPort` for Discord: posts go to configured channels or to a thread opened from an
//! incident's kickoff; edits, bellhop's own reactions and reading who reacted go through REST.
//! Each failure is judged: retry later (unreachable, slow, rate-limited), permanent (no such
//! channel, no access, a body Discord refuses) or gone (the message was deleted).

use super::actor::RoleMap;
use crate::config::DiscordConfig;
use bellhop_commands::{ChannelName, ChatPort, DeliveryError, MessageRef, Place, Post, Reactor};
use poise::serenity_prelude as serenity;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Discord's limit on thread names.
const THREAD_NAME: usize = 100;
/// Discord's answer when a thread was already opened from that message.
const THREAD_ALREADY_OPEN: isize = 160004;
/// Discord's codes for a message that no longer exists.
const UNKNOWN_MESSAGE: isize = 10008;
/// Discord names at most 100 reactors per request, in order of their ids.
const REACTORS_PER_PAGE: u8 = 100;
/// Pages read per check: anyone can react, and a crowd of ✅ from people without a role must not
/// hide the approvers behind them, nor make each check cost without end.
const REACTOR_PAGES: usize = 10;

/// serenity's HTTP client has no timeout of its own; an operation that hangs must not stall the outbox.
const DELIVER_WITHIN: Duration = Duration::from_secs(30);

pub struct DiscordPort {
    http: Arc<serenity::Http>,
    channels: DiscordConfig,
    roles: RoleMap,
    timeout: Duration,
}

impl DiscordPort {
    pub fn new(http: Arc<serenity::Http>, config: &DiscordConfig) -> Self {
        DiscordPort { http, channels: config.clone(), roles: RoleMap::from_config(config), timeout: DELIVER_WITHIN }
    }

    /// How long one operation may take before it fails (and is retried by the caller).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn channel(&self, name: ChannelName) -> Result<serenity::ChannelId, DeliveryError> {
        let (id, key) = match name {
            ChannelName::Incidents => (self.channels.incidents_channel, "DISCORD_INCIDENTS_CHANNEL"),
            ChannelName::StatusUpdates => (self.channels.status_channel, "DISCORD_STATUS_CHANNEL"),
            ChannelName::Ops => (self.channels.ops_channel, "DISCORD_OPS_CHANNEL"),
        };
        // Unset is a configuration problem, not an outage: retrying cannot help until it is set.
        id.map(serenity::ChannelId::new)
            .ok_or_else(|| DeliveryError::Permanent(anyhow::anyhow!("no Discord channel for #{}: set {key}", name.as_str())))
    }

    /// Runs one REST call within the timeout, judging its failure.
    async fn call<T>(&self, what: &str, call: impl Future<Output = serenity::Result<T>>) -> Result<T, DeliveryError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(judge(what, error)),
            Err(_) => Err(DeliveryError::Retry(anyhow::anyhow!("{what}: Discord did not answer within {:?}", self.timeout))),
        }
    }
}

fn snowflake(key: &str, what: &str) -> Result<u64, DeliveryError> {
    key.parse::<u64>()
        .ok()
        .filter(|k| *k > 0)
        .ok_or_else(|| DeliveryError::Permanent(anyhow::anyhow!("{what} {key:?} is not a Discord id")))
}

fn ids(message: &MessageRef) -> Result<(serenity::ChannelId, serenity::MessageId), DeliveryError> {
    Ok((
        serenity::ChannelId::new(snowflake(&message.channel, "channel")?),
        serenity::MessageId::new(snowflake(&message.message, "message")?),
    ))
}

/// Discord's JSON error code, when it sent one.
fn code(error: &serenity::Error) -> Option<(u16, isize)> {
    match error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            Some((response.status_code.as_u16(), response.error.code))
        }
        _ => None,
    }
}

/// Discord's answer for someone who is not a member any more (left, or removed): 404 or 403.
pub(super) fn not_a_member(error: &serenity::Error) -> bool {
    code(error).is_some_and(|(status, _)| status == 404 || status == 403)
}

/// Retry what may pass later (429, 5xx, a lost connection); a 4xx is Discord's final word.
fn judge(what: &str, error: serenity::Error) -> DeliveryError {
    let status = code(&error);
    let error = anyhow::Error::new(error).context(what.to_string());
    match status {
        Some((_, UNKNOWN_MESSAGE)) => DeliveryError::Gone(error),
        Some((429, _)) => DeliveryError::Retry(error),
        Some((status, _)) if (400..500).contains(&status) => DeliveryError::Permanent(error),
        _ => DeliveryError::Retry(error),
    }
}

#[async_trait::async_trait]
impl ChatPort for DiscordPort {
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError> {
        let channel = match place {
            Place::Channel(name) => self.channel(*name)?,
            Place::Key(key) => serenity::ChannelId::new(snowflake(key, "channel")?),
        };
        let message =
            self.call(&format!("cannot post to channel {channel}"), channel.send_message(&*self.http, super::embed::message(post))).await?;
        Ok(MessageRef::new(channel.to_string(), message.id.to_string()))
    }

    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError> {
        let (channel, id) = ids(message)?;
        self.call(&format!("cannot edit message {id}"), channel.edit_message(&*self.http, id, super::embed::edit(post))).await.map(|_| ())
    }

    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError> {
        let (channel, id) = ids(message)?;
        let emoji = serenity::ReactionType::Unicode(emoji.to_string());
        self.call(&format!("cannot react to message {id}"), channel.create_reaction(&*self.http, id, emoji)).await
    }

    /// A thread opened from a message has that message's id, and Discord opens one per message:
    /// a retry after a timeout finds the thread the first attempt opened.
    async fn open_thread(&self, from: &MessageRef, slug: &str, title: &str) -> Result<String, DeliveryError> {
        let (channel, id) = ids(from)?;
        let name = bellhop_commands::text::ellipsize(&format!("{slug} {title}"), THREAD_NAME);
        let opening = channel.create_thread_from_message(&*self.http, id, serenity::CreateThread::new(name));
        match tokio::time::timeout(self.timeout, opening).await {
            Ok(Ok(thread)) => Ok(thread.id.to_string()),
            Ok(Err(error)) if code(&error).is_some_and(|(_, c)| c == THREAD_ALREADY_OPEN) => Ok(id.to_string()),
            Ok(Err(error)) => Err(judge(&format!("cannot open a thread from message {id}"), error)),
            Err(_) => Err(DeliveryError::Retry(anyhow::anyhow!("opening a thread: Discord did not answer within {:?}", self.timeout))),
        }
    }

    /// Bots (bellhop included) are left out. Someone Discord no longer knows as a member (they
    /// left, or were removed: 404 or 403) is departed, never an error that would freeze the check.
    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError> {
        let (channel, id) = ids(message)?;
        let kind = serenity::ReactionType::Unicode(emoji.to_string());
        let mut users = Vec::new();
        let mut complete = false;
        for _ in 0..REACTOR_PAGES {
            let after = users.last().map(|u: &serenity::User| u.id);
            let page = channel.reaction_users(&*self.http, id, kind.clone(), Some(REACTORS_PER_PAGE), after);
            let page = self.call(&format!("cannot read the reactions on {id}"), page).await?;
            complete = page.len() < usize::from(REACTORS_PER_PAGE);
            users.extend(page);
            if complete {
                break;
            }
        }
        if !complete {
            tracing::warn!(message = %id, emoji, read = users.len(), "more people reacted than a check reads; the rest are not counted");
        }
        let guild = self.call("cannot read the channel", channel.to_channel(&*self.http)).await?.guild().map(|c| c.guild_id);
        let mut people = Vec::new();
        for user in users.into_iter().filter(|u| !u.bot) {
            let Some(guild) = guild else {
                people.push(Reactor::Member(self.roles.actor(&user, None)));
                continue;
            };
            match tokio::time::timeout(self.timeout, guild.member(&*self.http, user.id)).await {
                Ok(Ok(member)) => people.push(Reactor::Member(self.roles.actor(&user, Some(&member)))),
                Ok(Err(error)) if not_a_member(&error) => {
                    people.push(Reactor::Departed(self.roles.actor(&user, None).person()));
                }
                Ok(Err(error)) => return Err(judge(&format!("cannot read member {}", user.id), error)),
                Err(_) => {
                    return Err(DeliveryError::Retry(anyhow::anyhow!(
                        "reading member {}: Discord did not answer within {:?}",
                        user.id,
                        self.timeout
                    )))
                }
            }
        }
        Ok(people)
    }
}
