//! The real bellhop bot (serenity/poise) against a fake Discord on 127.0.0.1: connecting,
//! registering, answering slash commands, reactions, reconnecting and refusing.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::fake_discord::payloads::{self, member, APPROVER_ROLE, RESPONDER_ROLE};
use bellhop_tests::fake_discord::{FakeDiscord, RateLimit};
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
    let names: Vec<&str> = commands.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "health",
            "template",
            "incident",
            "maintenance",
            "db",
            "auth",
            "migrations",
            "flags",
            "sessions",
            "rls",
            "break-glass",
            "outbox",
            "audit",
            "deploy",
            "functions",
            "backups",
            "help"
        ]
    );
    let shape = |name: &str| commands.iter().find(|c| c["name"] == name).map(|c| json!([c["name"], c["description"], options(c)])).unwrap();
    assert_eq!(
        [&shape("health"), &shape("help"), &shape("template")],
        [
            &json!(["health", "Probe the frontend, Supabase auth and REST, the edge functions and the database", []]),
            &json!(["help", "List bellhop's commands", []]),
            &json!([
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
    assert!(t.fake.read(|s| s.refusals.is_empty()), "Discord's rules hold: {:?}", t.fake.read(|s| s.refusals.clone()));
    let subcommands = |group: &str| -> Vec<String> {
        let group = commands.iter().find(|c| c["name"] == group).expect("the group is registered");
        group["options"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(
        subcommands("incident"),
        [
            "declare",
            "ack",
            "update",
            "status-post",
            "severity",
            "commander",
            "resolve",
            "escalate",
            "list",
            "show",
            "timeline",
            "postmortem",
            "evidence"
        ]
    );
    assert_eq!(subcommands("maintenance"), ["schedule", "emergency", "list", "cancel"]);
    let incident = commands.iter().find(|c| c["name"] == "incident").unwrap();
    let severity = &incident["options"][0]["options"][0];
    assert_eq!((severity["name"].as_str(), severity["required"].as_bool()), (Some("severity"), Some(true)));
    let choices: Vec<&str> = severity["choices"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(choices, ["P0", "P1", "P2", "P3"], "a closed set is offered as choices");
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

#[tokio::test]
async fn health_answers_with_each_targets_real_state() {
    let script = Script::new(KEY)
        .with("fast", Behaviour::ok())
        .with("sluggish", Behaviour::ok().delayed(Duration::from_millis(600)))
        .with("broken", Behaviour::status(500))
        .with("locked", Behaviour::error_code(401, "UNAUTHORIZED_INVALID_JWT_FORMAT"));
    let t = BellhopTester::start(script, &["fast", "sluggish", "broken", "locked"]).await;
    let health = t.fake.slash(&alice(), "health", &[]);
    let callback = t.fake.callback(&health).await;
    assert_eq!(callback.body["type"], 5, "/health waits on the network, so it is deferred at once: {}", callback.body);
    let answer = t.fake.answer(&health).await;
    let by_name = |name: &str| fields(&answer).into_iter().find(|(n, _)| n == name).map(|(_, v)| v).unwrap_or_default();
    assert!(by_name("fast").starts_with("🟢 up"), "{}", by_name("fast"));
    assert!(by_name("sluggish").starts_with("🟡 slow"), "{}", by_name("sluggish"));
    assert!(by_name("broken").starts_with("🔴 down") && by_name("broken").ends_with("HTTP 500"), "{}", by_name("broken"));
    assert!(by_name("locked").starts_with("🟠 misconfigured"), "{}", by_name("locked"));
    let embed = &answer["embeds"][0];
    assert_eq!(embed["title"], "Health: 3 of 8 targets need attention");
    assert_eq!(embed["color"], 0xC62828, "a target is down: red");
    assert_eq!(answer["allowed_mentions"], json!({"parse": [], "users": [], "roles": [], "replied_user": false}));
}

#[tokio::test]
async fn health_is_deferred_before_a_single_target_is_probed() {
    let stuck = Behaviour::hang();
    let t = BellhopTester::start(Script::new(KEY).with("stuck", stuck.clone()), &["stuck"]).await;
    let health = t.fake.slash(&alice(), "health", &[]);
    let callback = t.fake.callback(&health).await;
    assert_eq!(callback.body["type"], 5, "deferred, publicly as /health answers: {}", callback.body);
    assert_eq!(callback.body["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL, 0);
    let followup = t.fake.followup(&health).await;
    let probed = stuck.first_request().expect("the hung target was probed");
    assert!(callback.at < probed, "acknowledged before the probes started, not after a wait");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
    let stuck = fields(&followup.body).into_iter().find(|(name, _)| name == "stuck").expect("the hung target is named");
    assert!(stuck.1.starts_with("🔴 down") && stuck.1.contains("timed out"), "{}", stuck.1);
}

/// serenity runs each gateway event in a task of its own, so nothing here depends on the order
/// the 300 are handled in: the test waits until the fake has an answer to every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_300_health_is_answered_300_times() {
    let t = BellhopTester::start(Script::new(KEY).with("stuck", Behaviour::hang()), &["stuck"]).await;
    let burst: Vec<_> = (0..300).map(|_| t.fake.slash(&alice(), "health", &[])).collect();
    let answers = t.fake.answers(&burst).await;
    assert_eq!(answers.len(), 300);
    assert!(answers.iter().all(|a| a["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("Health"))), "every answer is a sweep");
    let callbacks = t.fake.read(|s| s.requests_to("POST", "/interactions/").len());
    assert_eq!(callbacks, 300, "each acknowledged once");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "none acknowledged late: {:?}", t.fake.read(|s| s.refusals.clone()));
}

#[tokio::test]
async fn an_interaction_that_reaches_bellhop_late_is_deferred_by_its_creation_time() {
    let t = bot().await;
    // Created 2 s ago: past the safety net, with 1 s of Discord's 3 s left.
    let help = t.fake.slash_late(&alice(), "help", Duration::from_secs(2));
    let callback = t.fake.callback(&help).await;
    assert_eq!(
        (callback.body["type"].as_u64(), callback.body["data"]["flags"].as_u64()),
        (Some(5), Some(EPHEMERAL)),
        "privately, as /help answers"
    );
    let answer = t.fake.answer(&help).await;
    assert!(answer["embeds"][0].to_string().contains("/health"), "{answer}");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

#[tokio::test]
async fn a_command_that_needs_no_network_is_answered_directly() {
    let t = bot().await;
    let help = t.fake.slash(&alice(), "help", &[]);
    let callback = t.fake.callback(&help).await;
    assert_eq!((callback.body["type"].as_u64(), callback.body["data"]["flags"].as_u64()), (Some(4), Some(EPHEMERAL)));
}

#[tokio::test]
async fn template_names_autocomplete_and_an_unknown_one_is_an_ephemeral_error() {
    let t = bot().await;
    let typing = t.fake.autocomplete(&alice(), "template show", &[("name", "P")], "name");
    let callback = t.fake.callback(&typing).await;
    assert_eq!(callback.body["type"], 8);
    let choices: Vec<&str> = callback.body["data"]["choices"].as_array().unwrap().iter().map(|c| c["value"].as_str().unwrap()).collect();
    assert_eq!(choices, ["maintenance-completed", "p0-investigating", "p1-alert"], "names containing `P`, any case");

    let shown = t.fake.slash(&alice(), "template show", &[("name", "p1-alert")]);
    let answer = t.fake.answer(&shown).await;
    assert_eq!(answer["embeds"][0]["title"], "Template p1-alert (sample values)");

    let unknown = t.fake.slash(&alice(), "template show", &[("name", "p9-panic")]);
    let callback = t.fake.callback(&unknown).await;
    assert_eq!((callback.body["type"].as_u64(), callback.body["data"]["flags"].as_u64()), (Some(4), Some(EPHEMERAL)));
    assert_eq!(
        callback.body["data"]["embeds"][0]["description"],
        "There is no template `p9-panic`; the templates are maintenance-completed, maintenance-emergency, maintenance-scheduled, maintenance-started, p0-investigating, p1-alert, resolved."
    );
}

#[tokio::test]
async fn everyone_and_role_mentions_in_an_option_ping_nobody() {
    let t = bot().await;
    let text = format!("@everyone @here <@&{RESPONDER_ROLE}> <@500000000000000002>");
    let typed = t.fake.slash(&alice(), "template show", &[("name", &text)]);
    let answer = t.fake.answer(&typed).await;
    assert!(answer["embeds"][0]["description"].as_str().unwrap().contains("@everyone"), "the text is shown, inert: {answer}");
    assert_eq!(answer["allowed_mentions"], json!({"parse": [], "users": [], "roles": [], "replied_user": false}));
    assert_eq!(answer.get("content"), None, "no message text that could ping");
}

#[tokio::test]
async fn a_member_without_a_role_gets_an_ephemeral_refusal() {
    let t = bot().await;
    let health = t.fake.slash(&dave(), "health", &[]);
    let callback = t.fake.callback(&health).await;
    assert_eq!((callback.body["type"].as_u64(), callback.body["data"]["flags"].as_u64()), (Some(4), Some(EPHEMERAL)), "not deferred");
    assert_eq!(
        callback.body["data"]["embeds"][0]["description"],
        "`/health` is for a responder, approver or admin; ask an admin for the role."
    );
    let audit = t.core.store().recent_audit(1).await.unwrap();
    assert_eq!((audit[0].actor_name.as_str(), audit[0].outcome.starts_with("refused")), ("dave", true));
}

#[tokio::test]
async fn reactions_on_the_bots_messages_reach_the_core_with_the_right_actor() {
    let t = bot().await;
    t.fake.add_member(bob());
    let declare = t.fake.slash(&alice(), "incident declare", &[("severity", "P2"), ("title", "Reports slow")]);
    t.fake.answer(&declare).await;
    let kickoff =
        t.fake.wait_request("the kickoff", 1, |r| r.is("POST", &format!("/channels/{}/messages", payloads::INCIDENTS_CHANNEL))).await;
    let message = t.fake.wait("the kickoff's id", |s| s.newest_post()).await;
    assert_eq!(kickoff.body["embeds"][0]["title"], "🚨 INC-1 · P2 · Reports slow");
    let mut handled = t.core.reactions_handled();
    let before = *handled.borrow();
    t.fake.dispatch("MESSAGE_REACTION_ADD", payloads::reaction(payloads::INCIDENTS_CHANNEL, &message, "✅", &bob(), true));
    let added = audited_once(&t, &mut handled, before + 1, &format!("/react {message} ✅")).await;
    assert_eq!((added.actor_id.as_str(), added.actor_name.as_str()), ("discord:500000000000000002", "bob"));
    assert_eq!(added.outcome, "ok on incident:1, by a person with approver", "bob's Discord role reached the core as a bellhop role");
    // Discord sends no member with a removal: the bot fetches it.
    t.fake.dispatch("MESSAGE_REACTION_REMOVE", payloads::reaction(payloads::INCIDENTS_CHANNEL, &message, "✅", &bob(), false));
    t.fake.wait_request("GET member", 1, |r| r.is("GET", &format!("/guilds/{}/members/500000000000000002", payloads::GUILD))).await;
    let removal = audited_once(&t, &mut handled, before + 2, &format!("/unreact {message} ✅")).await;
    assert_eq!((removal.actor_id.as_str(), removal.actor_name.as_str()), ("discord:500000000000000002", "bob"));
    assert_eq!(removal.outcome, "ok on incident:1, by a person with approver", "the fetched member's roles too");
}

#[tokio::test]
async fn reactions_on_messages_bellhop_did_not_post_cost_no_request() {
    let t = bot().await;
    let foreign = "700000000000000009";
    let mut reaction = payloads::reaction(payloads::CHANNEL, foreign, "✅", &bob(), false);
    reaction["message_author_id"] = json!("500000000000000002");
    t.fake.dispatch("MESSAGE_REACTION_REMOVE", payloads::reaction(payloads::CHANNEL, foreign, "✅", &bob(), false));
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction);
    // A command after them is answered only once they were handled: the gateway keeps order.
    let help = t.fake.slash(&alice(), "help", &[]);
    t.fake.answer(&help).await;
    assert!(t.fake.read(|s| s.requests_to("GET", "/guilds/").is_empty()), "no member was looked up");
    let audit = t.core.store().recent_audit(5).await.unwrap();
    assert!(audit.iter().all(|e| !e.command.starts_with("/react") && !e.command.starts_with("/unreact")), "{audit:?}");
}

#[tokio::test]
async fn after_the_gateway_closes_the_bot_resumes_and_the_next_command_works() {
    let t = bot().await;
    t.fake.close(4000);
    t.fake.wait("the bot to resume", |s| (!s.frames_from_bot(6).is_empty()).then_some(())).await;
    let help = t.fake.slash(&alice(), "help", &[]);
    let answer = t.fake.answer(&help).await;
    assert!(answer["embeds"][0].to_string().contains("/health"), "{answer}");
    assert_eq!(t.fake.read(|s| s.frames_from_bot(2).len()), 1, "resumed, not identified again");
}

#[tokio::test]
async fn a_failed_registration_stops_the_bot_with_a_clear_error() {
    let fake = FakeDiscord::start().await;
    fake.update(|s| s.refuse_registration = true);
    let t = BellhopTester::boot_on(fake, Script::new(KEY), &["f"], &[]).await;
    let error = t.ended().await.expect_err("the bot stops");
    let message = format!("{error:#}");
    assert!(message.contains("cannot register the slash commands"), "{message}");
}

#[tokio::test]
async fn an_invalid_token_stops_the_bot() {
    let t = bot().await;
    t.fake.close(4004);
    let error = t.ended().await.expect_err("a fatal close ends run");
    assert!(format!("{error:#}").contains("the Discord connection failed"), "{error:#}");
}

#[tokio::test]
async fn the_bot_stops_cleanly_when_asked() {
    let t = bot().await;
    t.stop().await.expect("a clean stop");
}

/// Waits until the core has handled `count` reaction events, then reads the audit entry the last
/// one wrote.
async fn audited_once(
    t: &BellhopTester,
    handled: &mut tokio::sync::watch::Receiver<u64>,
    count: u64,
    command: &str,
) -> bellhop_commands::store::AuditEntry {
    tokio::time::timeout(bellhop_tests::fake_discord::WAIT, handled.wait_for(|n| *n >= count))
        .await
        .unwrap_or_else(|_| panic!("no reaction was handled for {command}"))
        .unwrap();
    let newest = t.core.store().recent_audit(1).await.unwrap();
    newest.into_iter().find(|e| e.command == command).unwrap_or_else(|| panic!("{command} is not the newest audit entry"))
}

#[tokio::test]
async fn after_a_session_timeout_the_bot_identifies_again_and_the_next_command_works() {
    let t = bot().await;
    t.fake.close(4009);
    t.fake.wait("a second IDENTIFY (serenity waits 5 s before a shard restart)", |s| (s.frames_from_bot(2).len() == 2).then_some(())).await;
    let help = t.fake.slash(&bob(), "help", &[]);
    let answer = t.fake.answer(&help).await;
    assert!(answer["embeds"][0].to_string().contains("/template show"), "{answer}");
    assert_eq!(t.fake.read(|s| s.requests_to("PUT", "/applications/").len()), 1, "setup runs once");
    let acked = |s: &bellhop_tests::fake_discord::State| {
        let after_beat = s.frames.iter().skip_while(|f| !(f.from_bot && f.op == 1)).skip(1);
        after_beat.into_iter().any(|f| !f.from_bot && f.op == 11).then_some(())
    };
    t.fake.wait("a heartbeat on the new session, acknowledged", acked).await;
}

#[tokio::test]
async fn a_command_bellhop_does_not_know_gets_a_short_private_answer() {
    let t = bot().await;
    let stale = t.fake.slash(&alice(), "frobnicate", &[]);
    let callback = t.fake.callback(&stale).await;
    assert_eq!((callback.body["type"].as_u64(), callback.body["data"]["flags"].as_u64()), (Some(4), Some(EPHEMERAL)));
    assert_eq!(
        callback.body["data"]["content"],
        "bellhop does not know /frobnicate; its commands may have just changed. /help lists them."
    );
}

/// Switched on, the fake refuses a channel's sixth message within 5 s as Discord does (429, how
/// long to wait, the bucket's headers) and counts it: the alert benchmark reads that count.
#[tokio::test]
async fn the_fakes_rate_limit_answers_429_to_a_sixth_message_within_five_seconds() {
    let fake = FakeDiscord::start().await;
    fake.limit_messages(RateLimit::DISCORD);
    let client = reqwest::Client::new();
    let url = format!("{}/api/v10/channels/{}/messages", fake.rest_url, payloads::OPS_CHANNEL);
    let post = |i: usize| client.post(&url).json(&json!({"content": format!("message {i}")})).send();
    for i in 0..5 {
        let passed = post(i).await.expect("the fake answers");
        assert_eq!(passed.status(), 200);
        assert_eq!(passed.headers()["x-ratelimit-remaining"], (4 - i).to_string().as_str());
    }
    let refused = post(5).await.expect("the fake answers");
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-ratelimit-remaining"], "0");
    let body: Value = refused.json().await.expect("a JSON body");
    assert_eq!(body["message"], "You are being rate limited.");
    assert_eq!(body["global"], false);
    assert!(body["retry_after"].as_f64().is_some_and(|s| s > 4.0 && s <= 5.0), "{body}");
    assert_eq!(fake.read(|s| (s.rate_limited, s.messages.len())), (1, 5), "counted, and not posted");
}
