//! The Slack adapter end to end: the real slack-morphism client (Socket Mode and the Web API)
//! against the fake Slack, bellhop's whole core and store behind it. Slash commands are
//! acknowledged at once and answered through their `response_url`; incidents get a thread under
//! their kickoff; the two-person gate counts Slack reactions; what Slack refuses for good goes
//! dead with one notice; a redelivered envelope acts once; Discord and Slack share one process.

use bellhop::demo::fixture::{self, Scale};
use bellhop::simulated::Script;
use bellhop_tests::fake_slack::{Message, BOT_USER, WAIT};
use bellhop_tests::slack_tester::{INCIDENTS, OPS, STATUS};
use bellhop_tests::{SlackTester, KEY};
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;
use std::time::Duration;

const ALICE: &str = "U1";
const BOB: &str = "U2";
const CAROL: &str = "U3";
const DAVE: &str = "U4";

/// Everything a message shows: its text and each block's text.
fn shown(message: &Message) -> String {
    flattened(&message.text, &message.blocks)
}

/// Everything an answer through `response_url` shows.
fn answer_text(answer: &Value) -> String {
    flattened(answer["text"].as_str().unwrap_or_default(), &answer["blocks"])
}

fn flattened(text: &str, blocks: &Value) -> String {
    let mut parts = vec![text.to_string()];
    if let Some(blocks) = blocks.as_array() {
        parts.extend(blocks.iter().filter_map(|b| b["text"]["text"].as_str().map(str::to_string)));
    }
    parts.join("\n")
}

/// Runs `/bellhop text` as `user` in `channel` and returns bellhop's answer.
async fn ask(t: &SlackTester, user: &str, channel: &str, text: &str) -> Value {
    let envelope = t.fake.slash(user, channel, text).await;
    let ack = t.fake.wait_ack(&envelope.envelope_id, WAIT).await.expect("the envelope is acknowledged");
    assert!(ack.latency < Duration::from_millis(2500), "acknowledged within Slack's 3 s: {:?}", ack.latency);
    t.fake.wait_response(&envelope, WAIT).await.unwrap_or_else(|| panic!("no answer to /bellhop {text}"))
}

#[tokio::test]
async fn health_is_acknowledged_at_once_and_answered_where_it_was_asked() {
    let t = SlackTester::start(Script::new(KEY), &[]).await;
    let answer = ask(&t, ALICE, OPS, "health").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let text = answer_text(&answer);
    assert!(text.contains("invite-user"), "the sweep names the function: {text}");

    let help = ask(&t, ALICE, OPS, "help").await;
    assert!(answer_text(&help).contains("*/bellhop incident declare severity:…"), "commands as Slack spells them: {help}");
    let unknown = ask(&t, ALICE, OPS, "frobnicate now").await;
    assert_eq!(unknown["response_type"], "ephemeral", "errors go only to who typed: {unknown}");
    assert!(answer_text(&unknown).contains("frobnicate"), "{unknown}");
    let malformed = ask(&t, ALICE, OPS, r#"incident declare severity:P1 title:"open"#).await;
    assert!(answer_text(&malformed).contains("closing \""), "{malformed}");
    let refused = ask(&t, DAVE, OPS, "incident declare severity:P2 title:x").await;
    assert_eq!(refused["response_type"], "ephemeral");
    assert!(answer_text(&refused).contains("is for a responder"), "dave holds no group: {refused}");
    assert!(t.fake.read(|s| s.unknown_methods.is_empty()));
}

#[tokio::test]
async fn an_incident_declared_in_slack_has_its_thread_and_pages_the_group() {
    let t = SlackTester::start(Script::new(KEY), &[("BELLHOP_PAGE_ONCALL", "S0ONCALL")]).await;
    let answer = ask(&t, ALICE, OPS, r#"incident declare severity:P1 title:"Invites failing <!channel> @here""#).await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    let kickoff = t.fake.wait_message(INCIDENTS, |m| m.thread_ts.is_none() && m.text.contains("INC-1"), WAIT).await.expect("the kickoff");
    let kickoff_text = shown(&kickoff);
    assert!(kickoff.text.starts_with("<!subteam^S0ONCALL>"), "the on-call group is paged: {}", kickoff.text);
    assert!(!kickoff_text.contains("<!channel>") && kickoff_text.contains("&lt;!channel&gt;"), "typed text pings nobody: {kickoff_text}");

    // No command runs inside a Slack thread: with one incident open, it is the one meant.
    let update = ask(&t, ALICE, OPS, r#"incident update text:"Rolled back the invite change""#).await;
    assert!(!answer_text(&update).contains('✗'), "{update}");
    t.fake
        .wait_message(INCIDENTS, |m| m.thread_ts.as_deref() == Some(kickoff.ts.as_str()) && shown(m).contains("Rolled back"), WAIT)
        .await
        .expect("the update in the thread");
    ask(&t, ALICE, OPS, "incident declare severity:P3 title:second").await;
    let which = ask(&t, ALICE, OPS, "incident ack").await;
    let which = answer_text(&which);
    assert!(which.contains("INC-1") && which.contains("INC-2"), "two open: the error names both: {which}");
}

/// The fixture loaded and bellhop on Slack against it.
async fn on_fixture(admin: &PgConnectOptions, store: Option<&str>) -> SlackTester {
    fixture::load(admin, Scale::TEST).await.expect("the fixture loads");
    let target = fixture::as_bellhop(admin).to_url_lossy().to_string();
    let mut env = vec![("SUPABASE_DB_URL", target.as_str()), ("BELLHOP_PAGE_APPROVERS", "S0APPROVERS")];
    if let Some(store) = store {
        env.push(("BELLHOP_DATABASE_URL", store));
    }
    SlackTester::start(Script::new(KEY), &env).await
}

/// Alice asks to disable `flag` in #ops; returns the approval post once bellhop's own ✅ and ❌ are on it.
async fn ask_to_disable(t: &SlackTester, flag: &str) -> Message {
    ask(t, ALICE, OPS, &format!("flags disable names:{flag}")).await;
    let post = t.fake.wait_message(OPS, |m| m.text.contains("Approval needed: PLAN-1"), WAIT).await.expect("the approval post");
    let mine = |m: &Message| {
        m.ts == post.ts && m.reacted("white_check_mark").contains(&BOT_USER.to_string()) && m.reacted("x").contains(&BOT_USER.to_string())
    };
    t.fake.wait_message(OPS, mine, WAIT).await.expect("bellhop's own ✅ and ❌")
}

async fn flag_on(admin: &PgConnectOptions, name: &str) -> bool {
    let mut su = admin.connect().await.unwrap();
    sqlx::query_scalar("SELECT is_enabled FROM public.feature_flags WHERE flag_name = $1").bind(name).fetch_one(&mut su).await.unwrap()
}

async fn outcome(t: &SlackTester, ts: &str) -> Message {
    t.fake.wait_message(OPS, |m| m.ts == ts && m.text.contains("PLAN-1 done"), WAIT).await.expect("the post showing the outcome")
}

async fn runs(t: &SlackTester) -> usize {
    t.core.store().recent_audit(100).await.unwrap().into_iter().filter(|e| e.outcome.starts_with("done")).count()
}

#[sqlx::test(migrations = false)]
async fn two_slack_approvers_run_a_plan_once_and_the_post_shows_it(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = on_fixture(&admin, None).await;
    // Alice is an approver too: her own ✅ is refused for being the requester, not for the role.
    t.fake.set_group("S0APPROVERS", &[ALICE, BOB, CAROL]);
    let post = ask_to_disable(&t, "new-tenant-flow").await;
    assert!(post.text.starts_with("<!subteam^S0APPROVERS>"), "it pages the approvers' group: {}", post.text);
    assert!(shown(&post).contains("Needs 2 more ✅"), "{}", shown(&post));

    t.fake.react(ALICE, OPS, &post.ts, "white_check_mark", true).await.expect("delivered");
    let requester = t.fake.wait_message(OPS, |m| m.ts == post.ts && m.edits >= 1, WAIT).await.expect("the post edited for alice");
    let requester = shown(&requester);
    assert!(requester.contains("@alice ✅: is the requester") && requester.contains("Needs 2 more ✅"), "not counted: {requester}");
    t.fake.react(BOB, OPS, &post.ts, "white_check_mark", true).await.expect("delivered");
    let one = t.fake.wait_message(OPS, |m| m.ts == post.ts && shown(m).contains("@bob"), WAIT).await.expect("the post counts bob");
    assert!(shown(&one).contains("Needs 1 more ✅"), "one approver is not enough: {}", shown(&one));
    t.fake.react(CAROL, OPS, &post.ts, "white_check_mark", true).await.expect("delivered");
    outcome(&t, &post.ts).await;
    assert!(!flag_on(&admin, "new-tenant-flow").await, "the flag is off");

    // Taking a ✅ back and giving it again, after the run, runs nothing again.
    t.fake.react(BOB, OPS, &post.ts, "white_check_mark", false).await;
    t.fake.react(BOB, OPS, &post.ts, "white_check_mark", true).await;
    ask(&t, ALICE, OPS, "help").await;
    assert_eq!(runs(&t).await, 1, "ran once");
}

#[sqlx::test(migrations = false)]
async fn an_approval_given_while_bellhop_was_down_counts_after_the_restart(_: PgPoolOptions, admin: PgConnectOptions) {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let mut t = on_fixture(&admin, Some(&store)).await;
    let post = ask_to_disable(&t, "housekeeping-board").await;
    t.fake.react(BOB, OPS, &post.ts, "white_check_mark", true).await.expect("delivered");
    t.fake.wait_message(OPS, |m| m.ts == post.ts && shown(m).contains("bob"), WAIT).await.expect("the post counts bob");
    t.stop_bot().await.expect("a clean stop");
    t.fake.disconnect_all().await;
    assert!(t.fake.react(CAROL, OPS, &post.ts, "white_check_mark", true).await.is_none(), "nobody is connected to hear it");
    t.restart().await;
    outcome(&t, &post.ts).await;
    assert!(!flag_on(&admin, "housekeeping-board").await, "bob's and carol's ✅ ran it");
    assert_eq!(runs(&t).await, 1);
}

#[tokio::test]
async fn a_deleted_channel_goes_dead_with_one_notice_in_ops() {
    let t = SlackTester::start(Script::new(KEY), &[]).await;
    t.fake.delete_channel(STATUS);
    ask(&t, ALICE, OPS, r#"incident declare severity:P2 title:"Slow logins""#).await;
    ask(&t, ALICE, OPS, "incident status-post").await;
    let notice = t.fake.wait_message(OPS, |m| m.text.contains("could not deliver"), WAIT).await.expect("a notice in ops");
    assert!(shown(&notice).contains("channel_not_found"), "{}", shown(&notice));
    ask(&t, ALICE, OPS, "help").await;
    let notices = t.fake.messages(OPS).iter().filter(|m| m.text.contains("could not deliver")).count();
    assert_eq!(notices, 1, "one notice, and the post is not retried");
    assert_eq!(t.core.store().dead_ops().await.unwrap(), 1);
}

#[tokio::test]
async fn a_redelivered_envelope_does_nothing_twice() {
    let t = SlackTester::start(Script::new(KEY), &[]).await;
    let envelope = t.fake.slash(ALICE, OPS, "incident declare severity:P2 title:once").await;
    t.fake.wait_response(&envelope, WAIT).await.expect("answered");
    t.fake.redeliver(&envelope).await;
    ask(&t, ALICE, OPS, "help").await;
    assert_eq!(t.fake.responses(&envelope).len(), 1, "answered once");
    let incidents = t.core.store().incidents(bellhop_commands::incident::ListState::All, 10).await.unwrap();
    assert_eq!(incidents.len(), 1, "declared once");

    // A reaction event redelivered after the person took the reaction back brings nothing back.
    let kickoff = t.fake.wait_message(INCIDENTS, |m| m.text.contains("INC-1"), WAIT).await.expect("the kickoff");
    // An update in the thread: by then bellhop has recorded the kickoff as its own.
    ask(&t, ALICE, OPS, "incident update text:looking").await;
    t.fake.wait_message(INCIDENTS, |m| m.thread_ts.as_deref() == Some(kickoff.ts.as_str()), WAIT).await.expect("the update in the thread");
    let mut handled = t.core.reactions_handled();
    let added = t.fake.react(BOB, INCIDENTS, &kickoff.ts, "white_check_mark", true).await.expect("delivered");
    t.fake.react(BOB, INCIDENTS, &kickoff.ts, "white_check_mark", false).await.expect("delivered");
    tokio::time::timeout(WAIT, handled.wait_for(|n| *n >= 2)).await.expect("both handled").unwrap();
    t.fake.redeliver(&added).await;
    // Events are handled in order: once carol's is, the redelivered one before it was too.
    t.fake.react(CAROL, INCIDENTS, &kickoff.ts, "white_check_mark", true).await.expect("delivered");
    tokio::time::timeout(WAIT, handled.wait_for(|n| *n >= 3)).await.expect("carol's handled").unwrap();
    let audit = t.core.store().recent_audit(100).await.unwrap();
    let mut reacts: Vec<String> =
        audit.iter().filter(|e| e.command.contains("react ")).map(|e| format!("{} {}", e.actor_name, e.command)).collect();
    reacts.sort();
    let ts = &kickoff.ts;
    assert_eq!(
        reacts,
        [format!("bob /react {ts} ✅"), format!("bob /unreact {ts} ✅"), format!("carol /react {ts} ✅")],
        "bob's ✅ is not back"
    );
}

/// Discord and Slack in one process, on one core and one store: an incident declared in each
/// chat is announced, threaded and answered in that chat only.
#[tokio::test]
async fn both_chats_in_one_process_keep_each_incident_in_its_own_chat() {
    use bellhop_tests::fake_discord::payloads::{member, INCIDENTS_CHANNEL, RESPONDER_ROLE};
    use bellhop_tests::fake_discord::FakeDiscord;
    use bellhop_tests::slack_tester::{config, platform_env, slack_env};
    use serde_json::json;

    let (discord, slack) = (FakeDiscord::start().await, bellhop_tests::fake_slack::FakeSlack::start().await);
    let platform = bellhop_tests::platform(Script::new(KEY)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let env =
        platform_env(&platform, &store, "invite-user").into_iter().chain(bellhop_tests::discord_env(&discord)).chain(slack_env(&slack));
    let config = config(env);
    let core = std::sync::Arc::new(bellhop::app::build_core(&config, std::sync::Arc::new(bellhop_commands::SystemClock)).await.unwrap());
    let discord_settings = bellhop_tests::discord_settings(&discord, &config);
    let slack_settings = bellhop::slack::Settings::from_config(&config).unwrap().with_connections(1, 1);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(bellhop::run::run_chats(core.clone(), Some(discord_settings), Some(slack_settings), async move {
        let _ = stopped.await;
    }));
    discord.ready().await;
    assert!(slack.wait_connected(WAIT).await);

    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let declared = discord.slash_with(&alice, "incident declare", &[("severity", json!("P2")), ("title", json!("Discord one"))]);
    discord.answer(&declared).await;
    let kickoff = discord
        .wait_request("the Discord kickoff", 1, |r| {
            r.method == "POST" && r.body["embeds"][0]["title"].as_str().is_some_and(|t| t.contains("Discord one"))
        })
        .await;
    assert_eq!(kickoff.path, format!("/channels/{INCIDENTS_CHANNEL}/messages"));
    discord.wait_request("the Discord thread", 1, |r| r.path.ends_with("/threads")).await;

    let envelope = slack.slash(ALICE, OPS, r#"incident declare severity:P2 title:"Slack one""#).await;
    slack.wait_response(&envelope, WAIT).await.expect("answered in Slack");
    let slack_kickoff = slack.wait_message(INCIDENTS, |m| m.text.contains("INC-2") && m.text.contains("Slack one"), WAIT).await;
    assert!(slack_kickoff.is_some(), "the Slack incident is announced in Slack");
    let update = slack.slash(ALICE, OPS, r#"incident update id:INC-2 text:"Slack side""#).await;
    slack.wait_response(&update, WAIT).await.expect("answered");
    let ts = slack_kickoff.unwrap().ts;
    slack
        .wait_message(INCIDENTS, |m| m.thread_ts.as_deref() == Some(ts.as_str()) && shown(m).contains("Slack side"), WAIT)
        .await
        .expect("in its Slack thread");

    assert!(slack.messages(INCIDENTS).iter().all(|m| !m.text.contains("Discord one")), "the Discord incident stays in Discord");
    let in_discord = discord.read(|s| s.requests.iter().filter(|r| r.method == "POST" && r.body.to_string().contains("Slack one")).count());
    assert_eq!(in_discord, 0, "the Slack incident stays in Slack");
    let owners: Vec<_> = [1, 2].iter().map(|id| bellhop_commands::Subject::incident(*id)).collect();
    assert_eq!(core.store().chat_of(owners[0]).await.unwrap().as_deref(), Some("discord"));
    assert_eq!(core.store().chat_of(owners[1]).await.unwrap().as_deref(), Some("slack"));
    let _ = stop.send(());
    running.await.unwrap().expect("a clean stop");
}

/// Against Slack the socket is `wss://`: the client must speak TLS there (a build without TLS for
/// the socket fails only in production, since the fake's socket is plain `ws://`). A Web API
/// answering `apps.connections.open` with a `wss://` address on loopback, and a listener there
/// that reads the first bytes: they are a TLS handshake, and nothing panics.
#[tokio::test]
async fn the_socket_to_slack_speaks_tls() {
    use tokio::io::AsyncReadExt;
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let wss = format!("wss://127.0.0.1:{}/link/?ticket=1", socket.local_addr().unwrap().port());
    let api = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let wss = wss.clone();
        async move {
            let body = match uri.path() {
                "/api/auth.test" => {
                    serde_json::json!({"ok": true, "url": "https://fake.slack.com/", "team": "T", "team_id": "T1", "user_id": "UBOT"})
                }
                "/api/apps.connections.open" => serde_json::json!({"ok": true, "url": wss}),
                _ => serde_json::json!({"ok": false, "error": "unknown_method"}),
            };
            axum::Json(body)
        }
    });
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("http://127.0.0.1:{}/api", http.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(http, api).await.unwrap() });

    let platform = bellhop_tests::platform(Script::new(KEY)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let fake = bellhop_tests::fake_slack::FakeSlack::start().await;
    let env = bellhop_tests::slack_tester::platform_env(&platform, &store, "invite-user")
        .into_iter()
        .chain(bellhop_tests::slack_tester::slack_env(&fake))
        .chain([("SLACK_API_URL".to_string(), api_url)]);
    let config = bellhop_tests::slack_tester::config(env);
    let core = std::sync::Arc::new(bellhop::app::build_core(&config, std::sync::Arc::new(bellhop_commands::SystemClock)).await.unwrap());
    let settings = bellhop::slack::Settings::from_config(&config).unwrap().with_connections(1, 1);
    let slack = bellhop::slack::start(settings, core).await.expect("the tokens are accepted");
    let (mut stream, _) = tokio::time::timeout(WAIT, socket.accept()).await.expect("the client connects").unwrap();
    let mut first = [0u8; 3];
    tokio::time::timeout(WAIT, stream.read_exact(&mut first)).await.expect("it writes").unwrap();
    assert_eq!(first[0], 0x16, "a TLS handshake record, not plain HTTP: {first:?}");
    assert_eq!(first[1], 0x03, "TLS 1.x: {first:?}");
    slack.stop().await;
}

/// Slack's 429 with `Retry-After`: the post waits as long as Slack asks, then goes once.
#[tokio::test]
async fn a_rate_limited_post_waits_as_long_as_slack_asks() {
    let t = SlackTester::start(Script::new(KEY), &[]).await;
    t.fake.rate_limit_next("chat.postMessage", 1);
    let asked = std::time::Instant::now();
    ask(&t, ALICE, OPS, r#"incident declare severity:P2 title:"Slow search""#).await;
    t.fake.wait_message(INCIDENTS, |m| m.text.contains("Slow search"), WAIT).await.expect("the kickoff, after the wait");
    let waited = asked.elapsed();
    // The outbox's own first backoff is 5 s: a post within it went when Slack said, not then.
    assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(4), "waited {waited:?}");
    let posts: Vec<_> =
        t.fake.calls().into_iter().filter(|c| c.method == "chat.postMessage" && c.body.to_string().contains("Slow search")).collect();
    assert_eq!(posts.len(), 2, "refused once, then posted");
    assert_eq!(t.fake.messages(INCIDENTS).iter().filter(|m| m.text.contains("Slow search")).count(), 1, "posted once");
    assert_eq!(t.core.store().dead_ops().await.unwrap(), 0);
}
