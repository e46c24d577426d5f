//! The one way posts the core makes on its own (kickoffs, reminders, alerts) leave it.
//!
//! The core keeps them in its outbox until an adapter's `ChatPort` has delivered them, so a post
//! made while the chat is unreachable waits and is retried rather than lost.

use crate::post::{ChannelName, Post};

/// Where to put one post, resolved by the core from the post's `Destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// A configured channel.
    Channel(ChannelName),
    /// Open the incident's own place (a thread under the incidents channel) with this post.
    NewIncident { id: i64, title: String },
    /// The incident's place, opened earlier: `key` is what `deliver` returned then.
    Incident { id: i64, key: String },
}

/// What an adapter reports back after delivering a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// The channel (or thread) the post landed in; for `Place::NewIncident` the core binds it to
    /// the incident, so later posts and commands typed there find it.
    pub channel_key: String,
    /// The message, for reactions on it.
    pub message_key: String,
}

#[async_trait::async_trait]
pub trait ChatPort: Send + Sync {
    async fn deliver(&self, place: &Place, post: &Post) -> anyhow::Result<Delivered>;
}
