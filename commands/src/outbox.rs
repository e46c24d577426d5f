//! What the outbox holds: operations on the chat (post, edit, react, open a thread), each in a
//! lane. Order holds within a lane (one subject, or one channel), never across lanes, so a post
//! to a dead channel cannot hold back an incident's thread.

use crate::post::{Destination, Post};
use crate::subject::Subject;
use serde::{Deserialize, Serialize};

/// A message's part in its subject's story. An edit or a reaction names the message by its
/// binding (subject and part), since it is queued before the message is delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub subject: Subject,
    pub role: Part,
}

impl Binding {
    pub fn new(subject: Subject, role: Part) -> Self {
        Binding { subject, role }
    }
}

/// Which of its subject's messages a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, strum::EnumString, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Part {
    /// An incident's announcement, which its thread opens from.
    Kickoff,
    /// A plan's approval post, where ✅ and ❌ are counted.
    Approval,
    /// An alert's one post, edited as it changes.
    Alert,
    /// An alert's resolve notice.
    Resolved,
    /// A pre-deploy checklist's one post, where keycaps tick its items.
    Checklist,
}

impl Part {
    /// How the store spells it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One change to make in the chat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Post; with `bind`, the delivered message is recorded as that part of its subject.
    Post {
        to: Destination,
        post: Post,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bind: Option<Binding>,
    },
    /// Replace the message bound to `of`.
    Edit { of: Binding, post: Post },
    /// bellhop's own reaction on the message bound to `on`.
    React { on: Binding, emoji: String },
    /// Open a thread from the message bound to `from`; it becomes `from.subject`'s place.
    OpenThread { from: Binding, slug: String, title: String },
}

impl Op {
    pub fn post(to: Destination, post: Post) -> Self {
        Op::Post { to, post, bind: None }
    }

    /// The ordering domain: the subject it is about, else the channel it goes to.
    pub fn lane(&self) -> String {
        match self {
            Op::Post { bind: Some(binding), .. } => binding.subject.to_string(),
            Op::Post { to: Destination::Place { subject }, .. } => subject.to_string(),
            Op::Post { to: Destination::Channel { channel }, .. } => format!("channel:{}", channel.as_str()),
            Op::Post { to: Destination::Key { key }, .. } => format!("key:{key}"),
            Op::Edit { of: binding, .. } | Op::React { on: binding, .. } | Op::OpenThread { from: binding, .. } => {
                binding.subject.to_string()
            }
        }
    }

    /// The subject it is about, if any.
    pub fn subject(&self) -> Option<Subject> {
        match self {
            Op::Post { bind: Some(binding), .. } => Some(binding.subject),
            Op::Post { to: Destination::Place { subject }, .. } => Some(*subject),
            Op::Post { .. } => None,
            Op::Edit { of: binding, .. } | Op::React { on: binding, .. } | Op::OpenThread { from: binding, .. } => Some(binding.subject),
        }
    }

    /// A few words for logs and dead-letter notices.
    pub fn describe(&self) -> String {
        match self {
            Op::Post { post, .. } => format!("the post “{}”", crate::text::ellipsize(&post.title, 80)),
            Op::Edit { of, post } => format!("an edit of {}'s {} to “{}”", of.subject, of.role, crate::text::ellipsize(&post.title, 80)),
            Op::React { on, emoji } => format!("the reaction {emoji} on {}'s {}", on.subject, on.role),
            Op::OpenThread { slug, .. } => format!("opening the thread {slug}"),
        }
    }
}

/// An operation waiting in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub lane: String,
    pub attempts: i64,
    pub op: Op,
    /// The chat it goes to; none for the home chat.
    pub chat: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::{ChannelName, Tone};

    #[test]
    fn lanes_follow_the_subject_else_the_channel() {
        let post = Post::new(Tone::Info, "x");
        let incident = Subject::incident(3);
        let kickoff = Op::Post {
            to: Destination::Channel { channel: ChannelName::Incidents },
            post: post.clone(),
            bind: Some(Binding::new(incident, Part::Kickoff)),
        };
        assert_eq!(kickoff.lane(), "incident:3");
        assert_eq!(Op::post(Destination::Place { subject: incident }, post.clone()).lane(), "incident:3");
        assert_eq!(Op::post(Destination::Channel { channel: ChannelName::StatusUpdates }, post).lane(), "channel:status-updates");
        let thread = Op::OpenThread { from: Binding::new(incident, Part::Kickoff), slug: "inc-3".into(), title: "t".into() };
        assert_eq!(thread.lane(), "incident:3");
    }

    #[test]
    fn operations_survive_the_store_as_json() {
        let op = Op::React { on: Binding::new(Subject::incident(1), Part::Kickoff), emoji: "✅".into() };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
    }
}
