//! The Discord `ChatPort`: posts the core makes on its own, into channels and incident threads,
//! against the fake Discord's REST API (no gateway needed).

use bellhop::config::Config;
use bellhop_commands::post::Ping;
use bellhop_commands::{ChannelName, ChatPort, DeliveryError, Place, Post, Reactor, Role, Tone};
use bellhop_tests::fake_discord::payloads::{self, INCIDENTS_CHANNEL, OPS_CHANNEL};
use bellhop_tests::fake_discord::FakeDiscord;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn port(rest_url: &str) -> bellhop::discord::DiscordPort {
    let env: HashMap<String, String> = [
        ("DISCORD_TOKEN", "fake-token"),
        ("DISCORD_HTTP_PROXY", rest_url),
        ("DISCORD_INCIDENTS_CHANNEL", INCIDENTS_CHANNEL),
        ("DISCORD_OPS_CHANNEL", OPS_CHANNEL),
        ("DISCORD_APPROVER_ROLES", payloads::APPROVER_ROLE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config = Config::from_sources(&toml::Table::new(), &env).unwrap();
    let settings = bellhop::discord::Settings::from_config(&config).unwrap();
    settings.port(Arc::new(settings.http()))
}

fn alert() -> Post {
    let mut post = Post::new(Tone::Bad, "invite-user is failing").body("@everyone look (user text never pings)");
    post.pings.push(Ping::Role { id: "200000000000000009".into(), name: "on-call".into() });
    post
}

#[tokio::test]
async fn a_post_goes_to_its_configured_channel_and_pings_only_its_roles() {
    let fake = FakeDiscord::start().await;
    let delivered = port(&fake.rest_url).post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap();
    assert_eq!(delivered.channel, OPS_CHANNEL);
    let sent = fake.wait_request("the post", 1, |r| r.is("POST", &format!("/channels/{OPS_CHANNEL}/messages"))).await;
    assert!(fake.read(|s| s.messages.contains_key(&delivered.message.parse().unwrap())));
    assert_eq!(sent.body["content"], "<@&200000000000000009>");
    assert_eq!(sent.body["allowed_mentions"], json!({"parse": [], "users": [], "roles": ["200000000000000009"], "replied_user": false}));
    assert_eq!(sent.body["embeds"][0]["title"], "invite-user is failing");
}

#[tokio::test]
async fn a_thread_opens_from_a_message_once_however_often_it_is_asked() {
    let fake = FakeDiscord::start().await;
    let port = port(&fake.rest_url);
    let kickoff = port.post(&Place::Channel(ChannelName::Incidents), &Post::new(Tone::Bad, "P1: checkout is down")).await.unwrap();
    let thread = port.open_thread(&kickoff, "inc-7", "checkout is down").await.unwrap();
    let opened = fake.wait_request("the thread", 1, |r| r.path.ends_with("/threads")).await;
    assert_eq!(opened.path, format!("/channels/{INCIDENTS_CHANNEL}/messages/{}/threads", kickoff.message));
    assert_eq!(opened.body["name"], "inc-7 checkout is down");
    assert_eq!(thread, kickoff.message, "a thread from a message has the message's id");
    let again = port.open_thread(&kickoff, "inc-7", "checkout is down").await.unwrap();
    assert_eq!(again, thread, "a retry finds the thread the first attempt opened");
    assert_eq!(fake.read(|s| s.threads.len()), 1);
    let update = port.post(&Place::Key(thread.clone()), &Post::new(Tone::Info, "Update")).await.unwrap();
    assert_eq!(update.channel, thread);
}

#[tokio::test]
async fn an_edit_replaces_the_message_and_a_deleted_one_is_gone() {
    let fake = FakeDiscord::start().await;
    let port = port(&fake.rest_url);
    let message = port.post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap();
    port.edit(&message, &Post::new(Tone::Good, "invite-user recovered")).await.unwrap();
    let stored = fake.read(|s| s.messages[&message.message.parse::<u64>().unwrap()].clone());
    assert_eq!(stored["embeds"][0]["title"], "invite-user recovered");
    fake.update(|s| {
        s.messages.clear();
    });
    let error = port.edit(&message, &Post::new(Tone::Good, "again")).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Gone(_)), "{error}");
}

#[tokio::test]
async fn bellhop_reacts_and_reads_who_else_reacted_with_their_roles() {
    let fake = FakeDiscord::start().await;
    fake.add_member(payloads::member("700000000000000001", "bob", &[payloads::APPROVER_ROLE]));
    let mut robot = payloads::member("700000000000000009", "deploy-bot", &[payloads::APPROVER_ROLE]);
    robot["user"]["bot"] = serde_json::json!(true);
    fake.add_member(robot);
    let port = port(&fake.rest_url);
    let message = port.post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap();
    port.react(&message, "✅").await.unwrap();
    fake.update(|s| {
        // Mallory reacted, then left the server: Discord still lists her, but has no member.
        s.users.insert("700000000000000002".into(), payloads::user("700000000000000002", "mallory"));
        let people = s.reactions.entry((message.message.parse().unwrap(), "✅".into())).or_default();
        people.extend(["700000000000000001", "700000000000000002", "700000000000000009"].map(String::from));
    });
    let people = port.reactions(&message, "✅").await.unwrap();
    let seen: Vec<(String, Option<bool>)> = people
        .iter()
        .map(|r| match r {
            Reactor::Member(a) => (a.id.clone(), Some(a.has(Role::Approver))),
            Reactor::Departed(p) => (p.id.clone(), None),
        })
        .collect();
    assert_eq!(
        seen,
        [("discord:700000000000000001".to_string(), Some(true)), ("discord:700000000000000002".to_string(), None)],
        "bellhop's own and another bot's reactions are not a person's; one who left is departed, not an error"
    );
}

#[tokio::test]
async fn an_unreachable_discord_is_retried_later() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = port(&format!("http://127.0.0.1:{closed_port}")).post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)), "{error}");
    assert!(error.to_string().starts_with(&format!("cannot post to channel {OPS_CHANNEL}")), "{error}");
}

#[tokio::test]
async fn a_channel_that_is_not_configured_names_the_setting_and_is_not_retried() {
    let fake = FakeDiscord::start().await;
    let error = port(&fake.rest_url).post(&Place::Channel(ChannelName::StatusUpdates), &alert()).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Permanent(_)));
    assert_eq!(error.to_string(), "no Discord channel for #status-updates: set DISCORD_STATUS_CHANNEL");
    assert!(fake.read(|s| s.requests.is_empty()));
}

#[tokio::test]
async fn a_deleted_channel_is_a_permanent_failure() {
    let fake = FakeDiscord::start().await;
    fake.update(|s| {
        s.deleted_channels.insert(OPS_CHANNEL.to_string());
    });
    let error = port(&fake.rest_url).post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Permanent(_)), "{error}");
}

#[tokio::test]
async fn a_discord_that_never_answers_is_retried_after_the_timeout() {
    let fake = FakeDiscord::start().await;
    fake.update(|s| s.hang_rest = true);
    let port = port(&fake.rest_url).with_timeout(std::time::Duration::from_millis(200));
    let error = port.post(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap_err();
    assert!(matches!(error, DeliveryError::Retry(_)));
    assert!(error.to_string().ends_with("Discord did not answer within 200ms"), "{error}");
    assert_eq!(fake.read(|s| s.requests.len()), 1);
}
