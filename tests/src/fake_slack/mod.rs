//! A fake Slack on 127.0.0.1 that the real slack-morphism client talks to: the Web API under
//! `/api/<method>` and `response_url`s (axum), and Socket Mode (tokio-tungstenite). It keeps a
//! workspace's state, enforces Slack's token rules and limits, records every call and ack, and
//! lets tests send slash commands and reactions and wait for what the bot does, never sleeping.

mod api;
pub mod payloads;
mod socket;
mod state;
#[cfg(test)]
mod tests;

pub use state::{Ack, Call, Channel, Envelope, Ephemeral, Message, Origin, State, User, APP_ID, BOT_ID, BOT_USER, COMMAND, TEAM};

use state::Control;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// How long the fake's own waits (a slash command waiting for a socket) last before failing.
pub const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Shared {
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    /// `http://127.0.0.1:P`, for `response_url`s.
    http: String,
    /// `ws://127.0.0.1:Q`, for `apps.connections.open`.
    ws: String,
    tasks: Mutex<Vec<AbortHandle>>,
    /// Set when the fake is dropped: the Web API closes its connections, kept-alive ones too.
    stopped: watch::Sender<bool>,
}

impl Shared {
    fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let value = f(&mut self.state.lock().expect("the fake's state lock"));
        self.changed.send_modify(|version| *version += 1);
        value
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.state.lock().expect("the fake's state lock"))
    }

    /// Runs `task` until the fake is dropped.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task).abort_handle();
        let mut tasks = self.tasks.lock().expect("the fake's task list");
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// Waits until `found` returns something, woken by each change of the state; `None` when
    /// `within` passes first.
    async fn wait<T>(&self, within: Duration, mut found: impl FnMut(&State) -> Option<T>) -> Option<T> {
        let mut changed = self.changed.subscribe();
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
}

/// Stops the servers and every connection when the last handle goes.
struct Running {
    shared: Arc<Shared>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shared.stopped.send_replace(true);
        for task in self.shared.tasks.lock().expect("the fake's task list").drain(..) {
            task.abort();
        }
    }
}

/// A handle on the fake; clones share it, and dropping the last one stops it.
#[derive(Clone)]
pub struct FakeSlack {
    running: Arc<Running>,
}

impl FakeSlack {
    /// The bot token (`xoxb-`) every Web API method but `apps.connections.open` requires.
    pub const BOT_TOKEN: &'static str = "xoxb-fake-bot";
    /// The app-level token (`xapp-`) `apps.connections.open` requires.
    pub const APP_TOKEN: &'static str = "xapp-fake-app";

    /// The fake with its fixtures, listening on two ports of 127.0.0.1 (HTTP and WebSocket).
    pub async fn start() -> FakeSlack {
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake's Web API");
        let ws = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake's Socket Mode");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::with_fixtures()),
            changed: watch::channel(0).0,
            http: format!("http://{}", http.local_addr().expect("the Web API's address")),
            ws: format!("ws://{}", ws.local_addr().expect("the socket's address")),
            tasks: Mutex::new(Vec::new()),
            stopped: watch::channel(false).0,
        });
        let app = axum::Router::new().fallback(api::handle).with_state(shared.clone());
        let mut stopped = shared.stopped.subscribe();
        // Not aborted with the other tasks: a graceful shutdown also ends the connections axum
        // spawned, which a client's pool would otherwise keep using.
        tokio::spawn(async move {
            let _ = axum::serve(http, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|stopped| *stopped).await;
                })
                .await;
        });
        shared.spawn(socket::serve(ws, shared.clone()));
        FakeSlack { running: Arc::new(Running { shared }) }
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.running.shared
    }

    /// `http://127.0.0.1:P/api`, without a trailing slash (the client adds `/<method>`).
    pub fn api_base(&self) -> String {
        format!("{}/api", self.shared().http)
    }

    /// Reads the state as it is now.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.shared().read(f)
    }

    // ---- The workspace ----

    /// Sets the members of user group `group` (creating it).
    pub fn set_group(&self, group: &str, users: &[&str]) {
        self.shared().update(|s| {
            s.groups.insert(group.to_string(), users.iter().map(|u| u.to_string()).collect());
        });
    }

    /// Deletes `channel`: every method naming it answers `channel_not_found`.
    pub fn delete_channel(&self, channel: &str) {
        self.shared().update(|s| s.channels.get_mut(channel).expect("a fixture channel").deleted = true);
    }

    /// Archives `channel`: posts there answer `is_archived`.
    pub fn archive_channel(&self, channel: &str) {
        self.shared().update(|s| s.channels.get_mut(channel).expect("a fixture channel").archived = true);
    }

    /// Removes `user` from the workspace: `users.info` answers `user_not_found`.
    pub fn remove_user(&self, user: &str) {
        self.shared().update(|s| {
            let user = s.users.get_mut(user).expect("a fixture user");
            user.removed = true;
            user.deleted = true;
        });
    }

    /// Deactivates `user`, as Slack does with someone who left: `users.info` still answers, with
    /// `deleted: true`.
    pub fn deactivate_user(&self, user: &str) {
        self.shared().update(|s| s.users.get_mut(user).expect("a fixture user").deleted = true);
    }

    /// The next call of `method` is answered 429 with `Retry-After: retry_after_s`.
    pub fn rate_limit_next(&self, method: &str, retry_after_s: u64) {
        self.shared().update(|s| s.rate_limits.entry(method.to_string()).or_default().push_back(retry_after_s));
    }

    /// A message `user` posts in `channel` (not the bot's: `chat.update` refuses it); its ts.
    pub fn post_as(&self, user: &str, channel: &str, text: &str) -> String {
        self.shared().update(|s| s.post(channel, state::message(user, text, serde_json::Value::Null, None, Origin::Person)))
    }

    // ---- Socket Mode ----

    /// How long Slack waits for an ack before it retries an event (3 s, like Slack).
    pub fn set_ack_timeout(&self, timeout: Duration) {
        self.shared().update(|s| s.ack_timeout = timeout);
    }

    /// Waits until at least one socket is open (its `hello` sent); false after `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.shared().wait(timeout, |s| (!s.sockets.is_empty()).then_some(())).await.is_some()
    }

    /// How many `apps.connections.open` calls succeeded.
    pub fn connections_opened(&self) -> usize {
        self.read(|s| s.connections_opened)
    }

    /// How many sockets are open now.
    pub fn open_sockets(&self) -> usize {
        self.read(|s| s.sockets.len())
    }

    /// `user` types `/bellhop <text>` in `channel`; the envelope goes to one open socket (waiting
    /// up to [`WAIT`] for one). Slack does not retry slash commands: an ack later than the ack
    /// timeout is recorded in [`State::timed_out`] (the person sees `operation_timeout`).
    pub async fn slash(&self, user: &str, channel: &str, text: &str) -> Envelope {
        socket::slash(self.shared(), user, channel, text).await
    }

    /// `user` adds (or removes) reaction `name` on message `ts`: the message's reactions change,
    /// and a `reaction_added` / `reaction_removed` event goes to one socket if one is open. `None`
    /// when none is (the reaction is only in the state, as while bellhop is down) or when there
    /// was nothing to change (the user had already reacted so).
    pub async fn react(&self, user: &str, channel: &str, ts: &str, name: &str, added: bool) -> Option<Envelope> {
        let changed = self.shared().update(|s| {
            assert!(s.message(channel, ts).is_some(), "react: no message {ts} in {channel}");
            s.set_reaction(channel, ts, name, user, added)
        });
        if !changed {
            return None;
        }
        socket::reaction(self.shared(), user, channel, ts, name, added)
    }

    /// Delivers `envelope` again to one socket: an event with `retry_attempt` one more and
    /// `retry_reason: "timeout"` (same `event_id`), a slash command unchanged.
    pub async fn redeliver(&self, envelope: &Envelope) {
        socket::redeliver(self.shared(), &envelope.envelope_id);
    }

    /// Closes every socket with a Close frame and waits until they are gone; the client then
    /// opens new ones.
    pub async fn disconnect_all(&self) {
        self.to_all_sockets(|| Control::Close).await;
    }

    /// Sends every socket a `disconnect` frame (`reason` like `refresh_requested`), after which the
    /// client opens a new connection and closes the old one; waits until the old ones are gone.
    pub async fn refresh_all(&self, reason: &str) {
        self.to_all_sockets(|| Control::Disconnect(reason.to_string())).await;
    }

    async fn to_all_sockets(&self, control: impl Fn() -> Control) {
        let ids: Vec<u64> = self.shared().update(|s| {
            for socket in &s.sockets {
                let _ = socket.tx.send(control());
            }
            s.sockets.iter().map(|socket| socket.id).collect()
        });
        let gone = self.shared().wait(WAIT, |s| (!s.sockets.iter().any(|socket| ids.contains(&socket.id))).then_some(())).await;
        assert!(gone.is_some(), "the sockets did not close within {WAIT:?}");
    }

    /// Every ack bellhop sent, in order.
    pub fn acks(&self) -> Vec<Ack> {
        self.read(|s| s.acks.clone())
    }

    /// Waits for the first ack of `envelope_id`.
    pub async fn wait_ack(&self, envelope_id: &str, timeout: Duration) -> Option<Ack> {
        self.shared().wait(timeout, |s| s.acks.iter().find(|a| a.envelope_id == envelope_id).cloned()).await
    }

    /// Waits until a delivery of `envelope_id` has gone unacked for the ack timeout (a slash
    /// command's person then sees `operation_timeout`; an event is delivered again).
    pub async fn wait_timed_out(&self, envelope_id: &str, timeout: Duration) -> bool {
        self.shared().wait(timeout, |s| s.timed_out.iter().any(|id| id == envelope_id).then_some(())).await.is_some()
    }

    // ---- What bellhop did ----

    /// The bodies POSTed to `envelope`'s `response_url`, in order.
    pub fn responses(&self, envelope: &Envelope) -> Vec<serde_json::Value> {
        self.read(|s| s.responses.get(&envelope.response_id).cloned().unwrap_or_default())
    }

    /// Waits for the first body POSTed to `envelope`'s `response_url`.
    pub async fn wait_response(&self, envelope: &Envelope, timeout: Duration) -> Option<serde_json::Value> {
        self.shared().wait(timeout, |s| s.responses.get(&envelope.response_id).and_then(|r| r.first().cloned())).await
    }

    /// The messages in `channel` (thread replies included), in posting order, as they are now.
    pub fn messages(&self, channel: &str) -> Vec<Message> {
        self.read(|s| s.messages.get(channel).cloned().unwrap_or_default())
    }

    /// Waits for a message in `channel` that satisfies `pred` (checked again after each change,
    /// so an edit can make one match).
    pub async fn wait_message(&self, channel: &str, pred: impl Fn(&Message) -> bool, timeout: Duration) -> Option<Message> {
        self.shared().wait(timeout, |s| s.messages.get(channel)?.iter().find(|m| pred(m)).cloned()).await
    }

    /// Ephemeral messages (`chat.postEphemeral`, ephemeral responses and acks), in order.
    pub fn ephemerals(&self) -> Vec<Ephemeral> {
        self.read(|s| s.ephemerals.clone())
    }

    /// Every Web API call, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.read(|s| s.calls.clone())
    }
}
