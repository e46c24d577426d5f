//! Two `bellhop run` processes on one PostgreSQL store behind a load balancer, against the fake
//! Discord: samples split between their HTTP servers fire what one replica would, posted once;
//! `kill -9` of the replica judging the alerts, and the other takes over and posts the next one.
//!
//! It runs the `bellhop` binary that `cargo test --workspace` builds beside this test.

use bellhop_tests::bot_process::{ops_titles, BotProcess};
use bellhop_tests::fake_discord::{FakeDiscord, State};
use serde_json::Value;

const TOKEN: &str = "replica-ingest-token-0123456789";

fn start(fake: &FakeDiscord, store: &str) -> BotProcess {
    BotProcess::start(fake, store, TOKEN, "info").expect("bellhop run starts")
}

/// Whether this replica says it judges the alerts now.
fn judges(replica: &BotProcess) -> bool {
    replica.log().lines().rev().find(|l| l.contains("judges the alerts now")).is_some_and(|l| l.contains("this replica"))
}

async fn failures(replica: &BotProcess, client: &reqwest::Client, function: &str, count: usize) {
    let samples: Vec<Value> = (0..count).map(|_| serde_json::json!({"function": function, "ok": false, "latency_ms": 40})).collect();
    let status = replica.send(client, "/events", serde_json::to_string(&samples).unwrap()).await.expect("the replica answers");
    assert_eq!(status, 200, "{}", replica.log());
}

/// The titles of the posts in the ops channel about `function`.
fn alerts_about(state: &State, function: &str) -> Vec<String> {
    ops_titles(state).into_iter().filter(|t| t.contains(&format!(" {function} "))).collect()
}

#[sqlx::test(migrations = false)]
async fn two_processes_fire_what_one_would_once_and_survive_a_kill(
    _: sqlx::postgres::PgPoolOptions,
    options: sqlx::postgres::PgConnectOptions,
) {
    use sqlx::ConnectOptions as _;
    let store = options.to_url_lossy().to_string();
    let fake = FakeDiscord::start().await;
    let client = reqwest::Client::new();
    let mut replicas = vec![start(&fake, &store), start(&fake, &store)];
    for replica in &replicas {
        replica.ready(&client).await.unwrap();
    }
    // 6 failures each: neither replica alone sees more than 10 a minute; together they do.
    for replica in &replicas {
        failures(replica, &client, "invite-user", 6).await;
    }
    fake.wait("the alert of invite-user", |s| (!alerts_about(s, "invite-user").is_empty()).then_some(())).await;
    let judge = replicas.iter().position(judges).expect("one replica says it judges the alerts");
    let mut dead = replicas.remove(judge);
    dead.child.kill().expect("kill -9 the replica judging the alerts");
    dead.child.wait().expect("it stops");
    let alive = &replicas[0];
    failures(alive, &client, "trial-signup", 12).await;
    fake.wait("the other replica's alert of trial-signup", |s| (!alerts_about(s, "trial-signup").is_empty()).then_some(())).await;
    assert!(judges(alive), "the survivor took the lease over: {}", alive.log());
    let (invites, trials) = fake.read(|s| (alerts_about(s, "invite-user"), alerts_about(s, "trial-signup")));
    assert_eq!(invites, ["🚨 P1 alert: invite-user (alert 1)"], "posted once between the two");
    assert_eq!(trials, ["🚨 P1 alert: trial-signup (alert 2)"]);
}
