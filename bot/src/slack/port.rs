//! The `ChatPort` for Slack: posts go to configured channels or into an incident's thread
//! (`thread_ts` under its kickoff); edits through `chat.update`, bellhop's own reactions through
//! `reactions.add`, and who reacted through `reactions.get` and the user groups.

use super::api::Api;
use super::mrkdwn::{self, Pages};
use super::people::{Directory, Who};
use bellhop_commands::{ChannelName, ChatPort, DeliveryError, MessageRef, Place, Post, Reactor};
use slack_morphism::prelude::*;
use std::sync::Arc;

/// The configured channels, by bellhop's names.
#[derive(Clone, Debug, Default)]
pub struct Channels {
    pub incidents: Option<String>,
    pub status: Option<String>,
    pub ops: Option<String>,
}

pub struct SlackPort {
    api: Arc<Api>,
    channels: Channels,
    pages: Pages,
    people: Arc<Directory>,
}

impl SlackPort {
    pub fn new(api: Arc<Api>, channels: Channels, pages: Pages, people: Arc<Directory>) -> SlackPort {
        SlackPort { api, channels, pages, people }
    }

    /// The channel and, inside a thread, its root: a place key is `C0123` or `C0123/1700000000.000100`.
    fn target(&self, place: &Place) -> Result<(String, Option<String>), DeliveryError> {
        match place {
            Place::Channel(name) => {
                let (id, key) = match name {
                    ChannelName::Incidents => (&self.channels.incidents, "SLACK_INCIDENTS_CHANNEL"),
                    ChannelName::StatusUpdates => (&self.channels.status, "SLACK_STATUS_CHANNEL"),
                    ChannelName::Ops => (&self.channels.ops, "SLACK_OPS_CHANNEL"),
                };
                let id = id
                    .clone()
                    .ok_or_else(|| DeliveryError::Permanent(anyhow::anyhow!("no Slack channel for #{}: set {key}", name.as_str())))?;
                Ok((id, None))
            }
            Place::Key(key) => Ok(match key.split_once('/') {
                Some((channel, thread)) => (channel.to_string(), Some(thread.to_string())),
                None => (key.clone(), None),
            }),
        }
    }

    fn content(&self, post: &Post) -> SlackMessageContent {
        let (text, blocks) = mrkdwn::render(post, &self.pages);
        let blocks: Option<Vec<SlackBlock>> = serde_json::from_value(blocks).ok();
        SlackMessageContent::new().with_text(text).opt_blocks(blocks)
    }
}

/// bellhop's reactions as Slack names them.
const EMOJI: &[(&str, &str)] = &[
    ("✅", "white_check_mark"),
    ("❌", "x"),
    ("🚨", "rotating_light"),
    ("🔓", "unlock"),
    // The deploy checklist's items.
    ("1️⃣", "one"),
    ("2️⃣", "two"),
    ("3️⃣", "three"),
    ("4️⃣", "four"),
    ("5️⃣", "five"),
    ("6️⃣", "six"),
];

pub fn slack_name(emoji: &str) -> Option<&'static str> {
    EMOJI.iter().find(|(unicode, _)| *unicode == emoji).map(|(_, name)| *name)
}

/// A Slack reaction as the core knows it: one of bellhop's as its emoji, any other as `:name:`.
/// A skin tone does not change what a reaction means.
pub fn unicode(name: &str) -> String {
    let base = name.split("::").next().unwrap_or(name);
    EMOJI.iter().find(|(_, n)| *n == base).map(|(unicode, _)| unicode.to_string()).unwrap_or_else(|| format!(":{base}:"))
}

#[async_trait::async_trait]
impl ChatPort for SlackPort {
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError> {
        let (channel, thread) = self.target(place)?;
        let request =
            SlackApiChatPostMessageRequest::new(SlackChannelId(channel.clone()), self.content(post)).opt_thread_ts(thread.map(SlackTs));
        let sent = super::api::timed(self.api.session().chat_post_message(&request))
            .await
            .map_err(|e| e.judge(&format!("cannot post to {channel}")))?;
        Ok(MessageRef::new(sent.channel.0, sent.ts.0))
    }

    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError> {
        let request =
            SlackApiChatUpdateRequest::new(SlackChannelId(message.channel.clone()), self.content(post), SlackTs(message.message.clone()));
        super::api::timed(self.api.session().chat_update(&request))
            .await
            .map(|_| ())
            .map_err(|e| e.judge(&format!("cannot edit message {}", message.message)))
    }

    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError> {
        let name = slack_name(emoji).ok_or_else(|| DeliveryError::Permanent(anyhow::anyhow!("bellhop has no Slack name for {emoji}")))?;
        let request = SlackApiReactionsAddRequest::new(
            SlackChannelId(message.channel.clone()),
            SlackReactionName(name.to_string()),
            SlackTs(message.message.clone()),
        );
        match super::api::timed(self.api.session().reactions_add(&request)).await {
            Ok(_) => Ok(()),
            // A retry after a timeout: the first attempt got through.
            Err(error) if error.code() == Some("already_reacted") => Ok(()),
            Err(error) => Err(error.judge(&format!("cannot react to message {}", message.message))),
        }
    }

    /// Slack opens no thread as such: replies with the kickoff's `ts` as `thread_ts` are its
    /// thread. The same message always gives the same place.
    async fn open_thread(&self, from: &MessageRef, _slug: &str, _title: &str) -> Result<String, DeliveryError> {
        Ok(format!("{}/{}", from.channel, from.message))
    }

    /// Bots (bellhop included) are left out; someone deactivated or unknown is departed. Roles
    /// are read afresh: they decide whether a plan runs.
    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError> {
        let Some(name) = slack_name(emoji) else { return Ok(Vec::new()) };
        let request = SlackApiReactionsGetRequest::new()
            .with_channel(SlackChannelId(message.channel.clone()))
            .with_timestamp(SlackTs(message.message.clone()))
            .with_full(true);
        let what = format!("cannot read the reactions on {}", message.message);
        let found = super::api::timed(self.api.session().reactions_get(&request)).await.map_err(|e| e.judge(&what))?;
        let reactions = match found {
            SlackApiReactionsGetResponse::Message(found) => found.message.content.reactions.unwrap_or_default(),
            SlackApiReactionsGetResponse::File(_) => Vec::new(),
        };
        let mut users: Vec<String> = Vec::new();
        for reaction in reactions.into_iter().filter(|r| r.name.0.split("::").next() == Some(name)) {
            users.extend(reaction.users.into_iter().map(|u| u.0).filter(|u| !users.contains(u)).collect::<Vec<_>>());
        }
        let mut people = Vec::new();
        for (n, user) in users.iter().enumerate() {
            match self.people.who(user, n == 0).await.map_err(|e| e.judge(&format!("cannot read who {user} is")))? {
                Who::Person(actor) => people.push(Reactor::Member(actor)),
                Who::Departed(person) => people.push(Reactor::Departed(person)),
                Who::Bot => {}
            }
        }
        Ok(people)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bellhops_reactions_have_slack_names_and_back() {
        for emoji in ["✅", "❌", "🚨", "🔓", "1️⃣", "6️⃣"] {
            assert_eq!(unicode(slack_name(emoji).unwrap()), emoji);
        }
        assert_eq!(unicode("white_check_mark::skin-tone-3"), "✅");
        assert_eq!(unicode("tada"), ":tada:");
        assert_eq!(slack_name("🎉"), None);
    }
}
