//! A chat-neutral message: what bellhop says, before an adapter turns it into an embed or text.

use serde::{Deserialize, Serialize};

/// How a post should look at a glance; adapters map it to a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Good,
    Warning,
    Bad,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A message. `pings` is the only way a post mentions anyone: adapters allow exactly these
/// mentions and nothing that appears in the text, so user-supplied `@everyone` never pings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub title: String,
    pub body: String,
    pub fields: Vec<Field>,
    pub tone: Tone,
    pub pings: Vec<Ping>,
    /// Files that go with the post (a postmortem skeleton).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content: String,
}

/// Someone bellhop itself decided to page (a configured role), never derived from user text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ping {
    Role { id: String, name: String },
}

impl Ping {
    /// How the ping reads in text: `@on-call`.
    pub fn label(&self) -> String {
        match self {
            Ping::Role { name, .. } => format!("@{name}"),
        }
    }
}

impl Post {
    pub fn new(tone: Tone, title: impl Into<String>) -> Self {
        Post { title: title.into(), body: String::new(), fields: Vec::new(), tone, pings: Vec::new(), attachments: Vec::new() }
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field { name: name.into(), value: value.into() });
        self
    }

    pub fn ping(mut self, ping: Ping) -> Self {
        self.pings.push(ping);
        self
    }

    pub fn attach(mut self, filename: impl Into<String>, content: impl Into<String>) -> Self {
        self.attachments.push(Attachment { filename: filename.into(), content: content.into() });
        self
    }

    /// A one-sentence refusal or error, for the person who typed the command.
    pub fn error(sentence: impl Into<String>) -> Self {
        Post::new(Tone::Bad, "").body(sentence)
    }
}

/// Who sees a reply: the whole channel, or only the person who typed the command
/// (an ephemeral message in Discord).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    Channel,
    Invoker,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub post: Post,
    pub visibility: Visibility,
}

impl Reply {
    pub fn channel(post: Post) -> Self {
        Reply { post, visibility: Visibility::Channel }
    }

    pub fn invoker(post: Post) -> Self {
        Reply { post, visibility: Visibility::Invoker }
    }
}

/// Where a post the core makes on its own (not a reply) goes. Adapters map these to their
/// channels: in Discord, configured channel ids and one thread per incident; in the shell,
/// `#incidents`, `#status-updates`, `#inc-N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// The configured channel of that name.
    Channel { channel: ChannelName },
    /// The subject's own place (an incident's thread), opened by an earlier operation of the
    /// same lane; until it exists, the posts of that lane wait.
    Place { subject: crate::subject::Subject },
    /// A channel the adapter named (where a command was typed).
    Key { key: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelName {
    /// Where incidents are announced and their threads live.
    Incidents,
    /// Ready-to-copy status page texts.
    StatusUpdates,
    /// Alerts, maintenance notices and anything else for the on-call team.
    Ops,
}

impl ChannelName {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelName::Incidents => "incidents",
            ChannelName::StatusUpdates => "status-updates",
            ChannelName::Ops => "ops",
        }
    }
}
