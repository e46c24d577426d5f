//! What the fake remembers: the workspace's fixtures (users, channels, user groups), the
//! messages and reactions bellhop's calls created, and every call, ack and response for tests
//! to assert on.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The bot's own user id, as `auth.test` answers it.
pub const BOT_USER: &str = "UBOT";
pub const BOT_ID: &str = "BBOT";
pub const TEAM: &str = "T1";
pub const APP_ID: &str = "A1";
/// The command every slash envelope carries.
pub const COMMAND: &str = "/bellhop";

/// One Web API call as the client made it.
#[derive(Clone, Debug)]
pub struct Call {
    /// The method after `/api/`, e.g. `chat.postMessage`.
    pub method: String,
    /// The `Authorization` header's value, e.g. `Bearer xoxb-fake-bot`.
    pub auth: Option<String>,
    pub query: String,
    /// The JSON body, or the query's parameters as an object for a GET.
    pub body: Value,
}

/// How a message came to be in a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `chat.postMessage`.
    Api,
    /// A `response_url` post with `response_type: "in_channel"`.
    ResponseUrl,
    /// A slash command's ack whose payload says `response_type: "in_channel"`.
    Ack,
    /// Posted by a person in the test ([`super::FakeSlack::post_as`]).
    Person,
}

/// A message in a channel, with its current content after edits.
#[derive(Clone, Debug)]
pub struct Message {
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    /// The blocks as posted (`Null` when none).
    pub blocks: Value,
    /// Who posted it: the bot (`UBOT`) unless a test posted it as a person.
    pub user: String,
    /// How many times `chat.update` (or a `replace_original`) changed it.
    pub edits: usize,
    /// Each emoji's short name with the users who reacted, in the order they first did.
    pub reactions: Vec<(String, Vec<String>)>,
    pub origin: Origin,
    /// For a message posted through a `response_url`: the envelope it answered.
    pub(super) response_id: Option<String>,
}

impl Message {
    /// The users who reacted with `name` (a short name such as `white_check_mark`).
    pub fn reacted(&self, name: &str) -> Vec<String> {
        self.reactions.iter().find(|(n, _)| n == name).map(|(_, users)| users.clone()).unwrap_or_default()
    }
}

/// An ephemeral message, visible to one user only (`chat.postEphemeral` or an ephemeral
/// `response_url` post or ack).
#[derive(Clone, Debug)]
pub struct Ephemeral {
    pub channel: String,
    pub user: String,
    pub text: String,
    pub blocks: Value,
    pub thread_ts: Option<String>,
}

/// One ack bellhop sent on a socket.
#[derive(Clone, Debug)]
pub struct Ack {
    pub envelope_id: String,
    /// From the last delivery of the envelope to this ack.
    pub latency: Duration,
    pub payload: Option<Value>,
    /// Which delivery it answered: 0 the first, 1 the first retry…
    pub retry_attempt: u32,
}

/// An envelope the fake sent, to find its ack and the responses to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub envelope_id: String,
    /// The id in the slash command's `response_url` (`/response/<id>`); the envelope id.
    pub response_id: String,
    /// The `event_id` of an `events_api` envelope.
    pub event_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub name: String,
    pub is_bot: bool,
    pub deleted: bool,
    /// Gone from the workspace: `users.info` answers `user_not_found`.
    pub removed: bool,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub archived: bool,
    pub deleted: bool,
}

pub(super) enum Control {
    /// A frame to send as text.
    Send(String),
    /// A `disconnect` frame with this reason; the client then opens a new connection.
    Disconnect(String),
    /// A Close frame, then the connection ends.
    Close,
}

pub(super) struct Socket {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Control>,
}

/// An envelope in flight: its frame (for retries) and its deliveries.
pub(super) struct Sent {
    pub frame: Value,
    pub channel: String,
    pub user: String,
    pub sent_at: Instant,
    pub attempt: u32,
    pub acked: bool,
    /// Whether Slack retries it when no ack comes in time (events do, slash commands do not).
    pub retried: bool,
}

pub struct State {
    pub users: BTreeMap<String, User>,
    pub channels: BTreeMap<String, Channel>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub(super) messages: BTreeMap<String, Vec<Message>>,
    pub ephemerals: Vec<Ephemeral>,
    pub calls: Vec<Call>,
    pub acks: Vec<Ack>,
    /// Bodies posted to each `response_url`, by its id.
    pub responses: BTreeMap<String, Vec<Value>>,
    /// Envelopes that were not acked within the ack timeout (each delivery once).
    pub timed_out: Vec<String>,
    /// Web API methods the fake does not know, in the order they were called.
    pub unknown_methods: Vec<String>,
    pub connections_opened: usize,
    pub ack_timeout: Duration,
    pub(super) rate_limits: HashMap<String, VecDeque<u64>>,
    pub(super) tickets: Vec<String>,
    pub(super) sockets: Vec<Socket>,
    pub(super) next_socket: usize,
    pub(super) sent: HashMap<String, Sent>,
    pub(super) ts: u64,
    pub(super) ids: u64,
}

impl State {
    pub(super) fn with_fixtures() -> State {
        let user = |id: &str, name: &str, is_bot: bool| {
            (id.to_string(), User { id: id.into(), name: name.into(), is_bot, deleted: false, removed: false })
        };
        let users = [
            user(BOT_USER, "bellhop", true),
            user("U1", "alice", false),
            user("U2", "bob", false),
            user("U3", "carol", false),
            user("U4", "dave", false),
            user("U5", "erin", false),
            user("UOTHERBOT", "otherbot", true),
        ];
        let channel =
            |id: &str, name: &str| (id.to_string(), Channel { id: id.into(), name: name.into(), archived: false, deleted: false });
        let channels = [channel("C0INCIDENTS", "incidents"), channel("C0STATUS", "status-updates"), channel("C0OPS", "ops")];
        let group = |id: &str, users: &[&str]| (id.to_string(), users.iter().map(|u| u.to_string()).collect());
        let groups =
            [group("S0RESPONDERS", &["U1"]), group("S0APPROVERS", &["U2", "U3"]), group("S0ADMINS", &["U5"]), group("S0ONCALL", &["U1"])];
        State {
            users: users.into_iter().collect(),
            channels: channels.into_iter().collect(),
            groups: groups.into_iter().collect(),
            messages: BTreeMap::new(),
            ephemerals: Vec::new(),
            calls: Vec::new(),
            acks: Vec::new(),
            responses: BTreeMap::new(),
            timed_out: Vec::new(),
            unknown_methods: Vec::new(),
            connections_opened: 0,
            ack_timeout: Duration::from_secs(3),
            rate_limits: HashMap::new(),
            tickets: Vec::new(),
            sockets: Vec::new(),
            next_socket: 0,
            sent: HashMap::new(),
            ts: 0,
            ids: 0,
        }
    }

    /// A fresh message timestamp, `1700000000.000001` and on.
    pub(super) fn next_ts(&mut self) -> String {
        self.ts += 1;
        format!("1700000000.{:06}", self.ts)
    }

    /// A fresh number for envelope, event, ticket and trigger ids.
    pub(super) fn next_id(&mut self) -> u64 {
        self.ids += 1;
        self.ids
    }

    /// The channel, unless it does not exist (or no longer does).
    pub(super) fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.get(id).filter(|c| !c.deleted)
    }

    pub(super) fn message(&self, channel: &str, ts: &str) -> Option<&Message> {
        self.messages.get(channel)?.iter().find(|m| m.ts == ts)
    }

    pub(super) fn message_mut(&mut self, channel: &str, ts: &str) -> Option<&mut Message> {
        self.messages.get_mut(channel)?.iter_mut().find(|m| m.ts == ts)
    }

    /// Posts a message, returning its ts.
    pub(super) fn post(&mut self, channel: &str, mut message: Message) -> String {
        message.ts = self.next_ts();
        let ts = message.ts.clone();
        self.messages.entry(channel.to_string()).or_default().push(message);
        ts
    }

    /// Adds or removes `user`'s reaction `name`; false when there was nothing to change.
    pub(super) fn set_reaction(&mut self, channel: &str, ts: &str, name: &str, user: &str, added: bool) -> bool {
        let Some(message) = self.message_mut(channel, ts) else { return false };
        let index = match message.reactions.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None if added => {
                message.reactions.push((name.to_string(), Vec::new()));
                message.reactions.len() - 1
            }
            None => return false,
        };
        let users = &mut message.reactions[index].1;
        let had = users.iter().any(|u| u == user);
        match (added, had) {
            (true, false) => users.push(user.to_string()),
            (false, true) => users.retain(|u| u != user),
            _ => return false,
        }
        message.reactions.retain(|(_, users)| !users.is_empty());
        true
    }
}

/// A message from the bot (or a person) with this content; `post` gives it its ts.
pub(super) fn message(user: &str, text: &str, blocks: Value, thread_ts: Option<String>, origin: Origin) -> Message {
    Message {
        ts: String::new(),
        thread_ts,
        text: text.to_string(),
        blocks,
        user: user.to_string(),
        edits: 0,
        reactions: Vec::new(),
        origin,
        response_id: None,
    }
}
