//! serenity's rate limiter on, as in production: no REST proxy, every request to
//! https://discord.com, which resolves to the fake on loopback (see `DiscordCom`). The fake
//! answers posts with Discord's 429 and rate-limit headers; serenity must wait them out itself.

use bellhop::config::Config;
use bellhop::simulated::Script;
use bellhop_commands::{ChannelName, ChatPort, Place, Post, Tone};
use bellhop_tests::fake_discord::payloads::{member, INCIDENTS_CHANNEL, OPS_CHANNEL, RESPONDER_ROLE};
use bellhop_tests::fake_discord::FakeDiscord;
use bellhop_tests::{BellhopTester, KEY};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The production port, its client reaching discord.com only through the fake.
fn port(fake: &FakeDiscord) -> bellhop::discord::DiscordPort {
    let env: HashMap<String, String> = [("DISCORD_TOKEN", "fake-token"), ("DISCORD_OPS_CHANNEL", OPS_CHANNEL)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_sources(&toml::Table::new(), &env).unwrap();
    let discord_com = fake.discord_com.clone().expect("the fake answers as discord.com");
    let settings = bellhop::discord::Settings::from_config(&config).unwrap().with_client_setup(move |b| discord_com.client(b));
    settings.port(Arc::new(settings.http()))
}

fn posts_to(fake: &FakeDiscord, channel: &str) -> Vec<bellhop_tests::fake_discord::Request> {
    let path = format!("/channels/{channel}/messages");
    fake.read(|s| s.requests.iter().filter(|r| r.is("POST", &path)).cloned().collect())
}

/// Without the rate limiter serenity hands a 429 back as an error; with it, the call itself
/// succeeds, because serenity slept for `Retry-After` and sent the post again.
#[tokio::test]
async fn a_429_is_waited_out_and_the_post_lands_once() {
    let fake = FakeDiscord::start_as_discord_com().await;
    fake.update(|s| s.rate_limits.refuse_posts = 1);
    let delivered = port(&fake).post(&Place::Channel(ChannelName::Ops), &Post::new(Tone::Bad, "invite-user is failing")).await.unwrap();
    let attempts = posts_to(&fake, OPS_CHANNEL);
    assert_eq!(attempts.len(), 2, "refused once, then sent again");
    assert!(attempts[1].at - attempts[0].at >= Duration::from_secs(1), "not before Retry-After: {:?}", attempts[1].at - attempts[0].at);
    assert_eq!(attempts[0].body, attempts[1].body, "the same post");
    let messages: Vec<u64> = fake.read(|s| s.messages.keys().copied().collect());
    assert_eq!(messages, [delivered.message.parse::<u64>().unwrap()], "one message in the channel");
    assert_eq!(fake.read(|s| s.refusals.clone()), [format!("a post to {OPS_CHANNEL} rate limited for 1 s")]);
}

/// A post whose answer says the bucket is spent makes serenity hold the next post to that
/// channel until the bucket resets, so Discord never has to refuse it.
#[tokio::test]
async fn a_spent_bucket_holds_the_next_post_until_it_resets() {
    let fake = FakeDiscord::start_as_discord_com().await;
    let spent_for = Duration::from_millis(600);
    fake.update(|s| s.rate_limits.spent_for = Some(spent_for));
    let port = port(&fake);
    for title in ["first", "second"] {
        port.post(&Place::Channel(ChannelName::Ops), &Post::new(Tone::Info, title)).await.unwrap();
    }
    let attempts = posts_to(&fake, OPS_CHANNEL);
    assert_eq!(attempts.len(), 2);
    // serenity reckons the reset on the wall clock and the fake on the monotonic one: a few
    // milliseconds of leeway between them.
    let held = attempts[1].at - attempts[0].at;
    assert!(held >= spent_for - Duration::from_millis(20), "the second post waited for the reset: {held:?}");
    assert_eq!(fake.read(|s| s.messages.len()), 2);
    assert!(fake.read(|s| s.refusals.is_empty()), "{:?}", fake.read(|s| s.refusals.clone()));
}

/// The whole bot with its rate limiter on: it finds the gateway, registers, answers a command,
/// and its own post, refused once with 429, reaches the channel exactly once.
#[tokio::test]
async fn the_bot_runs_with_its_rate_limiter_on() {
    let fake = FakeDiscord::start_as_discord_com().await;
    let t = BellhopTester::boot_on(fake, Script::new(KEY), &["invite-user"], &[]).await;
    t.fake.ready().await;
    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let health = t.fake.slash(&alice, "health", &[]);
    let answer = t.fake.answer(&health).await;
    assert!(answer["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("Health")), "{answer}");

    t.fake.update(|s| s.rate_limits.refuse_posts = 1);
    let declare = t.fake.slash_with(&alice, "incident declare", &[("severity", json!("P1")), ("title", json!("logins failing"))]);
    t.fake.answer(&declare).await;
    let kickoff = |s: &bellhop_tests::fake_discord::State| {
        s.messages.values().filter(|m| m["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("🚨 INC-1"))).count()
    };
    t.fake.wait("the kickoff", |s| (kickoff(s) > 0).then_some(())).await;
    let attempts = posts_to(&t.fake, INCIDENTS_CHANNEL);
    assert_eq!(attempts.len(), 2, "refused once, then sent again");
    // The outbox would also get it there, but only after its first backoff (5 s): sooner means
    // serenity waited out Retry-After and sent it again within the same delivery.
    let resent = attempts[1].at - attempts[0].at;
    assert!(resent >= Duration::from_secs(1) && resent < Duration::from_secs(5), "{resent:?}");
    assert_eq!(t.fake.read(kickoff), 1, "one kickoff in the channel");
    t.fake.wait_request("the incident's thread", 1, |r| r.path.ends_with("/threads")).await;
    assert_eq!(t.fake.read(|s| s.refusals.len()), 1, "{:?}", t.fake.read(|s| s.refusals.clone()));
}
