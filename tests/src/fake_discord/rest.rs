//! The fake's REST API under `/api/v10`: one handler that records the request, then answers from
//! the fake's state like Discord would. An unknown route answers 404 and says so loudly.

use super::payloads::{self, APP};
use super::state::Request;
use super::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

pub(super) async fn handle(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, body: Bytes) -> Response {
    let Some(path) = uri.path().strip_prefix("/api/v10") else {
        return not_found(&method, uri.path());
    };
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let request = Request {
        method: method.to_string(),
        path: format!("/{}", segments.join("/")),
        query: uri.query().unwrap_or_default().to_string(),
        body: body.clone(),
        at: Instant::now(),
    };
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if shared.read(|s| s.hang_rest) {
        shared.update(|state| state.requests.push(request));
        return std::future::pending().await;
    }
    let response = answer(&shared, method.as_str(), &segments, &body);
    shared.update(|state| state.requests.push(request));
    response
}

fn answer(shared: &Shared, method: &str, segments: &[&str], body: &Value) -> Response {
    match (method, segments) {
        ("GET", ["gateway"]) => ok(json!({"url": shared.ws_url})),
        ("GET", ["gateway", "bot"]) => ok(json!({"url": shared.ws_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})),
        ("GET", ["oauth2", "applications", "@me"]) => ok(payloads::app_info()),
        ("PUT", ["applications", APP, "commands"]) | ("PUT", ["applications", APP, "guilds", _, "commands"]) => {
            if shared.read(|s| s.refuse_registration) {
                return (StatusCode::BAD_REQUEST, Json(payloads::error(50035, "Invalid Form Body"))).into_response();
            }
            let commands = body.as_array().cloned().unwrap_or_default();
            let echoed: Vec<Value> = commands.iter().map(|c| payloads::registered(c, &shared.next_id().to_string())).collect();
            shared.update(|state| state.commands = commands);
            ok(json!(echoed))
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["webhooks", APP, _]) => ok(shared.create_message(payloads::CHANNEL, body)),
        ("GET" | "PATCH", ["webhooks", APP, _, "messages", _]) => {
            ok(payloads::message(&shared.next_id().to_string(), payloads::CHANNEL, body))
        }
        ("DELETE", ["webhooks", APP, _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["channels", channel, "messages"]) => ok(shared.create_message(channel, body)),
        ("GET", ["channels", _, "messages", message]) => match shared.read(|s| s.messages.get(&id(message)).cloned()) {
            Some(message) => ok(message),
            None => (StatusCode::NOT_FOUND, Json(payloads::error(10008, "Unknown Message"))).into_response(),
        },
        ("PUT", ["channels", _, "messages", message, "reactions", emoji, "@me"]) => {
            shared.update(|s| {
                s.reactions.entry((id(message), emoji.to_string())).or_default().insert(payloads::BOT.to_string());
            });
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
            ok(json!(users.iter().map(|u| payloads::user(u, "someone")).collect::<Vec<_>>()))
        }
        ("POST", ["channels", parent, "threads"]) | ("POST", ["channels", parent, "messages", _, "threads"]) => {
            let name = body.get("name").and_then(Value::as_str).unwrap_or("thread");
            ok(payloads::thread(&shared.next_id().to_string(), parent, name))
        }
        ("GET", ["guilds", _, "members", user]) => match shared.read(|s| s.members.get(*user).cloned()) {
            Some(member) => ok(member),
            None => (StatusCode::NOT_FOUND, Json(payloads::error(10007, "Unknown Member"))).into_response(),
        },
        ("GET", ["guilds", _, "roles"]) => ok(json!(shared.read(|s| s.roles.clone()))),
        _ => not_found(&method.parse().unwrap_or(Method::GET), &format!("/{}", segments.join("/"))),
    }
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
