//! The one way bellhop changes the chat on its own: posts, edits, its own reactions, threads.
//!
//! The core never calls a port from a command: commands queue operations in the outbox inside
//! their transaction, and the core hands them to an adapter's `ChatPort` one by one, so an
//! operation made while the chat is unreachable waits and is retried rather than lost.

use crate::actor::{Actor, Person};
use crate::post::{ChannelName, Post};
use serde::{Deserialize, Serialize};

/// Where a delivered message lives in the chat: the adapter's channel key (a Discord channel or
/// thread id, a shell channel name) and message key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    pub channel: String,
    pub message: String,
}

impl MessageRef {
    pub fn new(channel: impl Into<String>, message: impl Into<String>) -> Self {
        MessageRef { channel: channel.into(), message: message.into() }
    }
}

/// Where to put a post, resolved by the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A configured channel.
    Channel(ChannelName),
    /// A channel the adapter named earlier (a thread it opened, where a command was typed).
    Key(String),
}

/// Why an operation failed, as the adapter judges it; the core decides what happens next.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The chat is unreachable, slow or rate-limiting: try again later.
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// The chat asks to wait this long before trying again (Slack's `Retry-After`).
    #[error("{1:#}")]
    Throttled(std::time::Duration, anyhow::Error),
    /// Trying again cannot help: no such channel, missing access, a body the chat refuses.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
    /// The message to edit or react to was deleted.
    #[error("{0:#}")]
    Gone(anyhow::Error),
}

impl DeliveryError {
    pub fn kind(&self) -> &'static str {
        match self {
            DeliveryError::Retry(_) => "retry",
            DeliveryError::Throttled(..) => "throttled",
            DeliveryError::Permanent(_) => "permanent",
            DeliveryError::Gone(_) => "gone",
        }
    }
}

#[async_trait::async_trait]
pub trait ChatPort: Send + Sync {
    /// Posts a message.
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError>;

    /// Replaces a message bellhop posted.
    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError>;

    /// Adds bellhop's own reaction to a message (the ✅ and ❌ people then click).
    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError>;

    /// Opens a thread from a message bellhop posted, returning the thread's channel key.
    /// Opening it again from the same message must return the same thread, so a retry after a
    /// timeout never opens a second one.
    async fn open_thread(&self, from: &MessageRef, slug: &str, title: &str) -> Result<String, DeliveryError>;

    /// The people (not bellhop, not other bots) who reacted to a message with `emoji`, with
    /// the bellhop roles they hold now.
    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError>;
}

/// Someone who reacted, as the chat knows them now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reactor {
    /// A member of the chat, with the bellhop roles they hold now.
    Member(Actor),
    /// Someone no longer in the chat (left, or removed): shown, never counted.
    Departed(Person),
}

/// A shared port is a port: the loop and the plans it runs hold one `Arc` of it.
#[async_trait::async_trait]
impl<T: ChatPort + ?Sized> ChatPort for std::sync::Arc<T> {
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError> {
        (**self).post(place, post).await
    }

    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError> {
        (**self).edit(message, post).await
    }

    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError> {
        (**self).react(message, emoji).await
    }

    async fn open_thread(&self, from: &MessageRef, slug: &str, title: &str) -> Result<String, DeliveryError> {
        (**self).open_thread(from, slug, title).await
    }

    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError> {
        (**self).reactions(message, emoji).await
    }
}
