//! The fake's REST API under `/api/v10`: one handler that records the request, then answers from
//! the fake's state like Discord would. An unknown route answers 404 and says so loudly.

use super::payloads::{self, APP};
use super::ratelimit::{self, RateLimit, Verdict};
use super::state::Request;
use super::Shared;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(super) async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(path) = uri.path().strip_prefix("/api/v10") else {
        return not_found(&method, uri.path());
    };
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (body, files) = match super::multipart::boundary(content_type) {
        Some(boundary) => super::multipart::parse(&body, &boundary),
        None => (serde_json::from_slice(&body).unwrap_or(Value::Null), Vec::new()),
    };
    let request = Request {
        method: method.to_string(),
        path: format!("/{}", segments.join("/")),
        query: uri.query().unwrap_or_default().to_string(),
        body: body.clone(),
        files,
        at: Instant::now(),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if shared.read(|s| s.hang_rest) {
        shared.update(|state| state.requests.push(request));
        return std::future::pending().await;
    }
    let limited = rate_limit(&shared, method.as_str(), &segments);
    if let Some((limit, bucket, Verdict::Limited { retry_after })) = &limited {
        shared.update(|state| {
            state.rate_limited += 1;
            state.requests.push(request);
        });
        return ratelimit::too_many(*limit, bucket, *retry_after);
    }
    let mut response = answer(&shared, method.as_str(), &segments, &uri, &body);
    if let Some((limit, bucket, Verdict::Passed { remaining, reset_after })) = &limited {
        ratelimit::headers(&mut response, *limit, bucket, *remaining, *reset_after);
    }
    shared.update(|state| state.requests.push(request));
    response
}

/// Counts a posted or edited message against its channel's bucket, when the test switched the
/// rate limit on: the limit, the bucket's name and whether the request passes.
fn rate_limit(shared: &Shared, method: &str, segments: &[&str]) -> Option<(RateLimit, String, Verdict)> {
    let limit = shared.read(|s| s.rate_limit)?;
    let channel = ratelimit::limited_channel(method, segments)?;
    let verdict = shared.state.lock().expect("the fake's state lock").buckets.take(limit, method, channel, Instant::now());
    Some((limit, format!("{method}-{channel}"), verdict))
}

fn answer(shared: &Shared, method: &str, segments: &[&str], uri: &Uri, body: &Value) -> Response {
    match (method, segments) {
        ("GET", ["gateway"]) => ok(json!({"url": shared.ws_url})),
        ("GET", ["gateway", "bot"]) => ok(json!({"url": shared.ws_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})),
        ("GET", ["oauth2", "applications", "@me"]) => ok(payloads::app_info()),
        ("GET", ["users", "@me"]) => ok(payloads::user(payloads::BOT, "bellhop")),
        ("PUT", ["applications", APP, "commands"]) | ("PUT", ["applications", APP, "guilds", _, "commands"]) => register(shared, body),
        ("POST", ["interactions", interaction, _, "callback"]) => callback(shared, interaction, body),
        ("POST", ["webhooks", APP, _]) => message_or_refusal(shared, payloads::CHANNEL, body, true),
        ("GET" | "PATCH", ["webhooks", APP, token, "messages", "@original"]) => {
            ok(payloads::message(&shared.original_id(token).to_string(), payloads::CHANNEL, body))
        }
        ("GET" | "PATCH", ["webhooks", APP, _, "messages", message]) => ok(payloads::message(message, payloads::CHANNEL, body)),
        ("DELETE", ["webhooks", APP, _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        ("GET", ["channels", channel]) => channel_info(shared, channel),
        ("POST", ["channels", channel, "messages"]) => rate_limited_post(shared, channel, body),
        ("GET", ["channels", _, "messages", message]) => match shared.read(|s| s.messages.get(&id(message)).cloned()) {
            Some(message) => ok(message),
            None => unknown_message(),
        },
        ("PATCH", ["channels", _, "messages", message]) => edit(shared, message, body),
        ("PUT", ["channels", channel, "messages", message, "reactions", emoji, "@me"]) => {
            shared.update(|s| {
                s.reactions.entry((id(message), emoji.to_string())).or_default().insert(payloads::BOT.to_string());
            });
            // Discord echoes bellhop's own reaction back on the gateway, like anyone's.
            shared.dispatch("MESSAGE_REACTION_ADD", payloads::own_reaction(channel, message, emoji));
            StatusCode::NO_CONTENT.into_response()
        }
        ("DELETE", ["channels", _, "messages", message, "reactions", emoji, user]) => {
            let user = if *user == "@me" { payloads::BOT } else { user };
            shared.update(|s| {
                s.reactions.entry((id(message), emoji.to_string())).or_default().remove(user);
            });
            StatusCode::NO_CONTENT.into_response()
        }
        ("GET", ["channels", _, "messages", message, "reactions", emoji]) => {
            let users = shared.read(|s| s.reactions.get(&(id(message), emoji.to_string())).cloned().unwrap_or_default());
            let users = reactors_page(users, uri);
            // Discord knows its users whether or not they are still members; bots say they are.
            let known = |u: &String| shared.read(|s| s.members.get(u).map(|m| m["user"].clone()).or_else(|| s.users.get(u).cloned()));
            let bellhop = || json!({"id": payloads::BOT, "username": "bellhop", "bot": true});
            let user = |u: &String| if u == payloads::BOT { bellhop() } else { known(u).unwrap_or_else(|| payloads::user(u, "someone")) };
            ok(json!(users.iter().map(user).collect::<Vec<_>>()))
        }
        ("POST", ["channels", parent, "threads"]) => open_thread(shared, parent, None, body),
        ("POST", ["channels", parent, "messages", message, "threads"]) => open_thread(shared, parent, Some(id(message)), body),
        ("GET", ["guilds", _, "members", user]) => match shared.read(|s| s.members.get(*user).cloned()) {
            Some(member) => ok(member),
            None => (StatusCode::NOT_FOUND, Json(payloads::error(10007, "Unknown Member"))).into_response(),
        },
        ("GET", ["users", user]) => {
            match shared.read(|s| s.users.get(*user).cloned().or_else(|| s.members.get(*user).map(|m| m["user"].clone()))) {
                Some(user) => ok(user),
                None => (StatusCode::NOT_FOUND, Json(payloads::error(10013, "Unknown User"))).into_response(),
            }
        }
        ("GET", ["guilds", _, "roles"]) => ok(json!(shared.read(|s| s.roles.clone()))),
        _ => not_found(&method.parse().unwrap_or(Method::GET), &format!("/{}", segments.join("/"))),
    }
}

/// One page of reactors as Discord gives it: in order of their ids, after `after`, at most
/// `limit` (1–100, 25 when not given).
fn reactors_page(users: std::collections::BTreeSet<String>, uri: &Uri) -> Vec<String> {
    let query: HashMap<String, String> = Query::try_from_uri(uri).map(|q| q.0).unwrap_or_default();
    let param = |name: &str| query.get(name).and_then(|v| v.parse::<u64>().ok());
    let limit = param("limit").unwrap_or(25).clamp(1, 100) as usize;
    let after = param("after").unwrap_or(0);
    let mut ids: Vec<u64> = users.iter().filter_map(|u| u.parse().ok()).filter(|u| *u > after).collect();
    ids.sort_unstable();
    ids.into_iter().take(limit).map(|u| u.to_string()).collect()
}

fn register(shared: &Shared, body: &Value) -> Response {
    let commands = body.as_array().cloned().unwrap_or_default();
    let mut problems = super::rules::registration_problems(&commands);
    if shared.read(|s| s.refuse_registration) {
        problems.push("refused by the test".into());
    }
    if !problems.is_empty() {
        shared.update(|s| s.refusals.extend(problems.iter().cloned()));
        return (StatusCode::BAD_REQUEST, Json(payloads::error(50035, "Invalid Form Body"))).into_response();
    }
    let echoed: Vec<Value> = commands.iter().map(|c| payloads::registered(c, &shared.next_id().to_string())).collect();
    shared.update(|state| state.commands = commands);
    ok(json!(echoed))
}

/// One callback per interaction, within 3 s of it, as Discord allows.
fn callback(shared: &Shared, interaction: &str, body: &Value) -> Response {
    let sent = shared.read(|s| s.interactions.get(interaction).copied());
    if sent.is_some_and(|at| at.elapsed() > std::time::Duration::from_secs(3)) {
        shared.update(|s| s.refusals.push(format!("interaction {interaction} acknowledged after 3 s")));
        return (StatusCode::NOT_FOUND, Json(payloads::error(10062, "Unknown interaction"))).into_response();
    }
    let problems = super::rules::message_problems(&body["data"]);
    // Checked and taken in one step: of two callbacks at once (two replicas), one is first.
    let mut refused = None;
    shared.update(|s| {
        if s.acknowledged.contains(interaction) {
            s.refusals.push(format!("interaction {interaction} acknowledged twice"));
            refused = Some((40060, "Interaction has already been acknowledged."));
        } else if !problems.is_empty() {
            s.refusals.extend(problems.iter().cloned());
            refused = Some((50035, "Invalid Form Body"));
        } else {
            s.acknowledged.insert(interaction.to_string());
        }
    });
    match refused {
        None => StatusCode::NO_CONTENT.into_response(),
        Some((code, message)) => (StatusCode::BAD_REQUEST, Json(payloads::error(code, message))).into_response(),
    }
}

fn message_or_refusal(shared: &Shared, channel: &str, body: &Value, webhook: bool) -> Response {
    if shared.read(|s| s.deleted_channels.contains(channel)) {
        return (StatusCode::NOT_FOUND, Json(payloads::error(10003, "Unknown Channel"))).into_response();
    }
    let problems = super::rules::message_problems(body);
    if !problems.is_empty() {
        shared.update(|s| s.refusals.extend(problems));
        return (StatusCode::BAD_REQUEST, Json(payloads::error(50035, "Invalid Form Body"))).into_response();
    }
    ok(shared.create_message(channel, body, webhook))
}

/// A channel post under the test's rate limits: refused with 429 while `refuse_posts` lasts,
/// or accepted with headers saying the bucket is spent, as Discord answers a bot that posts
/// faster than its bucket allows.
fn rate_limited_post(shared: &Shared, channel: &str, body: &Value) -> Response {
    let refused = shared.read(|s| s.rate_limits.refuse_posts > 0);
    if refused {
        const RETRY_AFTER: u64 = 1;
        shared.update(|s| {
            s.rate_limits.refuse_posts -= 1;
            s.refusals.push(format!("a post to {channel} rate limited for {RETRY_AFTER} s"));
        });
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"message": "You are being rate limited.", "retry_after": RETRY_AFTER as f64, "global": false})),
        )
            .into_response();
        spent_bucket(response.headers_mut(), Duration::from_secs(RETRY_AFTER));
        response.headers_mut().insert("retry-after", HeaderValue::from(RETRY_AFTER));
        response.headers_mut().insert("x-ratelimit-scope", HeaderValue::from_static("user"));
        return response;
    }
    let mut response = message_or_refusal(shared, channel, body, false);
    if let Some(spent_for) = shared.read(|s| s.rate_limits.spent_for) {
        spent_bucket(response.headers_mut(), spent_for);
    }
    response
}

/// Discord's headers for a bucket with no request left for `reset_after`.
fn spent_bucket(headers: &mut HeaderMap, reset_after: Duration) {
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + reset_after;
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("an ASCII header value"));
    };
    set("x-ratelimit-limit", "5".into());
    set("x-ratelimit-remaining", "0".into());
    set("x-ratelimit-reset", format!("{:.3}", reset.as_secs_f64()));
    set("x-ratelimit-reset-after", format!("{:.3}", reset_after.as_secs_f64()));
    set("x-ratelimit-bucket", "fake-channel-messages".into());
}

fn edit(shared: &Shared, message: &str, body: &Value) -> Response {
    let Some(old) = shared.read(|s| s.messages.get(&id(message)).cloned()) else { return unknown_message() };
    let problems = super::rules::message_problems(body);
    if !problems.is_empty() {
        shared.update(|s| s.refusals.extend(problems));
        return (StatusCode::BAD_REQUEST, Json(payloads::error(50035, "Invalid Form Body"))).into_response();
    }
    let channel = old["channel_id"].as_str().unwrap_or_default().to_string();
    let edited = payloads::message(message, &channel, body);
    shared.update(|s| {
        s.messages.insert(id(message), edited.clone());
    });
    ok(edited)
}

/// A thread opened from a message has the message's id; a second attempt is refused (160004).
fn open_thread(shared: &Shared, parent: &str, from: Option<u64>, body: &Value) -> Response {
    if shared.read(|s| s.deleted_channels.contains(parent)) {
        return (StatusCode::NOT_FOUND, Json(payloads::error(10003, "Unknown Channel"))).into_response();
    }
    let name = body.get("name").and_then(Value::as_str).unwrap_or("thread");
    let thread_id = from.unwrap_or_else(|| shared.next_id());
    if shared.read(|s| s.threads.contains_key(&thread_id)) {
        return (StatusCode::BAD_REQUEST, Json(payloads::error(160004, "A thread has already been created for this message")))
            .into_response();
    }
    let thread = payloads::thread(&thread_id.to_string(), parent, name);
    shared.update(|s| {
        s.threads.insert(thread_id, thread.clone());
    });
    ok(thread)
}

fn channel_info(shared: &Shared, channel: &str) -> Response {
    if shared.read(|s| s.deleted_channels.contains(channel)) {
        return (StatusCode::NOT_FOUND, Json(payloads::error(10003, "Unknown Channel"))).into_response();
    }
    match shared.read(|s| s.threads.get(&id(channel)).cloned()) {
        Some(thread) => ok(thread),
        None => ok(payloads::text_channel(channel)),
    }
}

fn unknown_message() -> Response {
    (StatusCode::NOT_FOUND, Json(payloads::error(10008, "Unknown Message"))).into_response()
}

fn ok(value: Value) -> Response {
    Json(value).into_response()
}

fn not_found(method: &Method, path: &str) -> Response {
    eprintln!("FAKE DISCORD: no route for {method} {path}; the fake is missing it");
    (StatusCode::NOT_FOUND, Json(payloads::error(0, "404: Not Found"))).into_response()
}

fn id(text: &str) -> u64 {
    text.parse().unwrap_or_default()
}

/// serenity percent-encodes every non-alphanumeric byte of a path segment (emoji).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match hex {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn emoji_segments_are_decoded() {
        assert_eq!(super::percent_decode("%E2%9C%85"), "✅");
        assert_eq!(super::percent_decode("ok%3A123"), "ok:123");
        assert_eq!(super::percent_decode("@me"), "@me");
        assert_eq!(super::percent_decode("50%"), "50%");
    }
}
