//! Socket Mode: one task per WebSocket that sends `hello`, reads all the time (so the client's
//! pings are answered) and records acks; envelopes go to one socket each, round-robin, and an
//! event not acked in time is delivered again, as Slack does.

use super::payloads::{self, Reaction, Slash};
use super::state::{self, Ack, Control, Envelope, Ephemeral, Origin, Sent, Socket, State, BOT_USER};
use super::{Shared, WAIT};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Slack retries an unacked event at most this many times.
const MAX_RETRIES: u32 = 3;

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let task = shared.clone();
        shared.spawn(async move {
            let checker = task.clone();
            // A ticket from `apps.connections.open` opens one connection, once. The error type
            // is tungstenite's.
            #[allow(clippy::result_large_err)]
            let check = move |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
                let query = request.uri().query().unwrap_or_default();
                let ticket = query.split('&').find_map(|pair| pair.strip_prefix("ticket=")).unwrap_or_default().to_string();
                let known = checker.update(|s| s.tickets.iter().position(|t| *t == ticket).map(|i| s.tickets.remove(i)));
                if known.is_some() {
                    return Ok(response);
                }
                eprintln!("fake Slack: refused a WebSocket with an unknown ticket: {}", request.uri());
                let mut refusal = ErrorResponse::new(Some("invalid ticket".into()));
                *refusal.status_mut() = StatusCode::UNAUTHORIZED;
                Err(refusal)
            };
            if let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, check).await {
                connection(ws, task).await;
            }
        });
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connection(ws: Ws, shared: Arc<Shared>) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (id, open) = shared.update(|s| (s.next_id(), s.sockets.len()));
    if sink.send(Message::Text(payloads::hello(open + 1).to_string())).await.is_err() {
        return;
    }
    shared.update(|s| s.sockets.push(Socket { id, tx }));
    loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => on_frame(&shared, &text),
                Some(Ok(Message::Binary(_))) => eprintln!("fake Slack: a binary frame from the client (Slack sends and expects text)"),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            control = rx.recv() => match control {
                Some(Control::Send(text)) => {
                    if sink.send(Message::Text(text)).await.is_err() {
                        break;
                    }
                }
                Some(Control::Disconnect(reason)) => {
                    if sink.send(Message::Text(payloads::disconnect(&reason).to_string())).await.is_err() {
                        break;
                    }
                    // Slack sends nothing more on a socket it asked the client to leave.
                    shared.update(|s| s.sockets.retain(|socket| socket.id != id));
                }
                Some(Control::Close) | None => {
                    let close = CloseFrame { code: CloseCode::Normal, reason: "closed by the test".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
            },
        }
    }
    shared.update(|s| s.sockets.retain(|socket| socket.id != id));
}

/// Records an ack; a slash command's ack payload shows up as Slack shows it.
fn on_frame(shared: &Shared, text: &str) {
    let frame: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let Some(envelope_id) = frame["envelope_id"].as_str() else {
        eprintln!("fake Slack: a frame from the client that is not an ack: {text}");
        return;
    };
    shared.update(|s| {
        let payload = frame.get("payload").cloned();
        let Some(sent) = s.sent.get_mut(envelope_id) else {
            eprintln!("fake Slack: an ack for an envelope it never sent: {text}");
            return;
        };
        let first = !sent.acked;
        sent.acked = true;
        let ack = Ack { envelope_id: envelope_id.to_string(), latency: sent.sent_at.elapsed(), payload, retry_attempt: sent.attempt };
        let (channel, user, is_slash) = (sent.channel.clone(), sent.user.clone(), sent.frame["type"] == "slash_commands");
        if first && is_slash {
            if let Some(payload) = &ack.payload {
                show_answer(s, &channel, &user, payload, Origin::Ack, None);
            }
        }
        s.acks.push(ack);
    });
}

/// An answer to a slash command (ack payload or `response_url` body), shown as Slack shows it:
/// `in_channel` as a message in the channel, otherwise (the default) to the person only.
pub(super) fn show_answer(s: &mut State, channel: &str, user: &str, body: &Value, origin: Origin, response_id: Option<&str>) {
    let text = body["text"].as_str().unwrap_or_default();
    let blocks = body.get("blocks").cloned().unwrap_or(Value::Null);
    if text.is_empty() && blocks.as_array().is_none_or(Vec::is_empty) {
        return;
    }
    if body["response_type"] != "in_channel" {
        let thread_ts = body["thread_ts"].as_str().map(str::to_string);
        s.ephemerals.push(Ephemeral { channel: channel.into(), user: user.into(), text: text.into(), blocks, thread_ts });
        return;
    }
    let replace = body["replace_original"].as_bool().unwrap_or(false);
    let original = s.messages.get_mut(channel).and_then(|m| m.iter_mut().rev().find(|m| m.response_id.as_deref() == response_id));
    match original {
        Some(message) if replace && response_id.is_some() => {
            message.text = text.to_string();
            message.blocks = blocks;
            message.edits += 1;
        }
        _ => {
            let thread_ts = body["thread_ts"].as_str().map(str::to_string);
            let mut message = state::message(BOT_USER, text, blocks, thread_ts, origin);
            message.response_id = response_id.map(str::to_string);
            s.post(channel, message);
        }
    }
}

/// Sends a new envelope to one socket and watches for its ack; false when no socket is open.
fn send_new(shared: &Arc<Shared>, id: &str, frame: Value, channel: &str, user: &str) -> bool {
    let retried = frame["type"] == "events_api";
    let sent = shared.update(|s| {
        let Some(socket) = pick(s) else { return false };
        let _ = socket.tx.send(Control::Send(frame.to_string()));
        let sent = Sent { frame, channel: channel.into(), user: user.into(), sent_at: Instant::now(), attempt: 0, acked: false, retried };
        s.sent.insert(id.to_string(), sent);
        true
    });
    if sent {
        watch_ack(shared, id.to_string(), 0);
    }
    sent
}

/// The next open socket, round-robin.
fn pick(s: &mut State) -> Option<&Socket> {
    if s.sockets.is_empty() {
        return None;
    }
    s.next_socket = s.next_socket.wrapping_add(1);
    s.sockets.get(s.next_socket % s.sockets.len())
}

/// After the ack timeout, notes a missing ack and, for an event, delivers it again (at most
/// [`MAX_RETRIES`] times), unless a later delivery took over.
fn watch_ack(shared: &Arc<Shared>, id: String, attempt: u32) {
    let task = shared.clone();
    shared.spawn(async move {
        let Some(due) = task.read(|s| s.sent.get(&id).map(|sent| sent.sent_at + s.ack_timeout)) else { return };
        tokio::time::sleep_until(due.into()).await;
        let retry = task.update(|s| {
            let sent = s.sent.get(&id)?;
            if sent.acked || sent.attempt != attempt {
                return None;
            }
            let retry = sent.retried && sent.attempt < MAX_RETRIES;
            s.timed_out.push(id.clone());
            retry.then_some(())
        });
        if retry.is_some() {
            redeliver(&task, &id);
        }
    });
}

/// Delivers an envelope again to one socket (an event as its next retry).
pub(super) fn redeliver(shared: &Arc<Shared>, id: &str) {
    let attempt = shared.update(|s| {
        let sent = s.sent.get_mut(id).unwrap_or_else(|| panic!("redeliver: the fake never sent envelope {id}"));
        sent.attempt += 1;
        sent.acked = false;
        sent.sent_at = Instant::now();
        let (frame, attempt) = (payloads::retried(&sent.frame, sent.attempt), sent.attempt);
        match pick(s) {
            Some(socket) => {
                let _ = socket.tx.send(Control::Send(frame.to_string()));
            }
            None => eprintln!("fake Slack: no socket open to deliver envelope {id} again (attempt {attempt})"),
        }
        attempt
    });
    watch_ack(shared, id.to_string(), attempt);
}

/// A slash command envelope, sent once a socket is open.
pub(super) async fn slash(shared: &Arc<Shared>, user: &str, channel: &str, text: &str) -> Envelope {
    let connected = shared.wait(WAIT, |s| (!s.sockets.is_empty()).then_some(())).await;
    assert!(connected.is_some(), "slash: no Socket Mode connection open within {WAIT:?}");
    let (envelope_id, frame) = shared.update(|s| {
        let n = s.next_id();
        let envelope_id = format!("env-{n}");
        let person = s.users.get(user).unwrap_or_else(|| panic!("slash: no user {user}")).clone();
        let place = s.channels.get(channel).unwrap_or_else(|| panic!("slash: no channel {channel}")).clone();
        let response_url = format!("{}/response/{envelope_id}", shared.http);
        let trigger_id = format!("{n}.1.fake{n}");
        let slash =
            Slash { envelope_id: &envelope_id, user: &person, channel: &place, text, response_url: &response_url, trigger_id: &trigger_id };
        (envelope_id.clone(), payloads::slash(&slash))
    });
    assert!(send_new(shared, &envelope_id, frame, channel, user), "slash: the Socket Mode connection closed before the command was sent");
    Envelope { response_id: envelope_id.clone(), envelope_id, event_id: None }
}

/// A reaction event to one socket; `None` when none is open.
pub(super) fn reaction(shared: &Arc<Shared>, user: &str, channel: &str, ts: &str, name: &str, added: bool) -> Option<Envelope> {
    let (envelope_id, event_id, frame) = shared.update(|s| {
        let n = s.next_id();
        let (envelope_id, event_id) = (format!("env-{n}"), format!("Ev{n:08}"));
        let item_user = s.message(channel, ts).map(|m| m.user.clone()).unwrap_or_else(|| BOT_USER.to_string());
        let reaction = Reaction { user, name, channel, ts, item_user: &item_user, added };
        let frame = payloads::reaction(&envelope_id, &event_id, &reaction);
        (envelope_id, event_id, frame)
    });
    send_new(shared, &envelope_id, frame, channel, user).then(|| Envelope {
        response_id: envelope_id.clone(),
        envelope_id,
        event_id: Some(event_id),
    })
}
