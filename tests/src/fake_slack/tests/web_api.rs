//! The real client's Web API calls against the fake: answers, state, Slack's error codes and token rules.

use super::*;

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

    let theirs = fake.post_as("U1", "C0STATUS", "a person's message");
    let edit = SlackApiChatUpdateRequest::new("C0STATUS".into(), text("again"), theirs.into());
    assert_eq!(api_error(session.chat_update(&edit).await), "cant_update_message");
    let whisper = SlackApiChatPostEphemeralRequest::new("C0STATUS".into(), "U3".into(), text("just you"));
    session.chat_post_ephemeral(&whisper).await.expect("an ephemeral message");
    assert_eq!((fake.ephemerals()[0].user.as_str(), fake.ephemerals()[0].text.as_str()), ("U3", "just you"));

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
