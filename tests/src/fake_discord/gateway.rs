//! The fake's gateway: one task per WebSocket connection that speaks HELLO, IDENTIFY → READY
//! (+ GUILD_CREATE), heartbeat ACK and RESUME, and forwards the dispatches tests inject.

use super::payloads;
use super::state::{intent_of, Control, Frame, Session};
use super::Shared;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Short enough that every test sees heartbeats and their ACKs.
pub const HEARTBEAT_MS: u64 = 1000;

pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let shared = shared.clone();
        // As Discord's gateway does: each frame leaves at once. With Nagle's algorithm on, a burst's
        // frames after the first waited for the bot's delayed ACK, 40 ms of the fake's own.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                connection(ws, shared).await;
            }
        });
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connection(ws: Ws, shared: Arc<Shared>) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session_id = shared.next_id();
    let send = |frame: Value| {
        shared.update(|state| {
            let t = frame.get("t").and_then(Value::as_str).map(str::to_string);
            let op = frame["op"].as_u64().unwrap_or_default();
            state.frames.push(Frame { from_bot: false, op, t, d: frame["d"].clone(), at: Instant::now() });
        });
        Message::Text(frame.to_string())
    };
    if sink.send(send(json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}))).await.is_err() {
        return;
    }
    loop {
        let outgoing: Vec<Value> = tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let op = frame["op"].as_u64().unwrap_or(u64::MAX);
                    shared.update(|state| state.frames.push(Frame { from_bot: true, op, t: None, d: frame["d"].clone(), at: Instant::now() }));
                    match op {
                        1 => vec![json!({"op": 11})],
                        2 => {
                            let intents = frame["d"]["intents"].as_u64().unwrap_or_default();
                            shared.update(|state| {
                                state.seq = 0;
                                state.identified_intents = Some(intents);
                            });
                            let mut frames = vec![("READY".to_string(), payloads::ready(&shared.ws_url, &format!("session-{session_id}")))];
                            if intents & 1 == 1 {
                                frames.push(("GUILD_CREATE".to_string(), payloads::guild_create(&shared.read(|s| s.roles.clone()))));
                            }
                            frames.extend(go_live(&shared, session_id, intents, &tx));
                            frames.into_iter().map(|(t, d)| dispatch(&shared, &t, d)).collect()
                        }
                        6 => {
                            let intents = shared.read(|s| s.identified_intents).unwrap_or_default();
                            let mut frames = vec![("RESUMED".to_string(), json!({}))];
                            frames.extend(go_live(&shared, session_id, intents, &tx));
                            frames.into_iter().map(|(t, d)| dispatch(&shared, &t, d)).collect()
                        }
                        _ => Vec::new(),
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => Vec::new(),
            },
            control = rx.recv() => match control {
                Some(Control::Dispatch(t, d)) => vec![dispatch(&shared, &t, d)],
                Some(Control::Close(code)) => {
                    let close = CloseFrame { code: CloseCode::from(code), reason: "closed by the test".into() };
                    let _ = sink.send(Message::Close(Some(close))).await;
                    break;
                }
                None => break,
            },
        };
        for frame in outgoing {
            if sink.send(send(frame)).await.is_err() {
                break;
            }
        }
    }
    shared.update(|state| state.sessions.retain(|s| s.id != session_id));
}

/// Registers the session for injected dispatches; returns those that waited for one.
fn go_live(shared: &Shared, id: u64, intents: u64, tx: &mpsc::UnboundedSender<Control>) -> Vec<(String, Value)> {
    let mut waiting = Vec::new();
    shared.update(|state| {
        state.sessions.push(Session { id, intents, tx: tx.clone() });
        waiting =
            std::mem::take(&mut state.pending).into_iter().filter(|(t, _)| intent_of(t).is_none_or(|bit| intents & bit != 0)).collect();
    });
    waiting
}

fn dispatch(shared: &Shared, t: &str, d: Value) -> Value {
    let mut seq = 0;
    shared.update(|state| {
        state.seq += 1;
        seq = state.seq;
    });
    json!({"op": 0, "s": seq, "t": t, "d": d})
}

#[cfg(test)]
mod tests {
    use super::super::{payloads, FakeDiscord, WAIT};
    use futures::{SinkExt, StreamExt};
    use serde_json::{json, Value};
    use tokio_tungstenite::tungstenite::Message;

    async fn next(ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>) -> Value {
        let frame = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").expect("no error");
        serde_json::from_str(frame.to_text().expect("a text frame")).expect("JSON")
    }

    #[tokio::test]
    async fn a_session_gets_only_the_dispatches_its_intents_ask_for() {
        let fake = FakeDiscord::start().await;
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/?v=10", fake.ws_url)).await.unwrap();
        assert_eq!(next(&mut ws).await["op"], 10);
        ws.send(Message::Text(json!({"op": 2, "d": {"token": "Bot t", "intents": 1}}).to_string())).await.unwrap();
        let (ready, guild) = (next(&mut ws).await, next(&mut ws).await);
        assert_eq!((ready["t"].as_str(), ready["s"].as_u64(), guild["t"].as_str()), (Some("READY"), Some(1), Some("GUILD_CREATE")));
        let member = payloads::member("5", "ana", &[]);
        fake.dispatch("MESSAGE_REACTION_ADD", payloads::reaction(payloads::CHANNEL, "7", "✅", &member, true));
        fake.dispatch("INTERACTION_CREATE", payloads::interaction(2, "8", "t", "help", &[], None, &member));
        let delivered = next(&mut ws).await;
        assert_eq!((delivered["t"].as_str(), delivered["s"].as_u64()), (Some("INTERACTION_CREATE"), Some(3)));
        assert_eq!(fake.read(|s| s.dropped.clone()), ["MESSAGE_REACTION_ADD"]);
        ws.send(Message::Text(json!({"op": 1, "d": 3}).to_string())).await.unwrap();
        assert_eq!(next(&mut ws).await["op"], 11);
    }
}
