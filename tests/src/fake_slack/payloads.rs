//! The JSON the fake sends: Socket Mode frames and Web API objects, with every key Slack sends
//! that slack-morphism requires (a missing one turns an event into `Unknown` or skips the
//! callback while still acking it).

use super::state::{Channel, User, APP_ID, BOT_ID, BOT_USER, COMMAND, TEAM};
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

pub const HOST: &str = "fake-applink";

pub fn hello(num_connections: usize) -> Value {
    json!({"type": "hello", "num_connections": num_connections, "connection_info": {"app_id": APP_ID},
        "debug_info": {"host": HOST, "build_number": 1, "approximate_connection_time": 18060}})
}

/// Without `debug_info.host` the client ignores the frame and never reconnects.
pub fn disconnect(reason: &str) -> Value {
    json!({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
}

/// The parts of a slash command a test chooses.
pub struct Slash<'a> {
    pub envelope_id: &'a str,
    pub user: &'a User,
    pub channel: &'a Channel,
    pub text: &'a str,
    pub response_url: &'a str,
    pub trigger_id: &'a str,
}

/// A `slash_commands` envelope; its `response_url` must be an absolute URL.
pub fn slash(s: &Slash) -> Value {
    json!({"envelope_id": s.envelope_id, "type": "slash_commands", "accepts_response_payload": true,
        "payload": {"token": "legacy", "team_id": TEAM, "team_domain": "fake", "channel_id": s.channel.id,
            "channel_name": s.channel.name, "user_id": s.user.id, "user_name": s.user.name, "command": COMMAND,
            "text": s.text, "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": s.response_url, "trigger_id": s.trigger_id}})
}

/// A reaction on a message, as its `reaction_added` / `reaction_removed` event.
pub struct Reaction<'a> {
    pub user: &'a str,
    pub name: &'a str,
    pub channel: &'a str,
    pub ts: &'a str,
    /// Who posted the reacted message.
    pub item_user: &'a str,
    pub added: bool,
}

/// An `events_api` envelope around a reaction event. `event_time` must be an integer and
/// `event_ts` a string, `item.type` is required: otherwise the event arrives as `Unknown`.
pub fn reaction(envelope_id: &str, event_id: &str, r: &Reaction) -> Value {
    let (secs, micros) = now();
    let kind = if r.added { "reaction_added" } else { "reaction_removed" };
    let event = json!({"type": kind, "user": r.user, "reaction": r.name, "item_user": r.item_user,
        "item": {"type": "message", "channel": r.channel, "ts": r.ts}, "event_ts": format!("{secs}.{micros:06}")});
    events_api(envelope_id, event_id, secs, event)
}

fn events_api(envelope_id: &str, event_id: &str, event_time: u64, event: Value) -> Value {
    json!({"envelope_id": envelope_id, "type": "events_api", "accepts_response_payload": false,
        "retry_attempt": 0, "retry_reason": "",
        "payload": {"token": "legacy", "team_id": TEAM, "api_app_id": APP_ID, "type": "event_callback",
            "event_id": event_id, "event_time": event_time, "event_context": format!("ctx-{event_id}"),
            "authorizations": [{"enterprise_id": null, "team_id": TEAM, "user_id": BOT_USER, "is_bot": true,
                "is_enterprise_install": false}],
            "is_ext_shared_channel": false, "event": event}})
}

/// The same envelope delivered again: events say which attempt and why; slash commands do not.
pub fn retried(frame: &Value, attempt: u32) -> Value {
    let mut frame = frame.clone();
    if frame["type"] == "events_api" {
        frame["retry_attempt"] = json!(attempt);
        frame["retry_reason"] = json!(if attempt == 0 { "" } else { "timeout" });
    }
    frame
}

pub fn user(u: &User) -> Value {
    let mut user = json!({"id": u.id, "team_id": TEAM, "name": u.name, "real_name": u.name, "deleted": u.deleted,
        "is_bot": u.is_bot, "is_app_user": false, "is_admin": false, "is_owner": false, "tz": "Europe/Berlin",
        "profile": {"display_name": u.name, "real_name": u.name, "real_name_normalized": u.name}});
    if u.id == BOT_USER {
        user["profile"]["bot_id"] = json!(BOT_ID);
    }
    user
}

pub fn channel(c: &Channel) -> Value {
    json!({"id": c.id, "name": c.name, "created": 1_700_000_000, "is_channel": true, "is_private": false,
        "is_archived": c.archived, "is_member": true, "is_general": false})
}

pub fn auth_test() -> Value {
    json!({"ok": true, "url": "https://fake.slack.com/", "team": "Fake", "user": "bellhop", "team_id": TEAM,
        "user_id": BOT_USER, "bot_id": BOT_ID, "is_enterprise_install": false})
}

/// The seconds and microseconds since 1970, for `event_time` and `event_ts`.
fn now() -> (u64, u32) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (now.as_secs(), now.subsec_micros())
}
