//! The Discord `ChatPort`: posts the core makes on its own, into channels and incident threads,
//! against the fake Discord's REST API (no gateway needed).

use bellhop::config::Config;
use bellhop_commands::post::Ping;
use bellhop_commands::{ChannelName, ChatPort, Place, Post, Tone};
use bellhop_tests::fake_discord::payloads::{INCIDENTS_CHANNEL, OPS_CHANNEL};
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
    let delivered = port(&fake.rest_url).deliver(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap();
    assert_eq!(delivered.channel_key, OPS_CHANNEL);
    let sent = fake.wait_request("the post", 1, |r| r.is("POST", &format!("/channels/{OPS_CHANNEL}/messages"))).await;
    assert!(fake.read(|s| s.messages.contains_key(&delivered.message_key.parse().unwrap())));
    assert_eq!(sent.body["content"], "<@&200000000000000009>");
    assert_eq!(sent.body["allowed_mentions"], json!({"parse": [], "users": [], "roles": ["200000000000000009"], "replied_user": false}));
    assert_eq!(sent.body["embeds"][0]["title"], "invite-user is failing");
}

#[tokio::test]
async fn an_incident_opens_a_thread_under_the_incidents_channel_and_later_posts_go_there() {
    let fake = FakeDiscord::start().await;
    let port = port(&fake.rest_url);
    let kickoff = Post::new(Tone::Bad, "P1: checkout is down");
    let opened = port.deliver(&Place::NewIncident { id: 7, title: "checkout is down".into() }, &kickoff).await.unwrap();
    let thread = fake.wait_request("the thread", 1, |r| r.is("POST", &format!("/channels/{INCIDENTS_CHANNEL}/threads"))).await;
    assert_eq!((thread.body["name"].as_str(), thread.body["type"].as_u64()), (Some("inc-7 checkout is down"), Some(11)));
    assert_ne!(opened.channel_key, INCIDENTS_CHANNEL);
    let key = opened.channel_key.clone();
    let update = port.deliver(&Place::Incident { id: 7, key: key.clone() }, &Post::new(Tone::Info, "Update")).await.unwrap();
    assert_eq!(update.channel_key, key);
    let posts = fake.read(|s| s.requests_to("POST", &format!("/channels/{key}/messages")).len());
    assert_eq!(posts, 2, "the kickoff and the update are in the thread");
}

#[tokio::test]
async fn an_unreachable_discord_is_an_error_so_the_post_is_retried() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = port(&format!("http://127.0.0.1:{closed_port}")).deliver(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap_err();
    assert!(format!("{error:#}").starts_with(&format!("cannot post to Discord channel {OPS_CHANNEL}")), "{error:#}");
}

#[tokio::test]
async fn a_channel_that_is_not_configured_names_the_setting() {
    let fake = FakeDiscord::start().await;
    let error = port(&fake.rest_url).deliver(&Place::Channel(ChannelName::StatusUpdates), &alert()).await.unwrap_err();
    assert_eq!(error.to_string(), "no Discord channel for #status-updates: set DISCORD_STATUS_CHANNEL");
    assert!(fake.read(|s| s.requests.is_empty()));
}

#[tokio::test]
async fn a_discord_that_never_answers_is_an_error_after_the_timeout() {
    let fake = FakeDiscord::start().await;
    fake.update(|s| s.hang_rest = true);
    let port = port(&fake.rest_url).with_timeout(std::time::Duration::from_millis(200));
    let error = port.deliver(&Place::Channel(ChannelName::Ops), &alert()).await.unwrap_err();
    assert_eq!(error.to_string(), "Discord did not answer within 200ms");
    assert_eq!(fake.read(|s| s.requests.len()), 1);
}
