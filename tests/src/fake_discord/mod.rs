//! A fake Discord on 127.0.0.1 that the real serenity/poise client connects to: REST under
//! `/api/v10` (axum) and the gateway (tokio-tungstenite). It keeps state, records every request
//! and frame, and lets tests inject dispatches and wait for what the bot does, never sleeping.

mod gateway;
mod multipart;
pub mod payloads;
mod ratelimit;
mod rest;
mod rules;
mod state;
mod tls;

pub use ratelimit::RateLimit;
pub use state::{AnswerScan, Frame, RateLimits, Request, State};
pub use tls::DiscordCom;

use serde_json::Value;
use state::{intent_of, Control};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

/// How long a test waits for the bot to do something before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    ids: AtomicU64,
    ws_url: String,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.state.lock().expect("the fake's state lock"));
        self.changed.send_modify(|version| *version += 1);
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().expect("the fake's state lock"))
    }

    /// A fresh snowflake, made as Discord makes them: the milliseconds since Discord's epoch in
    /// the top 42 bits, so an interaction's id tells when it was created.
    fn next_id(&self) -> u64 {
        self.snowflake(SystemTime::now())
    }

    /// A snowflake created at `at`; the low bits keep ids made in one millisecond apart.
    fn snowflake(&self, at: SystemTime) -> u64 {
        let millis = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64).saturating_sub(DISCORD_EPOCH_MS);
        (millis << 22) | (self.ids.fetch_add(1, Ordering::Relaxed) & 0x3f_ffff)
    }

    /// A stable id for an interaction's `@original` message.
    fn original_id(&self, token: &str) -> u64 {
        if let Some(id) = self.read(|s| s.originals.get(token).copied()) {
            return id;
        }
        let id = self.next_id();
        self.update(|s| {
            s.originals.entry(token.to_string()).or_insert(id);
        });
        self.read(|s| s.originals.get(token).copied().unwrap_or(id))
    }

    /// Sends a dispatch to the live sessions whose intents include it (others never see it,
    /// as in Discord); while none is live, it waits for the next READY or RESUMED.
    fn dispatch(&self, t: &str, d: Value) {
        self.update(|state| {
            if t == "INTERACTION_CREATE" {
                if let Some(id) = d["id"].as_str() {
                    state.interactions.insert(id.to_string(), created(id));
                }
            }
            if state.sessions.is_empty() {
                state.pending.push((t.to_string(), d));
                return;
            }
            for session in &state.sessions {
                if intent_of(t).is_none_or(|bit| session.intents & bit != 0) {
                    let _ = session.tx.send(Control::Dispatch(t.to_string(), d.clone()));
                } else {
                    state.dropped.push(t.to_string());
                }
            }
        });
    }

    /// A message posted in `channel`; an interaction's follow-up (`webhook`) carries the
    /// application's id as its `webhook_id`, as in Discord.
    fn create_message(&self, channel: &str, body: &Value, webhook: bool) -> Value {
        let id = self.next_id();
        let mut message = payloads::message(&id.to_string(), channel, body);
        if webhook {
            message["webhook_id"] = Value::from(payloads::APP);
        }
        self.update(|state| {
            state.messages.insert(id, message.clone());
        });
        message
    }
}

/// Discord's epoch, 2015-01-01T00:00:00Z, in milliseconds since 1970.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// When a snowflake was created, on this process's monotonic clock.
fn created(id: &str) -> Instant {
    let millis = id.parse::<u64>().map_or(0, |id| (id >> 22) + DISCORD_EPOCH_MS);
    let age = SystemTime::now().duration_since(UNIX_EPOCH + Duration::from_millis(millis)).unwrap_or_default();
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}

pub struct FakeDiscord {
    /// The REST base the bot's `DISCORD_HTTP_PROXY` points at.
    pub rest_url: String,
    pub ws_url: String,
    /// Set when the fake also answers as https://discord.com: a bot then runs with serenity's
    /// rate limiter on, without the proxy.
    pub discord_com: Option<DiscordCom>,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// An interaction the test dispatched, to find the bot's answers to it.
#[derive(Clone, Debug)]
pub struct Interaction {
    pub id: String,
    pub token: String,
    pub sent_at: Instant,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        FakeDiscord::start_with(false).await
    }

    /// The fake, also answering as https://discord.com (see [`DiscordCom`]).
    pub async fn start_as_discord_com() -> FakeDiscord {
        FakeDiscord::start_with(true).await
    }

    async fn start_with(as_discord_com: bool) -> FakeDiscord {
        let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake's REST API");
        let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake's gateway");
        let ws_url = format!("ws://{}", gateway.local_addr().expect("the gateway's address"));
        let rest_url = format!("http://{}", rest.local_addr().expect("the REST address"));
        let state = State { roles: payloads::default_roles(), ..State::default() };
        let shared =
            Arc::new(Shared { state: Mutex::new(state), changed: watch::channel(0).0, ids: AtomicU64::new(1), ws_url: ws_url.clone() });
        let app = axum::Router::new().fallback(rest::handle).with_state(shared.clone());
        let mut tasks = vec![tokio::spawn(gateway::serve(gateway, shared.clone()))];
        let mut discord_com = None;
        if as_discord_com {
            let (serving, task) = tls::serve(app.clone()).await;
            tasks.push(task);
            discord_com = Some(serving);
        }
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(rest, app).tcp_nodelay(true).await;
        }));
        FakeDiscord { rest_url, ws_url, discord_com, shared, tasks }
    }

    /// Reads the state (requests, frames, messages…) as it is now.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.shared.read(f)
    }

    /// Changes the fake's state, e.g. to make it refuse registration.
    pub fn update(&self, f: impl FnOnce(&mut State)) {
        self.shared.update(f)
    }

    /// Switches Discord's per-channel message rate limit on (`RateLimit::DISCORD`: 5 per 5 s):
    /// a post or edit beyond it is answered 429, and counted in `State::rate_limited`.
    pub fn limit_messages(&self, limit: RateLimit) {
        self.shared.update(|state| state.rate_limit = Some(limit));
    }

    pub fn add_member(&self, member: Value) {
        let id = member["user"]["id"].as_str().expect("a member has a user id").to_string();
        self.shared.update(|state| {
            state.members.insert(id, member);
        });
    }

    /// Waits until `found` returns something, or fails the test after `WAIT`, listing what the
    /// bot did meanwhile.
    pub async fn wait<T>(&self, what: &str, found: impl FnMut(&State) -> Option<T>) -> T {
        match self.wait_within(WAIT, found).await {
            Some(value) => value,
            None => {
                let requests: Vec<String> = self.read(|s| s.requests.iter().map(|r| format!("{} {}", r.method, r.path)).collect());
                panic!("timed out after {WAIT:?} waiting for {what}; the bot's requests: {requests:#?}")
            }
        }
    }

    /// Waits until `found` returns something, woken by each change of the fake's state; `None`
    /// when `within` passes first.
    pub async fn wait_within<T>(&self, within: Duration, mut found: impl FnMut(&State) -> Option<T>) -> Option<T> {
        let mut changed = self.shared.changed.subscribe();
        let waiting = async {
            loop {
                if let Some(value) = self.read(&mut found) {
                    return value;
                }
                if changed.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(within, waiting).await.ok()
    }

    /// Waits for the `n`-th (from 1) request that matches.
    pub async fn wait_request(&self, what: &str, n: usize, matches: impl Fn(&Request) -> bool) -> Request {
        self.wait(what, |s| s.requests.iter().filter(|r| matches(r)).nth(n - 1).cloned()).await
    }

    /// Waits until the bot is connected and has registered its commands.
    pub async fn ready(&self) -> Vec<Value> {
        self.wait("the bot to register its commands", |s| {
            let registered = s.requests.iter().any(|r| r.method == "PUT" && r.path.ends_with("/commands"));
            let live = !s.sessions.is_empty();
            (registered && live).then(|| s.commands.clone())
        })
        .await
    }

    /// Sends a dispatch to the live sessions whose intents include it.
    pub fn dispatch(&self, t: &str, d: Value) {
        self.show_reaction(t, &d);
        self.shared.dispatch(t, d)
    }

    /// A reaction shown on the message without its gateway event: what people did while the bot
    /// was disconnected, which Discord does not replay.
    pub fn react_unheard(&self, t: &str, d: Value) {
        self.show_reaction(t, &d);
    }

    /// Discord shows a reaction on the message before it tells the bots, so later reads see it.
    fn show_reaction(&self, t: &str, d: &Value) {
        let added = match t {
            "MESSAGE_REACTION_ADD" => true,
            "MESSAGE_REACTION_REMOVE" => false,
            _ => return,
        };
        let (Some(user), Some(message), Some(emoji)) = (d["user_id"].as_str(), d["message_id"].as_str(), d["emoji"]["name"].as_str())
        else {
            return;
        };
        let Ok(message) = message.parse::<u64>() else { return };
        self.shared.update(|s| {
            let people = s.reactions.entry((message, emoji.to_string())).or_default();
            if added {
                people.insert(user.to_string());
            } else {
                people.remove(user);
            }
        });
    }

    /// Closes every gateway connection with `code` (4000: the bot should resume).
    pub fn close(&self, code: u16) {
        self.shared.update(|state| {
            for session in state.sessions.drain(..) {
                let _ = session.tx.send(Control::Close(code));
            }
        });
    }

    /// Dispatches a slash command typed by `member`: `path` like `template show`.
    pub fn slash(&self, member: &Value, path: &str, options: &[(&str, &str)]) -> Interaction {
        self.interact(2, member, path, options, None)
    }

    /// A slash command with typed options (a number is a choice's index).
    pub fn slash_with(&self, member: &Value, path: &str, options: &[(&str, Value)]) -> Interaction {
        self.slash_in(payloads::CHANNEL, member, path, options)
    }

    /// A slash command typed in `channel` (a thread, say).
    pub fn slash_in(&self, channel: &str, member: &Value, path: &str, options: &[(&str, Value)]) -> Interaction {
        let id = self.shared.next_id().to_string();
        let token = format!("token-{id}");
        let mut payload = payloads::interaction_with(2, &id, &token, path, options, None, member);
        payload["channel_id"] = Value::from(channel);
        self.dispatch("INTERACTION_CREATE", payload);
        Interaction { id, token, sent_at: Instant::now() }
    }

    /// A slash command Discord created `age` ago and is only now delivering (a slow gateway):
    /// the bot has that much less of Discord's 3 s to acknowledge it.
    pub fn slash_late(&self, member: &Value, path: &str, age: Duration) -> Interaction {
        let id = self.shared.snowflake(SystemTime::now() - age).to_string();
        let token = format!("token-{id}");
        self.dispatch("INTERACTION_CREATE", payloads::interaction(2, &id, &token, path, &[], None, member));
        Interaction { id, token, sent_at: Instant::now() }
    }

    /// Dispatches an autocomplete request while `member` types `focused`.
    pub fn autocomplete(&self, member: &Value, path: &str, options: &[(&str, &str)], focused: &str) -> Interaction {
        self.interact(4, member, path, options, Some(focused))
    }

    fn interact(&self, kind: u8, member: &Value, path: &str, options: &[(&str, &str)], focused: Option<&str>) -> Interaction {
        let id = self.shared.next_id().to_string();
        let token = format!("token-{id}");
        self.dispatch("INTERACTION_CREATE", payloads::interaction(kind, &id, &token, path, options, focused, member));
        Interaction { id, token, sent_at: Instant::now() }
    }

    /// The bot's acknowledgement of `interaction` (its callback body).
    pub async fn callback(&self, interaction: &Interaction) -> Request {
        let path = format!("/interactions/{}/{}/callback", interaction.id, interaction.token);
        self.wait_request(&format!("the callback to {path}"), 1, |r| r.is("POST", &path)).await
    }

    /// The bot's follow-up message to `interaction`.
    pub async fn followup(&self, interaction: &Interaction) -> Request {
        let path = format!("/webhooks/{}/{}", payloads::APP, interaction.token);
        self.wait_request(&format!("a follow-up to {path}"), 1, |r| r.is("POST", &path)).await
    }

    /// Everything the bot sent back for `interaction` as the one message the person sees: the
    /// callback's `data` for an immediate answer, or the follow-up's body after a defer.
    pub async fn answer(&self, interaction: &Interaction) -> Value {
        let callback = self.callback(interaction).await;
        match callback.body["type"].as_u64() {
            Some(5) => self.followup(interaction).await.body,
            _ => callback.body["data"].clone(),
        }
    }

    /// The answers to all of `interactions`, in their order, once every one is answered (either
    /// way, as [`FakeDiscord::answer`] reads them).
    pub async fn answers(&self, interactions: &[Interaction]) -> Vec<Value> {
        let what = format!("answers to {} interactions", interactions.len());
        let mut scan = AnswerScan::default();
        self.wait(&what, |s| {
            scan.update(s);
            interactions.iter().map(|i| scan.answers.get(&i.token).cloned()).collect()
        })
        .await
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
