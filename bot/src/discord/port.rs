//! The `ChatPort` for Discord: posts the core makes on its own go to configured channels, and an
//! incident's posts to its own thread under the incidents channel.

use crate::config::DiscordConfig;
use anyhow::Context as _;
use bellhop_commands::{ChannelName, ChatPort, Delivered, Place, Post};
use poise::serenity_prelude as serenity;
use std::sync::Arc;
use std::time::Duration;

/// Discord's limit on thread names.
const THREAD_NAME: usize = 100;

/// serenity's HTTP client has no timeout of its own; a post that hangs must not stall the outbox.
const DELIVER_WITHIN: Duration = Duration::from_secs(30);

pub struct DiscordPort {
    http: Arc<serenity::Http>,
    channels: DiscordConfig,
    timeout: Duration,
}

impl DiscordPort {
    pub fn new(http: Arc<serenity::Http>, config: &DiscordConfig) -> Self {
        DiscordPort { http, channels: config.clone(), timeout: DELIVER_WITHIN }
    }

    /// How long one delivery may take before it fails (and is retried by the caller).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn channel(&self, name: ChannelName) -> anyhow::Result<serenity::ChannelId> {
        let (id, key) = match name {
            ChannelName::Incidents => (self.channels.incidents_channel, "DISCORD_INCIDENTS_CHANNEL"),
            ChannelName::StatusUpdates => (self.channels.status_channel, "DISCORD_STATUS_CHANNEL"),
            ChannelName::Ops => (self.channels.ops_channel, "DISCORD_OPS_CHANNEL"),
        };
        id.map(serenity::ChannelId::new).with_context(|| format!("no Discord channel for #{}: set {key}", name.as_str()))
    }

    async fn open_thread(&self, id: i64, title: &str) -> anyhow::Result<serenity::ChannelId> {
        let parent = self.channel(ChannelName::Incidents)?;
        let name = bellhop_commands::text::ellipsize(&format!("inc-{id} {title}"), THREAD_NAME);
        let thread = parent
            .create_thread(&*self.http, serenity::CreateThread::new(name).kind(serenity::ChannelType::PublicThread))
            .await
            .with_context(|| format!("cannot open a thread for incident {id} in channel {parent}"))?;
        Ok(thread.id)
    }
}

#[async_trait::async_trait]
impl ChatPort for DiscordPort {
    /// Fails (and the caller keeps the post to retry) when Discord is unreachable, refuses it or
    /// does not answer in time.
    async fn deliver(&self, place: &Place, post: &Post) -> anyhow::Result<Delivered> {
        match tokio::time::timeout(self.timeout, self.post(place, post)).await {
            Ok(delivered) => delivered,
            Err(_) => anyhow::bail!("Discord did not answer within {:?}", self.timeout),
        }
    }
}

impl DiscordPort {
    async fn post(&self, place: &Place, post: &Post) -> anyhow::Result<Delivered> {
        let channel = match place {
            Place::Channel(name) => self.channel(*name)?,
            Place::NewIncident { id, title } => self.open_thread(*id, title).await?,
            Place::Incident { id, key } => {
                let id = key
                    .parse::<u64>()
                    .ok()
                    .filter(|k| *k > 0)
                    .with_context(|| format!("incident {id}'s thread key {key:?} is not a channel id"))?;
                serenity::ChannelId::new(id)
            }
        };
        let message = channel
            .send_message(&*self.http, super::embed::message(post))
            .await
            .with_context(|| format!("cannot post to Discord channel {channel}"))?;
        Ok(Delivered { channel_key: channel.to_string(), message_key: message.id.to_string() })
    }
}
