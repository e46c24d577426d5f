//! The fake against slack-morphism itself: its payloads parse with the crate's own types, and the
//! real client (Web API and Socket Mode listener) works against it and sees Slack's errors.

mod socket_mode;
mod web_api;

use super::{FakeSlack, Origin};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;

const WAIT: Duration = Duration::from_secs(10);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The real client, wired as the adapter wires it (plain HTTP allowed, the fake's API base).
fn client(fake: &FakeSlack) -> Arc<SlackHyperClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .expect("the machine's CA certificates (hyper-rustls needs them even for http://)")
        .https_or_http()
        .enable_http1()
        .build();
    Arc::new(SlackClient::new(SlackClientHyperConnector::from(https).with_slack_api_url(&fake.api_base())))
}

fn token(value: &str) -> SlackApiToken {
    SlackApiToken::new(value.into())
}

fn api_error(result: Result<impl std::fmt::Debug, SlackClientError>) -> String {
    match result {
        Err(SlackClientError::ApiError(error)) => error.code,
        other => panic!("expected a Slack API error, got {other:?}"),
    }
}

/// A socket opened by hand (no slack-morphism), past its `hello`.
async fn raw_socket(fake: &FakeSlack) -> Ws {
    let opened = open_connection(fake, FakeSlack::APP_TOKEN).await.expect("apps.connections.open");
    let (mut ws, _) = tokio_tungstenite::connect_async(opened.url.0.as_str()).await.expect("the socket opens");
    let hello = next(&mut ws).await;
    assert_eq!((hello["type"].as_str(), hello["debug_info"]["host"].is_string()), (Some("hello"), true), "{hello}");
    assert!(hello["connection_info"]["app_id"].is_string() && hello["num_connections"].is_u64(), "{hello}");
    ws
}

async fn open_connection(fake: &FakeSlack, app_token: &str) -> Result<SlackApiAppsConnectionOpenResponse, SlackClientError> {
    let (client, token) = (client(fake), token(app_token));
    client.open_session(&token).apps_connections_open(&SlackApiAppsConnectionOpenRequest::new()).await
}

async fn next(ws: &mut Ws) -> Value {
    let frame = tokio::time::timeout(WAIT, ws.next()).await.expect("a frame in time").expect("open").expect("no error");
    serde_json::from_str(frame.to_text().expect("a text frame")).expect("JSON")
}

async fn ack(ws: &mut Ws, envelope: &Value) {
    ws.send(Frame::Text(json!({"envelope_id": envelope["envelope_id"]}).to_string())).await.expect("the ack goes out");
}

/// The envelope keys slack-morphism requires, checked by hand (its envelope type is private).
fn assert_envelope(frame: &Value, kind: &str) {
    assert!(frame["envelope_id"].is_string(), "{frame}");
    assert_eq!(frame["type"], kind, "{frame}");
    assert!(frame["accepts_response_payload"].is_boolean(), "{frame}");
    assert!(frame["payload"].is_object(), "{frame}");
}

fn push_event(frame: &Value) -> SlackPushEventCallback {
    assert_envelope(frame, "events_api");
    assert!(frame["payload"]["event_time"].is_u64() && frame["payload"]["event"]["event_ts"].is_string(), "{frame}");
    serde_json::from_value(frame["payload"].clone()).expect("the payload parses as SlackPushEventCallback")
}

async fn bot_post(fake: &FakeSlack, channel: &str, text: &str) -> String {
    let request = SlackApiChatPostMessageRequest::new(channel.into(), SlackMessageContent::new().with_text(text.into()));
    let (client, bot) = (client(fake), token(FakeSlack::BOT_TOKEN));
    let posted = client.open_session(&bot).chat_post_message(&request).await.expect("chat.postMessage");
    posted.ts.0
}
#[tokio::test]
async fn a_slash_command_parses_as_slack_morphisms_command_event() {
    let fake = FakeSlack::start().await;
    let mut ws = raw_socket(&fake).await;
    let envelope = fake.slash("U1", "C0INCIDENTS", "incident declare").await;
    let frame = next(&mut ws).await;
    assert_envelope(&frame, "slash_commands");
    assert_eq!(frame["envelope_id"], envelope.envelope_id.as_str());
    let command: SlackCommandEvent = serde_json::from_value(frame["payload"].clone()).expect("a SlackCommandEvent");
    assert_eq!((command.user_id.0.as_str(), command.channel_id.0.as_str()), ("U1", "C0INCIDENTS"));
    assert_eq!((command.command.0.as_str(), command.text.as_deref()), ("/bellhop", Some("incident declare")));
    assert!(command.response_url.0.as_str().starts_with("http://127.0.0.1:"), "{}", command.response_url.0);
    assert!(!command.trigger_id.0.is_empty());
}

#[tokio::test]
async fn reactions_parse_as_reaction_events_not_unknown() {
    let fake = FakeSlack::start().await;
    let ts = bot_post(&fake, "C0INCIDENTS", "vote here").await;
    let mut ws = raw_socket(&fake).await;
    let added = fake.react("U2", "C0INCIDENTS", &ts, "white_check_mark", true).await.expect("a socket is open");
    let frame = next(&mut ws).await;
    assert_eq!((frame["retry_attempt"].as_u64(), frame["retry_reason"].as_str()), (Some(0), Some("")));
    let event = push_event(&frame);
    assert_eq!(Some(event.event_id.0.as_str()), added.event_id.as_deref());
    match event.event {
        SlackEventCallbackBody::ReactionAdded(r) => {
            assert_eq!(
                (r.user.0.as_str(), r.reaction.0.as_str(), r.item_user.map(|u| u.0)),
                ("U2", "white_check_mark", Some("UBOT".into()))
            );
        }
        other => panic!("expected ReactionAdded, got {other:?}"),
    }
    fake.react("U2", "C0INCIDENTS", &ts, "white_check_mark", false).await.expect("a socket is open");
    assert!(matches!(push_event(&next(&mut ws).await).event, SlackEventCallbackBody::ReactionRemoved(_)));
}
