//! Socket Mode against the fake: the real listener, raw sockets, retries, routing and response_url.

use super::*;

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
async fn an_unacked_slash_command_times_out_without_a_retry() {
    let fake = FakeSlack::start().await;
    fake.set_ack_timeout(Duration::from_millis(100));
    let mut ws = raw_socket(&fake).await;
    let late = fake.slash("U1", "C0OPS", "slow").await;
    assert_eq!(next(&mut ws).await["envelope_id"], late.envelope_id.as_str());
    assert!(fake.wait_timed_out(&late.envelope_id, WAIT).await);
    let after = fake.slash("U1", "C0OPS", "next").await;
    assert_eq!(next(&mut ws).await["envelope_id"], after.envelope_id.as_str(), "Slack does not retry slash commands");
    fake.redeliver(&late).await;
    let again = next(&mut ws).await;
    assert_eq!((again["envelope_id"].as_str(), again.get("retry_attempt")), (Some(late.envelope_id.as_str()), None));
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

async fn on_push(event: SlackPushEventCallback, _: Arc<SlackHyperClient>, state: SlackClientEventsUserState) -> UserCallbackResult<()> {
    let said = match event.event {
        SlackEventCallbackBody::ReactionAdded(r) => format!("{} added {}", r.user.0, r.reaction.0),
        other => format!("{other:?}"),
    };
    if let Some(seen) = state.read().await.get_user_state::<Seen>() {
        let _ = seen.0.send(said);
    }
    Ok(())
}

#[tokio::test]
async fn a_real_socket_mode_listener_connects_acks_and_reconnects() {
    let fake = FakeSlack::start().await;
    let (seen, mut commands) = mpsc::unbounded_channel();
    let environment = Arc::new(SlackClientEventsListenerEnvironment::new(client(&fake)).with_user_state(Seen(seen)));
    let callbacks = SlackSocketModeListenerCallbacks::new().with_command_events(on_command).with_push_events(on_push);
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
    let ts = shown.ts;
    let reaction = fake.react("U2", "C0INCIDENTS", &ts, "white_check_mark", true).await.expect("a socket is open");
    assert_eq!(tokio::time::timeout(WAIT, commands.recv()).await.ok().flatten().as_deref(), Some("U2 added white_check_mark"));
    assert_eq!(fake.wait_ack(&reaction.envelope_id, WAIT).await.expect("an ack").payload, None);

    fake.refresh_all("refresh_requested").await;
    assert!(fake.wait_connected(WAIT).await, "the listener reconnects after a disconnect frame");
    assert_eq!(fake.connections_opened(), 3);
    let again = fake.slash("U1", "C0INCIDENTS", "ping again").await;
    assert!(fake.wait_ack(&again.envelope_id, WAIT).await.is_some());
    listener.shutdown().await;
}

#[tokio::test]
async fn dropping_the_fake_closes_its_sockets_and_port() {
    let fake = FakeSlack::start().await;
    let (pooled, bot) = (client(&fake), token(FakeSlack::BOT_TOKEN));
    pooled.open_session(&bot).auth_test().await.expect("auth.test keeps a connection alive");
    let (base, mut ws) = (fake.api_base(), raw_socket(&fake).await);
    let handle = fake.clone();
    drop(fake);
    assert!(handle.wait_connected(Duration::ZERO).await, "a clone keeps the fake running");
    drop(handle);
    let closed = tokio::time::timeout(WAIT, ws.next()).await.expect("the socket ends in time");
    assert!(!matches!(closed, Some(Ok(Frame::Text(_)))), "{closed:?}");
    assert!(reqwest::get(format!("{base}/auth.test")).await.is_err(), "the Web API is gone");
    let kept = tokio::time::timeout(WAIT, pooled.open_session(&bot).auth_test()).await.expect("an answer in time");
    assert!(kept.is_err(), "a kept-alive connection is closed too: {kept:?}");
}
