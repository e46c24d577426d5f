//! The real bellhop bot (serenity/poise) against a fake Discord on 127.0.0.1: connecting,
//! registering, answering slash commands, reactions, reconnecting and refusing.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::fake_discord::payloads::{self, member, ADMIN_ROLE, APPROVER_ROLE, RESPONDER_ROLE};
use bellhop_tests::{BellhopTester, KEY};
use serde_json::{json, Value};
use std::time::Duration;

fn alice() -> Value {
    member("500000000000000001", "alice", &[RESPONDER_ROLE])
}

fn bob() -> Value {
    member("500000000000000002", "bob", &[APPROVER_ROLE])
}

fn dave() -> Value {
    member("500000000000000004", "dave", &[])
}

async fn bot() -> BellhopTester {
    BellhopTester::start(Script::new(KEY), &["invite-user"]).await
}

/// The fields of an embed as (name, value).
fn fields(message: &Value) -> Vec<(String, String)> {
    message["embeds"][0]["fields"]
        .as_array()
        .expect("an embed with fields")
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_string(), f["value"].as_str().unwrap().to_string()))
        .collect()
}

const EPHEMERAL: u64 = 64;

#[tokio::test]
async fn the_bot_connects_and_registers_exactly_its_commands_in_the_guild() {
    let t = bot().await;
    let identify = t.fake.read(|s| s.frames_from_bot(2)[0].d.clone());
    assert_eq!(identify["token"], "Bot fake-token");
    assert_eq!(identify["intents"], 1 | 1 << 10, "GUILDS and GUILD_MESSAGE_REACTIONS, nothing privileged");
    let put = t.fake.read(|s| s.requests_to("PUT", "/applications/").into_iter().cloned().collect::<Vec<_>>());
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].path, format!("/applications/{}/guilds/{}/commands", payloads::APP, payloads::GUILD));
    let commands: Vec<Value> = t.fake.read(|s| s.commands.clone());
    let shape: Vec<Value> = commands.iter().map(|c| json!([c["name"], c["description"], options(c)])).collect();
    assert_eq!(
        shape,
        [
            json!(["health", "Probe the frontend, Supabase auth and REST, the edge functions and the database", []]),
            json!(["help", "List bellhop's commands", []]),
            json!([
                "template",
                "The runbook's message templates",
                [
                    ["subcommand", "list", "List the runbook's message templates and the values each needs", false, false, []],
                    [
                        "subcommand",
                        "show",
                        "Show a runbook template filled with sample values",
                        false,
                        false,
                        [["string", "name", "Template name", true, true, []],]
                    ],
                ]
            ]),
        ]
    );
}

/// A registered command's options as [kind, name, description, required, autocomplete, options].
fn options(command: &Value) -> Vec<Value> {
    let kind = |k: &Value| match k.as_u64() {
        Some(1) => "subcommand",
        Some(3) => "string",
        _ => "other",
    };
    command["options"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|o| json!([kind(&o["type"]), o["name"], o["description"], o["required"], o["autocomplete"], options(o)]))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn without_a_guild_the_commands_are_registered_globally() {
    let t = BellhopTester::start_with(Script::new(KEY), &["f"], &[("DISCORD_GUILD_ID", "")]).await;
    let puts: Vec<String> = t.fake.read(|s| s.requests_to("PUT", "/applications/").iter().map(|r| r.path.clone()).collect());
    assert_eq!(puts, [format!("/applications/{}/commands", payloads::APP)]);
}
