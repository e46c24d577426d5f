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
    /// Files that go with the post (a postmortem skeleton, a chart).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// A file on a post: text (a markdown skeleton) or binary (a PNG chart).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AttachmentWire", into = "AttachmentWire")]
pub struct Attachment {
    pub filename: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The content as text, when it is UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({}, {} bytes)", self.filename, self.bytes.len())
    }
}

/// How an attachment is stored in the outbox: text as it is (what older rows hold), anything
/// else as base64, so the JSON stays valid and readable.
#[derive(Serialize, Deserialize)]
struct AttachmentWire {
    filename: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

impl From<Attachment> for AttachmentWire {
    fn from(attachment: Attachment) -> Self {
        use base64::Engine as _;
        match String::from_utf8(attachment.bytes) {
            Ok(text) => AttachmentWire { filename: attachment.filename, content: Some(text), base64: None },
            Err(binary) => AttachmentWire {
                filename: attachment.filename,
                content: None,
                base64: Some(base64::engine::general_purpose::STANDARD.encode(binary.into_bytes())),
            },
        }
    }
}

impl TryFrom<AttachmentWire> for Attachment {
    type Error = String;

    fn try_from(wire: AttachmentWire) -> Result<Self, Self::Error> {
        use base64::Engine as _;
        let bytes = match (wire.content, wire.base64) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| format!("attachment {} is not valid base64: {e}", wire.filename))?,
            _ => return Err(format!("attachment {} needs exactly one of content and base64", wire.filename)),
        };
        Ok(Attachment { filename: wire.filename, bytes })
    }
}

/// Someone bellhop itself decided to page (a configured role), never derived from user text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ping {
    Role { id: String, name: String },
}

impl Ping {
    /// A role known by its name only (the shell's, and the defaults before configuration).
    pub fn role(name: &str) -> Ping {
        Ping::Role { id: name.to_string(), name: name.to_string() }
    }

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

    /// Attaches a file; text (`String`, `&str`) or bytes (`Vec<u8>`).
    pub fn attach(mut self, filename: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        self.attachments.push(Attachment { filename: filename.into(), bytes: content.into() });
        self
    }

    /// A one-sentence refusal or error, for the person who typed the command.
    pub fn error(sentence: impl Into<String>) -> Self {
        Post::new(Tone::Bad, "").body(sentence)
    }
}

/// Plain text, as the shell shows a post and the posts' snapshots record it.
impl std::fmt::Display for Post {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tone = match self.tone {
            Tone::Good => "good",
            Tone::Warning => "warning",
            Tone::Bad => "bad",
            Tone::Info => "info",
        };
        write!(f, "[{tone}] {}", self.title)?;
        if !self.body.is_empty() {
            write!(f, "\n{}", self.body)?;
        }
        for field in &self.fields {
            write!(f, "\n{}: {}", field.name, field.value)?;
        }
        if !self.pings.is_empty() {
            let pings: Vec<String> = self.pings.iter().map(Ping::label).collect();
            write!(f, "\npings {}", pings.join(" "))?;
        }
        for file in &self.attachments {
            write!(f, "\nattached {} ({} bytes)", file.filename, file.bytes.len())?;
        }
        Ok(())
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_survive_the_outbox_as_json() {
        let png = vec![0x89, b'P', b'N', b'G', 0xff, 0x00];
        let post = Post::new(Tone::Info, "t").attach("chart.png", png.clone()).attach("notes.md", "# Notes");
        let json = serde_json::to_string(&post).unwrap();
        assert!(json.contains(r##""content":"# Notes""##), "{json}");
        assert!(json.contains(r#""base64":"iVBOR/8A""#), "{json}");
        let back: Post = serde_json::from_str(&json).unwrap();
        assert_eq!(back.attachments[0].bytes, png);
        assert_eq!(back.attachments[1].text(), Some("# Notes"));
    }

    #[test]
    fn a_broken_attachment_in_the_outbox_is_an_error_not_a_panic() {
        let json = r#"{"title":"","body":"","fields":[],"tone":"info","pings":[],"attachments":[{"filename":"x","base64":"!!"}]}"#;
        let error = serde_json::from_str::<Post>(json).unwrap_err().to_string();
        assert!(error.contains("attachment x is not valid base64"), "{error}");
    }
}
