//! Two `bellhop run` on one PostgreSQL store and one Discord token: Discord delivers every
//! interaction and reaction to both, and between them they act once.

use bellhop::simulated::Script;
use bellhop_tests::fake_discord::payloads::{member, reaction, APP, APPROVER_ROLE, INCIDENTS_CHANNEL, RESPONDER_ROLE};
use bellhop_tests::{BellhopTester, KEY};
use serde_json::json;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;

#[sqlx::test(migrations = false)]
async fn two_replicas_declare_one_incident_and_count_a_reaction_once(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let store = options.to_url_lossy().to_string();
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("BELLHOP_DATABASE_URL", &store)]).await;
    let second = t.replica(&store, &["invite-user"]).await;
    t.fake.wait("both replicas connected", |s| (s.frames_from_bot(2).len() == 2).then_some(())).await;

    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let declare = t.fake.slash_with(&alice, "incident declare", &[("severity", json!("P1")), ("title", json!("Invites failing"))]);
    let answer = t.fake.answer(&declare).await;
    assert_eq!(answer["embeds"][0]["title"], "Declared INC-1 · P1 · Invites failing");
    let kickoff = t.fake.wait_request("the kickoff", 1, |r| r.is("POST", &format!("/channels/{INCIDENTS_CHANNEL}/messages"))).await;
    t.fake.wait_request("the thread", 1, |r| r.path.ends_with("/threads")).await;

    // A later command answered proves both replicas are past the declaration.
    let list = t.fake.slash(&alice, "incident list", &[]);
    let listed = t.fake.answer(&list).await;
    assert_eq!(listed["embeds"][0]["title"], "Open incidents: 1", "one incident, not two");
    let callbacks = t.fake.read(|s| s.requests.iter().filter(|r| r.path.starts_with(&format!("/interactions/{}/", declare.id))).count());
    assert_eq!(callbacks, 1, "one replica answered the interaction");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
    let kickoffs = t.fake.read(|s| s.requests.iter().filter(|r| r.is("POST", &kickoff.path)).count());
    assert_eq!(kickoffs, 1, "the kickoff was posted once");
    let threads = t.fake.read(|s| s.requests.iter().filter(|r| r.path.ends_with("/threads")).count());
    assert_eq!(threads, 1, "its thread opened once");

    let bob = member("500000000000000002", "bob", &[APPROVER_ROLE]);
    t.fake.add_member(bob.clone());
    let message = t.fake.wait("the kickoff's id", |s| s.newest_post()).await;
    let (mut one, mut two) = (t.core.reactions_handled(), second.core.reactions_handled());
    let (seen_one, seen_two) = (*one.borrow(), *two.borrow());
    t.fake.dispatch("MESSAGE_REACTION_ADD", reaction(INCIDENTS_CHANNEL, &message, "✅", &bob, true));
    // Each replica gets the event from its own gateway connection; both have handled it.
    let both = async {
        let (first, other) = tokio::join!(one.wait_for(|n| *n > seen_one), two.wait_for(|n| *n > seen_two));
        first.is_ok() && other.is_ok()
    };
    assert!(tokio::time::timeout(bellhop_tests::fake_discord::WAIT, both).await.expect("both replicas handle the reaction"));
    let on = bellhop_commands::MessageRef::new(INCIDENTS_CHANNEL, message.clone());
    let people = t.core.store().reactions_on(&on, "✅").await.unwrap();
    assert_eq!(people.len(), 1);
    let help = t.fake.slash(&alice, "help", &[]);
    t.fake.answer(&help).await;
    let audited = t.core.store().recent_audit(20).await.unwrap().into_iter().filter(|e| e.command.starts_with("/react")).count();
    assert_eq!(audited, 1, "both replicas saw the reaction; it counted once");
    second.stop().await.expect("the replica stops cleanly");
}

#[sqlx::test(migrations = false)]
async fn two_replicas_answer_a_deferred_command_once(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let store = options.to_url_lossy().to_string();
    let t = BellhopTester::start_with(Script::new(KEY), &["invite-user"], &[("BELLHOP_DATABASE_URL", &store)]).await;
    let second = t.replica(&store, &["invite-user"]).await;
    // Each replica takes interactions once its commands are registered (poise's setup).
    t.fake.wait("both replicas registered", |s| (s.requests.iter().filter(|r| r.method == "PUT").count() == 2).then_some(())).await;

    let alice = member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let health = t.fake.slash(&alice, "health", &[]);
    let answer = t.fake.answer(&health).await;
    assert!(answer["embeds"][0]["title"].as_str().is_some_and(|t| t.starts_with("Health: ")), "{answer}");
    // Both replicas defer at once; Discord takes the first deferral and refuses the other, whose
    // replica then stays silent. A later command answered proves both are past the first.
    let help = t.fake.slash(&alice, "help", &[]);
    t.fake.answer(&help).await;
    let tried = t.fake.read(|s| s.requests.iter().filter(|r| r.path.starts_with(&format!("/interactions/{}/", health.id))).count());
    let refusals = t.fake.read(|s| s.refusals.clone());
    let followups = t.fake.read(|s| s.requests.iter().filter(|r| r.is("POST", &format!("/webhooks/{}/{}", APP, health.token))).count());
    assert_eq!(tried, 2, "each replica deferred at once, before any store write");
    assert_eq!(refusals, vec![format!("interaction {} acknowledged twice", health.id)], "Discord refused the second");
    assert_eq!(followups, 1, "the health check is answered once");
    let claimed = t.core.store().claim_event(&format!("interaction:{}", health.id), chrono::Utc::now()).await.unwrap();
    assert!(!claimed, "the replica that answered recorded the interaction");
    second.stop().await.expect("the replica stops cleanly");
}
