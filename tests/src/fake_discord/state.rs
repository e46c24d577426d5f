//! What the fake remembers: every request and gateway frame (for tests to assert on), and the
//! Discord state earlier calls created (messages, reactions, members), so later GETs answer it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One REST request as the bot sent it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Below `/api/v10`, percent-decoded per segment: `/channels/1/messages/2/reactions/✅/@me`.
    pub path: String,
    pub query: String,
    /// The JSON body (a multipart body's `payload_json`), or `Null`.
    pub body: Value,
    /// The names of the files a multipart body carried.
    pub files: Vec<String>,
    pub at: Instant,
}

impl Request {
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method == method && self.path == path
    }
}

/// One gateway frame, in either direction.
#[derive(Clone, Debug)]
pub struct Frame {
    /// True for frames the bot sent.
    pub from_bot: bool,
    pub op: u64,
    pub t: Option<String>,
    pub d: Value,
    pub at: Instant,
}

pub(super) enum Control {
    Dispatch(String, Value),
    Close(u16),
}

pub(super) struct Session {
    pub id: u64,
    pub intents: u64,
    pub tx: mpsc::UnboundedSender<Control>,
}

/// How the fake rate limits `POST /channels/{id}/messages`, with Discord's headers.
#[derive(Default)]
pub struct RateLimits {
    /// The next this many posts are refused with 429 and `Retry-After` (whole seconds, as Discord
    /// sends it); each counts down as it is refused.
    pub refuse_posts: u32,
    /// Each accepted post's answer says the channel's bucket is spent for this long.
    pub spent_for: Option<Duration>,
}

#[derive(Default)]
pub struct State {
    pub requests: Vec<Request>,
    pub frames: Vec<Frame>,
    /// Messages by id: those the bot posted (channel messages and interaction follow-ups).
    pub messages: BTreeMap<u64, Value>,
    /// Users who reacted, per (message id, emoji).
    pub reactions: BTreeMap<(u64, String), BTreeSet<String>>,
    /// Members by user id, as GET member answers.
    pub members: BTreeMap<String, Value>,
    /// Users Discord knows who are not (or no longer) members, by id: those who left.
    pub users: BTreeMap<String, Value>,
    pub roles: Vec<Value>,
    /// The commands of the last registration, as the bot sent them.
    pub commands: Vec<Value>,
    /// Record REST requests but never answer them.
    pub hang_rest: bool,
    /// Discord's per-channel message rate limit; off unless a test sets it
    /// ([`super::FakeDiscord::limit_messages`]).
    pub rate_limit: Option<super::RateLimit>,
    /// How many requests the rate limit answered with 429.
    pub rate_limited: usize,
    pub(super) buckets: super::ratelimit::Buckets,
    /// Answer command registration with 400, as Discord does for an invalid command.
    pub refuse_registration: bool,
    /// Discord's rate limits on channel posts; off unless a test sets them.
    pub rate_limits: RateLimits,
    /// Threads by id; one opened from a message has the message's id.
    pub threads: BTreeMap<u64, Value>,
    /// Channels that no longer exist: posts there get 404 Unknown Channel.
    pub deleted_channels: BTreeSet<String>,
    /// What the fake refused and why (a rule Discord enforces), for tests to assert on.
    pub refusals: Vec<String>,
    /// Interactions already acknowledged: a second callback is refused (40060).
    pub acknowledged: BTreeSet<String>,
    /// When each interaction was created (its snowflake's time): a callback more than 3 s after
    /// it is refused (10062).
    pub interactions: BTreeMap<String, Instant>,
    /// The `@original` message id of each interaction token.
    pub originals: BTreeMap<String, u64>,
    /// Dispatches the fake dropped because the bot did not ask for their intent.
    pub dropped: Vec<String>,
    pub(super) sessions: Vec<Session>,
    /// Dispatches made while no session was live, sent on the next READY or RESUMED.
    pub(super) pending: Vec<(String, Value)>,
    pub(super) seq: u64,
    /// The intents of the last IDENTIFY; a RESUME keeps them.
    pub identified_intents: Option<u64>,
}

impl State {
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<&Request> {
        self.requests.iter().filter(|r| r.method == method && r.path.starts_with(prefix)).collect()
    }

    /// The message the person sees for an interaction, once it is there: the callback's `data`
    /// for an immediate answer (type 4), the first follow-up's body after a deferral (type 5).
    pub fn answer_to(&self, id: &str, token: &str) -> Option<Value> {
        let callback = format!("/interactions/{id}/{token}/callback");
        let callback = self.requests.iter().find(|r| r.is("POST", &callback))?;
        match callback.body["type"].as_u64() {
            Some(5) => {
                let followup = format!("/webhooks/{}/{token}", super::payloads::APP);
                self.requests.iter().find(|r| r.is("POST", &followup)).map(|r| r.body.clone())
            }
            _ => Some(callback.body["data"].clone()),
        }
    }

    /// The id of the newest message bellhop posted itself (not an answer to an interaction).
    pub fn newest_post(&self) -> Option<String> {
        self.messages.iter().rev().find(|(_, m)| m.get("webhook_id").is_none()).map(|(id, _)| id.to_string())
    }

    pub fn frames_from_bot(&self, op: u64) -> Vec<&Frame> {
        self.frames.iter().filter(|f| f.from_bot && f.op == op).collect()
    }
}

/// The gateway intent bit a dispatch needs (Discord sends it only to sessions that asked).
pub(super) fn intent_of(t: &str) -> Option<u64> {
    match t {
        "MESSAGE_REACTION_ADD" | "MESSAGE_REACTION_REMOVE" | "MESSAGE_REACTION_REMOVE_ALL" | "MESSAGE_REACTION_REMOVE_EMOJI" => {
            Some(1 << 10)
        }
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" | "CHANNEL_CREATE" | "THREAD_CREATE" | "THREAD_UPDATE" => Some(1),
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => Some(1 << 9),
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => Some(1 << 1),
        _ => None,
    }
}

/// The answers to interactions, read from the requests as they come in, each request once: a
/// wait for hundreds of answers stays cheap however many requests the bot makes.
#[derive(Default)]
pub struct AnswerScan {
    seen: usize,
    deferred: HashSet<String>,
    /// The message each interaction's person sees, by token.
    pub answers: HashMap<String, Value>,
}

impl AnswerScan {
    /// Reads the requests made since the last call.
    pub fn update(&mut self, state: &State) {
        for request in &state.requests[self.seen.min(state.requests.len())..] {
            if request.method != "POST" {
                continue;
            }
            match request.path.split('/').collect::<Vec<_>>().as_slice() {
                ["", "interactions", _, token, "callback"] => match request.body["type"].as_u64() {
                    Some(5) => {
                        self.deferred.insert(token.to_string());
                    }
                    _ => {
                        self.answers.entry(token.to_string()).or_insert_with(|| request.body["data"].clone());
                    }
                },
                ["", "webhooks", _, token] if self.deferred.contains(*token) => {
                    self.answers.entry(token.to_string()).or_insert_with(|| request.body.clone());
                }
                _ => {}
            }
        }
        self.seen = state.requests.len();
    }
}
