//! The fake against slack-morphism itself: its payloads parse with the crate's own types, and the
//! real client (Web API and Socket Mode listener) works against it and sees Slack's errors.

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

#[tokio::test]
async fn the_real_client_posts_edits_and_reacts() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let bot = token(FakeSlack::BOT_TOKEN);
    let session = client.open_session(&bot);
    let me = session.auth_test().await.expect("auth.test");
    assert_eq!((me.user_id.0.as_str(), me.team_id.0.as_str(), me.bot_id.map(|b| b.0)), ("UBOT", "T1", Some("BBOT".into())));

    let blocks = vec![SlackBlock::Section(SlackSectionBlock::new().with_text(md!("*Incident* declared")))];
    let content = SlackMessageContent::new().with_text("Incident declared".into()).with_blocks(blocks);
    let posted = session.chat_post_message(&SlackApiChatPostMessageRequest::new("C0INCIDENTS".into(), content)).await.expect("a post");
    assert_eq!(posted.ts.0, "1700000000.000001");
    let reply = SlackApiChatPostMessageRequest::new("C0INCIDENTS".into(), SlackMessageContent::new().with_text("in the thread".into()))
        .with_thread_ts(posted.ts.clone());
    session.chat_post_message(&reply).await.expect("a reply");
    let edit =
        SlackApiChatUpdateRequest::new("C0INCIDENTS".into(), SlackMessageContent::new().with_text("Resolved".into()), posted.ts.clone());
    session.chat_update(&edit).await.expect("an edit");
    session
        .reactions_add(&SlackApiReactionsAddRequest::new("C0INCIDENTS".into(), "eyes".into(), posted.ts.clone()))
        .await
        .expect("a reaction");
    fake.react("U1", "C0INCIDENTS", &posted.ts.0, "eyes", true).await;

    let messages = fake.messages("C0INCIDENTS");
    assert_eq!(messages.len(), 2);
    let (root, reply) = (&messages[0], &messages[1]);
    assert_eq!((root.text.as_str(), root.edits, root.user.as_str(), root.origin), ("Resolved", 1, "UBOT", Origin::Api));
    assert_eq!(root.blocks[0]["text"]["text"], "*Incident* declared", "an update without blocks keeps them");
    assert_eq!((reply.thread_ts.as_deref(), reply.text.as_str()), (Some(posted.ts.0.as_str()), "in the thread"));
    assert_eq!(root.reacted("eyes"), ["UBOT", "U1"]);

    let get = SlackApiReactionsGetRequest::new().with_channel("C0INCIDENTS".into()).with_timestamp(posted.ts.clone()).with_full(true);
    match session.reactions_get(&get).await.expect("reactions.get") {
        SlackApiReactionsGetResponse::Message(m) => {
            let reactions = m.message.content.reactions.expect("reactions");
            assert_eq!((reactions[0].name.0.as_str(), reactions[0].count), ("eyes", 2));
            assert_eq!(reactions[0].users.iter().map(|u| u.0.as_str()).collect::<Vec<_>>(), ["UBOT", "U1"]);
        }
        other => panic!("expected a message, got {other:?}"),
    }
    let group = session.usergroups_users_list(&SlackApiUserGroupsUsersListRequest::new("S0APPROVERS".into())).await.expect("a group");
    assert_eq!(group.users.iter().map(|u| u.0.as_str()).collect::<Vec<_>>(), ["U2", "U3"]);
    let bot = session.users_info(&SlackApiUsersInfoRequest::new("UOTHERBOT".into())).await.expect("users.info");
    assert_eq!(bot.user.flags.is_bot, Some(true));
    let channel = session.conversations_info(&SlackApiConversationsInfoRequest::new("C0STATUS".into())).await.expect("a channel");
    assert_eq!(channel.channel.name.as_deref(), Some("status-updates"));
    let methods: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(methods[..3], ["auth.test", "chat.postMessage", "chat.postMessage"]);
}

#[tokio::test]
async fn the_real_client_sees_slacks_error_codes() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let bot = token(FakeSlack::BOT_TOKEN);
    let session = client.open_session(&bot);
    let post = |channel: &str, content: SlackMessageContent| SlackApiChatPostMessageRequest::new(channel.into(), content);
    let text = |t: &str| SlackMessageContent::new().with_text(t.into());
    let section = |t: String| SlackBlock::Section(SlackSectionBlock::new().with_text(md!(t)));

    assert_eq!(api_error(session.chat_post_message(&post("C0OPS", SlackMessageContent::new())).await), "no_text");
    assert_eq!(api_error(session.chat_post_message(&post("C0OPS", text(&"x".repeat(4001)))).await), "msg_too_long");
    session.chat_post_message(&post("C0OPS", text(&"x".repeat(4000)))).await.expect("4,000 characters pass");
    let many = SlackMessageContent::new().with_blocks((0..51).map(|i| section(format!("{i}"))).collect());
    assert_eq!(api_error(session.chat_post_message(&post("C0OPS", many)).await), "invalid_blocks");
    let long = SlackMessageContent::new().with_blocks(vec![section("y".repeat(3001))]);
    assert_eq!(api_error(session.chat_post_message(&post("C0OPS", long)).await), "invalid_blocks");
    assert_eq!(api_error(session.chat_post_message(&post("C0NOPE", text("hi"))).await), "channel_not_found");
    let ts = bot_post(&fake, "C0STATUS", "first").await;

    let edit = SlackApiChatUpdateRequest::new("C0STATUS".into(), text("again"), "1700000099.000001".into());
    assert_eq!(api_error(session.chat_update(&edit).await), "message_not_found");
    let react = SlackApiReactionsAddRequest::new("C0STATUS".into(), "x".into(), ts.clone().into());
    session.reactions_add(&react).await.expect("a first reaction");
    assert_eq!(api_error(session.reactions_add(&react).await), "already_reacted");
    let group = SlackApiUserGroupsUsersListRequest::new("S0NOPE".into());
    assert_eq!(api_error(session.usergroups_users_list(&group).await), "no_such_subteam");
    fake.remove_user("U4");
    assert_eq!(api_error(session.users_info(&SlackApiUsersInfoRequest::new("U4".into())).await), "user_not_found");

    fake.archive_channel("C0STATUS");
    assert_eq!(api_error(session.chat_post_message(&post("C0STATUS", text("hi"))).await), "is_archived");
    fake.delete_channel("C0STATUS");
    assert_eq!(api_error(session.chat_post_message(&post("C0STATUS", text("hi"))).await), "channel_not_found");

    fake.rate_limit_next("chat.postMessage", 7);
    match session.chat_post_message(&post("C0OPS", text("hi"))).await {
        Err(SlackClientError::RateLimitError(limit)) => assert_eq!(limit.retry_after, Some(Duration::from_secs(7))),
        other => panic!("expected a rate limit, got {other:?}"),
    }
    session.chat_post_message(&post("C0OPS", text("hi"))).await.expect("only the next call is limited");
}

#[tokio::test]
async fn tokens_are_checked_like_slack_checks_them() {
    let fake = FakeSlack::start().await;
    let client = client(&fake);
    let auth_test = |t: &str| {
        let client = client.clone();
        let t = token(t);
        async move { api_error(client.open_session(&t).auth_test().await) }
    };
    assert_eq!(auth_test(FakeSlack::APP_TOKEN).await, "not_allowed_token_type");
    assert_eq!(auth_test("xoxb-someone-else").await, "invalid_auth");
    assert_eq!(api_error(open_connection(&fake, FakeSlack::BOT_TOKEN).await), "not_allowed_token_type");
    assert_eq!(api_error(open_connection(&fake, "xapp-other").await), "invalid_auth");
    assert_eq!(fake.connections_opened(), 0);

    let http = reqwest::Client::new();
    let bare =
        http.post(format!("{}/chat.postMessage", fake.api_base())).json(&json!({"channel": "C0OPS", "text": "hi"})).send().await.unwrap();
    assert_eq!(bare.headers()["content-type"], "application/json");
    assert_eq!(bare.json::<Value>().await.unwrap(), json!({"ok": false, "error": "not_authed"}));
    let unknown = http.get(format!("{}/chat.scheduleMessage", fake.api_base())).bearer_auth(FakeSlack::BOT_TOKEN).send().await.unwrap();
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "unknown_method");
    assert_eq!(fake.read(|s| s.unknown_methods.clone()), ["chat.scheduleMessage"]);
    let call = fake.calls().into_iter().find(|c| c.method == "auth.test").expect("a recorded call");
    assert_eq!(call.auth.as_deref(), Some("Bearer xapp-fake-app"));
}

#[tokio::test]
async fn bellhops_own_reaction_comes_back_as_an_event_from_the_bot() {
    let fake = FakeSlack::start().await;
    let ts = bot_post(&fake, "C0INCIDENTS", "vote here").await;
    let mut ws = raw_socket(&fake).await;
    let react = SlackApiReactionsAddRequest::new("C0INCIDENTS".into(), "white_check_mark".into(), ts.clone().into());
    let (client, bot) = (client(&fake), token(FakeSlack::BOT_TOKEN));
    client.open_session(&bot).reactions_add(&react).await.expect("reactions.add");
    match push_event(&next(&mut ws).await).event {
        SlackEventCallbackBody::ReactionAdded(r) => assert_eq!((r.user.0.as_str(), r.reaction.0.as_str()), ("UBOT", "white_check_mark")),
        other => panic!("expected ReactionAdded, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unacked_event_is_delivered_again_until_acked() {
    let fake = FakeSlack::start().await;
    fake.set_ack_timeout(Duration::from_millis(200));
    let ts = bot_post(&fake, "C0INCIDENTS", "vote here").await;
    let mut ws = raw_socket(&fake).await;
    let envelope = fake.react("U3", "C0INCIDENTS", &ts, "x", true).await.expect("a socket is open");
    let first = next(&mut ws).await;
    let again = next(&mut ws).await;
    assert_eq!((again["retry_attempt"].as_u64(), again["retry_reason"].as_str()), (Some(1), Some("timeout")));
    assert_eq!((&again["envelope_id"], &again["payload"]["event_id"]), (&first["envelope_id"], &first["payload"]["event_id"]));
    ack(&mut ws, &again).await;
    let acked = fake.wait_ack(&envelope.envelope_id, WAIT).await.expect("the ack is recorded");
    assert_eq!(acked.retry_attempt, 1);
    assert_eq!(fake.read(|s| s.timed_out.clone()), std::slice::from_ref(&envelope.envelope_id));

    fake.redeliver(&envelope).await;
    assert_eq!(next(&mut ws).await["retry_attempt"], 2, "a test can redeliver by hand");
}

#[tokio::test]
async fn each_envelope_goes_to_one_socket() {
    let fake = FakeSlack::start().await;
    let (mut one, mut two) = (raw_socket(&fake).await, raw_socket(&fake).await);
    let first = fake.slash("U1", "C0OPS", "one").await;
    let second = fake.slash("U1", "C0OPS", "two").await;
    let (a, b) = (next(&mut one).await, next(&mut two).await);
    let mut got = [a["envelope_id"].as_str().unwrap().to_string(), b["envelope_id"].as_str().unwrap().to_string()];
    got.sort();
    let mut sent = [first.envelope_id, second.envelope_id];
    sent.sort();
    assert_eq!(got, sent);
    assert_eq!(fake.connections_opened(), 2);
}

#[tokio::test]
async fn a_response_url_answer_in_channel_shows_in_the_channel() {
    let fake = FakeSlack::start().await;
    let mut ws = raw_socket(&fake).await;
    let envelope = fake.slash("U2", "C0OPS", "status").await;
    let frame = next(&mut ws).await;
    let url = frame["payload"]["response_url"].as_str().expect("a response_url").to_string();
    let http = reqwest::Client::new();
    let answer = http.post(&url).json(&json!({"text": "only you", "response_type": "ephemeral"})).send().await.unwrap();
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"ok": true}));
    http.post(&url).json(&json!({"text": "everyone", "response_type": "in_channel"})).send().await.unwrap();
    http.post(&url)
        .json(&json!({"text": "everyone, edited", "response_type": "in_channel", "replace_original": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.wait_response(&envelope, WAIT).await.expect("a response")["text"], "only you");
    assert_eq!(fake.responses(&envelope).len(), 3);
    let shown = fake.messages("C0OPS");
    assert_eq!(shown.len(), 1);
    assert_eq!((shown[0].text.as_str(), shown[0].origin, shown[0].edits), ("everyone, edited", Origin::ResponseUrl, 1));
    assert_eq!(fake.ephemerals()[0].user, "U2");
}

/// What the listener's callbacks tell the test.
#[derive(Clone)]
struct Seen(mpsc::UnboundedSender<String>);

async fn on_command(
    event: SlackCommandEvent,
    _: Arc<SlackHyperClient>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    if let Some(seen) = state.read().await.get_user_state::<Seen>() {
        let _ = seen.0.send(event.text.unwrap_or_default());
    }
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new().with_text("pong".into()))
        .with_response_type(SlackMessageResponseType::InChannel))
}

#[tokio::test]
async fn a_real_socket_mode_listener_connects_and_acks_a_slash_command() {
    let fake = FakeSlack::start().await;
    let (seen, mut commands) = mpsc::unbounded_channel();
    let environment = Arc::new(SlackClientEventsListenerEnvironment::new(client(&fake)).with_user_state(Seen(seen)));
    let callbacks = SlackSocketModeListenerCallbacks::new().with_command_events(on_command);
    let config = SlackClientSocketModeConfig::new().with_max_connections_count(1).with_reconnect_timeout_in_seconds(1);
    let listener = SlackClientSocketModeListener::new(&config, environment, callbacks);
    listener.listen_for(&token(FakeSlack::APP_TOKEN)).await.expect("the app token registers");
    listener.start().await;
    assert!(fake.wait_connected(WAIT).await, "the listener connects");

    let envelope = fake.slash("U1", "C0INCIDENTS", "ping").await;
    let ack = fake.wait_ack(&envelope.envelope_id, WAIT).await.expect("an ack");
    assert_eq!(tokio::time::timeout(WAIT, commands.recv()).await.ok().flatten().as_deref(), Some("ping"));
    assert!(ack.latency < Duration::from_millis(2500), "{:?}", ack.latency);
    assert_eq!(ack.payload.expect("a payload"), json!({"text": "pong", "response_type": "in_channel"}));
    let shown = fake.wait_message("C0INCIDENTS", |m| m.text == "pong", WAIT).await.expect("the ack's answer in the channel");
    assert_eq!(shown.origin, Origin::Ack);

    fake.disconnect_all().await;
    assert!(fake.wait_connected(WAIT).await, "the listener reconnects after a Close frame");
    assert_eq!(fake.connections_opened(), 2);
    let again = fake.slash("U1", "C0INCIDENTS", "ping again").await;
    assert!(fake.wait_ack(&again.envelope_id, WAIT).await.is_some());
    listener.shutdown().await;
}
