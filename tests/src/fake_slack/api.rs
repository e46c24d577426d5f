//! The Web API under `/api/<method>` and the `response_url`s under `/response/<id>`: one handler
//! that records the call, checks the token and any rate limit a test set, then answers from the
//! state as Slack does: 200 with `ok:false` and an `error` for a refused call, always JSON.

use super::payloads;
use super::socket;
use super::state::{self, Call, Ephemeral, Origin, State, BOT_USER};
use super::{FakeSlack, Shared};
use axum::body::Bytes;
use axum::extract::{Query, State as Axum};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Slack shows at most this many characters of `text`; the fake refuses more.
const MAX_TEXT: usize = 4000;
const MAX_BLOCKS: usize = 50;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2000;
const MAX_HEADER_TEXT: usize = 150;
/// A `response_url` takes at most this many posts.
const MAX_RESPONSES: usize = 5;

/// A refused call: the whole `ok:false` body.
type Answer = Result<Value, Value>;

pub(super) async fn handle(Axum(shared): Axum<Arc<Shared>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    if let Some(method) = path.strip_prefix("/api/") {
        return api(&shared, method, &uri, &headers, &body);
    }
    if let Some(id) = path.strip_prefix("/response/") {
        return response_url(&shared, id, &body);
    }
    eprintln!("fake Slack: UNKNOWN PATH {path}");
    (StatusCode::NOT_FOUND, Json(json!({"ok": false, "error": "unknown_path"}))).into_response()
}

fn api(shared: &Arc<Shared>, method: &str, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Response {
    let query: HashMap<String, String> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let mut params: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => fields,
        _ if body.is_empty() => Map::new(),
        _ => {
            eprintln!("fake Slack: {method} sent a body that is not a JSON object: {}", String::from_utf8_lossy(body));
            Map::new()
        }
    };
    for (key, value) in query {
        params.entry(key).or_insert(Value::String(value));
    }
    let params = Value::Object(params);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let call =
        Call { method: method.to_string(), auth: auth.clone(), query: uri.query().unwrap_or_default().to_string(), body: params.clone() };
    let limited = shared.update(|s| {
        s.calls.push(call);
        s.rate_limits.get_mut(method).and_then(|waits| waits.pop_front())
    });
    if let Some(retry_after) = limited {
        let body = Json(json!({"ok": false, "error": "ratelimited"}));
        return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", retry_after.to_string())], body).into_response();
    }
    let answer = match check_token(method, auth.as_deref()) {
        Err(code) => Err(fail(code)),
        Ok(()) => answer(shared, method, &params),
    };
    Json(answer.unwrap_or_else(|refusal| refusal)).into_response()
}

/// `apps.connections.open` takes the app token, everything else the bot token.
fn check_token(method: &str, auth: Option<&str>) -> Result<(), &'static str> {
    let (wanted, wrong_kind) =
        if method == "apps.connections.open" { (FakeSlack::APP_TOKEN, "xoxb-") } else { (FakeSlack::BOT_TOKEN, "xapp-") };
    match auth.map(|a| a.strip_prefix("Bearer ")) {
        None => Err("not_authed"),
        Some(Some(token)) if token == wanted => Ok(()),
        Some(Some(token)) if token.starts_with(wrong_kind) => Err("not_allowed_token_type"),
        Some(_) => Err("invalid_auth"),
    }
}

fn answer(shared: &Arc<Shared>, method: &str, p: &Value) -> Answer {
    match method {
        "auth.test" => Ok(payloads::auth_test()),
        "apps.connections.open" => Ok(shared.update(|s| {
            let ticket = format!("ticket-{}", s.next_id());
            s.tickets.push(ticket.clone());
            s.connections_opened += 1;
            json!({"ok": true, "url": format!("{}/link/?ticket={ticket}&app_id={}", shared.ws, state::APP_ID)})
        })),
        "chat.postMessage" => shared.update(|s| post_message(s, p)),
        "chat.update" => shared.update(|s| update(s, p)),
        "chat.postEphemeral" => shared.update(|s| post_ephemeral(s, p)),
        "reactions.add" | "reactions.remove" => react(shared, p, method == "reactions.add"),
        "reactions.get" => shared.read(|s| reactions(s, p)),
        "conversations.info" => shared.read(|s| -> Answer {
            let channel = s.channel(text(p, "channel")).ok_or_else(|| fail("channel_not_found"))?;
            Ok(json!({"ok": true, "channel": payloads::channel(channel)}))
        }),
        "users.info" => shared.read(|s| match s.users.get(text(p, "user")).filter(|u| !u.removed) {
            Some(user) => Ok(json!({"ok": true, "user": payloads::user(user)})),
            None => Err(fail("user_not_found")),
        }),
        "usergroups.users.list" => shared.read(|s| match s.groups.get(text(p, "usergroup")) {
            Some(users) => Ok(json!({"ok": true, "users": users})),
            None => Err(fail("no_such_subteam")),
        }),
        _ => {
            eprintln!("fake Slack: UNKNOWN METHOD {method} (params {p}) — answered unknown_method");
            shared.update(|s| s.unknown_methods.push(method.to_string()));
            Err(fail("unknown_method"))
        }
    }
}

fn post_message(s: &mut State, p: &Value) -> Answer {
    let channel = open_channel(s, p)?;
    let (text, blocks) = content(p)?;
    let thread_ts = p["thread_ts"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
    let ts = s.post(&channel, state::message(BOT_USER, &text, blocks.clone(), thread_ts.clone(), Origin::Api));
    let mut message = json!({"type": "message", "ts": ts, "text": text, "user": BOT_USER, "bot_id": state::BOT_ID});
    if !blocks.is_null() {
        message["blocks"] = blocks;
    }
    if let Some(thread_ts) = thread_ts {
        message["thread_ts"] = json!(thread_ts);
    }
    Ok(json!({"ok": true, "channel": channel, "ts": ts, "message": message}))
}

/// Slack keeps a message's blocks when an update has none (an empty array removes them).
fn update(s: &mut State, p: &Value) -> Answer {
    let channel = open_channel(s, p)?;
    let ts = text(p, "ts").to_string();
    let message = s.message(&channel, &ts).ok_or_else(|| fail("message_not_found"))?;
    if message.user != BOT_USER {
        return Err(fail("cant_update_message"));
    }
    let (text, blocks) = content(p)?;
    let message = s.message_mut(&channel, &ts).ok_or_else(|| fail("message_not_found"))?;
    message.text = text.clone();
    if !blocks.is_null() {
        message.blocks = blocks;
    }
    message.edits += 1;
    Ok(
        json!({"ok": true, "channel": channel, "ts": ts, "text": text, "message": {"type": "message", "text": text, "user": BOT_USER, "bot_id": state::BOT_ID}}),
    )
}

fn post_ephemeral(s: &mut State, p: &Value) -> Answer {
    let channel = open_channel(s, p)?;
    let user = text(p, "user").to_string();
    if !s.users.get(&user).is_some_and(|u| !u.removed && !u.deleted) {
        return Err(fail("user_not_in_channel"));
    }
    let (text, blocks) = content(p)?;
    let thread_ts = p["thread_ts"].as_str().map(str::to_string);
    s.ephemerals.push(Ephemeral { channel, user, text, blocks, thread_ts });
    Ok(json!({"ok": true, "message_ts": s.next_ts()}))
}

/// bellhop's own reaction comes back as an event whose `user` is the bot, as Slack sends it.
fn react(shared: &Arc<Shared>, p: &Value, added: bool) -> Answer {
    let (channel, ts, name) = shared.update(|s| -> Result<(String, String, String), Value> {
        let channel = known_channel(s, p)?;
        let (ts, name) = (text(p, "timestamp").to_string(), text(p, "name").to_string());
        if name.is_empty() {
            return Err(fail("invalid_name"));
        }
        if s.message(&channel, &ts).is_none() {
            return Err(fail("message_not_found"));
        }
        if !s.set_reaction(&channel, &ts, &name, BOT_USER, added) {
            return Err(fail(if added { "already_reacted" } else { "no_reaction" }));
        }
        Ok((channel, ts, name))
    })?;
    socket::reaction(shared, BOT_USER, &channel, &ts, &name, added);
    Ok(json!({"ok": true}))
}

/// `count` is the true total; `users` is the full list (bellhop asks with `full=true`).
fn reactions(s: &State, p: &Value) -> Answer {
    let channel = known_channel(s, p)?;
    let message = s.message(&channel, text(p, "timestamp")).ok_or_else(|| fail("message_not_found"))?;
    let mut body = json!({"type": "message", "ts": message.ts, "text": message.text, "user": message.user});
    if message.user == BOT_USER {
        body["bot_id"] = json!(state::BOT_ID);
    }
    if !message.reactions.is_empty() {
        let reactions: Vec<Value> =
            message.reactions.iter().map(|(name, users)| json!({"name": name, "users": users, "count": users.len()})).collect();
        body["reactions"] = json!(reactions);
    }
    Ok(json!({"ok": true, "type": "message", "channel": channel, "message": body}))
}

fn known_channel(s: &State, p: &Value) -> Result<String, Value> {
    s.channel(text(p, "channel")).map(|c| c.id.clone()).ok_or_else(|| fail("channel_not_found"))
}

/// A channel one can post in.
fn open_channel(s: &State, p: &Value) -> Result<String, Value> {
    let channel = s.channel(text(p, "channel")).ok_or_else(|| fail("channel_not_found"))?;
    if channel.archived {
        return Err(fail("is_archived"));
    }
    Ok(channel.id.clone())
}

/// A message's `text` and `blocks` (`Null` when none), within Slack's limits.
fn content(p: &Value) -> Result<(String, Value), Value> {
    let text = p["text"].as_str().unwrap_or_default().to_string();
    let blocks = match &p["blocks"] {
        // Form-encoded clients send the blocks as a JSON string.
        Value::String(json) => serde_json::from_str(json).map_err(|_| fail("invalid_blocks_format"))?,
        blocks => blocks.clone(),
    };
    if text.is_empty() && blocks.as_array().is_none_or(Vec::is_empty) {
        return Err(fail("no_text"));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(fail("msg_too_long"));
    }
    let errors = block_errors(&blocks);
    if !errors.is_empty() {
        return Err(json!({"ok": false, "error": "invalid_blocks", "errors": errors}));
    }
    Ok((text, blocks))
}

/// What Slack says about blocks over its limits, in its words.
fn block_errors(blocks: &Value) -> Vec<String> {
    let Some(blocks) = blocks.as_array() else { return Vec::new() };
    if blocks.len() > MAX_BLOCKS {
        return vec![format!("no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")];
    }
    let too_long = |value: &Value, max: usize, pointer: String| {
        let length = value.as_str().map_or(0, |t| t.chars().count());
        (length > max).then(|| format!("must be less than {} characters [json-pointer:{pointer}]", max + 1))
    };
    let mut errors = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        match block["type"].as_str() {
            Some("section") => {
                errors.extend(too_long(&block["text"]["text"], MAX_SECTION_TEXT, format!("/blocks/{i}/text/text")));
                let fields = block["fields"].as_array().map(Vec::as_slice).unwrap_or_default();
                if fields.len() > MAX_FIELDS {
                    errors.push(format!("no more than {MAX_FIELDS} items allowed [json-pointer:/blocks/{i}/fields]"));
                }
                for (j, field) in fields.iter().enumerate() {
                    errors.extend(too_long(&field["text"], MAX_FIELD_TEXT, format!("/blocks/{i}/fields/{j}/text")));
                }
            }
            Some("header") => errors.extend(too_long(&block["text"]["text"], MAX_HEADER_TEXT, format!("/blocks/{i}/text/text"))),
            _ => {}
        }
    }
    errors
}

/// A post to a slash command's `response_url` (no token): recorded, and shown as Slack shows it.
fn response_url(shared: &Shared, id: &str, body: &Bytes) -> Response {
    let body: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        eprintln!("fake Slack: a response_url body that is not JSON: {}", String::from_utf8_lossy(body));
        Value::Null
    });
    let answer = shared.update(|s| {
        let Some(sent) = s.sent.get(id).filter(|sent| sent.frame["type"] == "slash_commands") else {
            eprintln!("fake Slack: a post to an unknown response_url /response/{id}");
            return Err((StatusCode::NOT_FOUND, "no_active_hooks"));
        };
        let (channel, user) = (sent.channel.clone(), sent.user.clone());
        let responses = s.responses.entry(id.to_string()).or_default();
        responses.push(body.clone());
        if responses.len() > MAX_RESPONSES {
            return Err((StatusCode::OK, "used_url"));
        }
        if body["delete_original"].as_bool() == Some(true) {
            if let Some(messages) = s.messages.get_mut(&channel) {
                messages.retain(|m| m.response_id.as_deref() != Some(id));
            }
        } else {
            socket::show_answer(s, &channel, &user, &body, Origin::ResponseUrl, Some(id));
        }
        Ok(())
    });
    match answer {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err((status, error)) => (status, Json(json!({"ok": false, "error": error}))).into_response(),
    }
}

fn text<'a>(p: &'a Value, key: &str) -> &'a str {
    p[key].as_str().unwrap_or_default()
}

fn fail(code: &str) -> Value {
    json!({"ok": false, "error": code})
}
