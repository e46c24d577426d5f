//! A chat-neutral message: what bellhop says, before an adapter turns it into an embed or text.

/// How a post should look at a glance; adapters map it to a colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warning,
    Bad,
    Info,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
}

/// A message. `pings` is the only way a post mentions anyone: adapters allow exactly these
/// mentions and nothing that appears in the text, so user-supplied `@everyone` never pings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    pub title: String,
    pub body: String,
    pub fields: Vec<Field>,
    pub tone: Tone,
    pub pings: Vec<Ping>,
}

/// Someone bellhop itself decided to page (a configured role), never derived from user text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ping {
    Role { id: String, name: String },
}

impl Post {
    pub fn new(tone: Tone, title: impl Into<String>) -> Self {
        Post { title: title.into(), body: String::new(), fields: Vec::new(), tone, pings: Vec::new() }
    }

    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(Field { name: name.into(), value: value.into() });
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
