//! Two `bellhop run` processes on one PostgreSQL store behind a load balancer, against the fake
//! Discord: samples split between their HTTP servers fire what one replica would, posted once;
//! `kill -9` of the replica judging the alerts, and the other takes over and posts the next one.
//!
//! It runs the `bellhop` binary that `cargo test --workspace` builds beside this test.

use bellhop_tests::fake_discord::{payloads, FakeDiscord, State};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const TOKEN: &str = "replica-ingest-token-0123456789";

/// The `bellhop` binary next to this test's own executable (`target/debug/bellhop`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("tests run from target/<profile>/deps");
    let binary = dir.join("bellhop");
    assert!(binary.exists(), "{} is missing: build it first (cargo build -p bellhop, or cargo test --workspace)", binary.display());
    binary
}

/// A free port on loopback for a replica's HTTP server.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// One `bellhop run`, its HTTP address, and where it logs.
struct Replica {
    child: Child,
    url: String,
    log: tempfile::NamedTempFile,
}

impl Replica {
    fn start(fake: &FakeDiscord, store: &str) -> Replica {
        let port = free_port();
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let dir = tempfile::tempdir().expect("a working directory");
        let child = Command::new(binary())
            .arg("run")
            .current_dir(dir.path())
            .env_clear()
            .envs([
                ("DISCORD_TOKEN", "fake-token"),
                ("DISCORD_HTTP_PROXY", fake.rest_url.as_str()),
                ("DISCORD_GUILD_ID", payloads::GUILD),
                ("DISCORD_RESPONDER_ROLES", payloads::RESPONDER_ROLE),
                ("DISCORD_APPROVER_ROLES", payloads::APPROVER_ROLE),
                ("DISCORD_INCIDENTS_CHANNEL", payloads::INCIDENTS_CHANNEL),
                ("DISCORD_STATUS_CHANNEL", payloads::STATUS_CHANNEL),
                ("DISCORD_OPS_CHANNEL", payloads::OPS_CHANNEL),
                ("FRONTEND_URL", "http://127.0.0.1:9"),
                ("BELLHOP_DATABASE_URL", store),
                ("BELLHOP_HTTP_ADDR", &format!("127.0.0.1:{port}")),
                ("BELLHOP_INGEST_TOKEN", TOKEN),
                ("BELLHOP_SWEEP_EVERY", "1h"),
                ("RUST_LOG", "bellhop_commands=info,bellhop=info"),
            ])
            .stdout(Stdio::null())
            .stderr(log.reopen().expect("the log file opens"))
            .spawn()
            .expect("bellhop run starts");
        // The working directory may go: the process has what it needs from its environment.
        drop(dir);
        Replica { child, url: format!("http://127.0.0.1:{port}"), log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Whether this replica says it judges the alerts now.
    fn judges(&self) -> bool {
        self.log().lines().rev().find(|l| l.contains("judges the alerts now")).is_some_and(|l| l.contains("this replica"))
    }

    async fn ready(&self, client: &reqwest::Client) {
        for _ in 0..200 {
            let ready = client.get(format!("{}/readyz", self.url)).bearer_auth(TOKEN).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("bellhop at {} never became ready; its log:\n{}", self.url, self.log());
    }

    async fn failures(&self, client: &reqwest::Client, function: &str, count: usize) {
        let samples: Vec<Value> = (0..count).map(|_| serde_json::json!({"function": function, "ok": false, "latency_ms": 40})).collect();
        let answer =
            client.post(format!("{}/events", self.url)).bearer_auth(TOKEN).json(&samples).send().await.expect("the replica answers");
        assert!(answer.status().is_success(), "{}", answer.text().await.unwrap_or_default());
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The titles of the posts in the ops channel about `function`.
fn alerts_about(state: &State, function: &str) -> Vec<String> {
    state
        .messages
        .values()
        .filter(|m| m["channel_id"] == payloads::OPS_CHANNEL)
        .filter_map(|m| m["embeds"][0]["title"].as_str().map(str::to_string))
        .filter(|t| t.contains(&format!(" {function} ")))
        .collect()
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
    let mut replicas = vec![Replica::start(&fake, &store), Replica::start(&fake, &store)];
    for replica in &replicas {
        replica.ready(&client).await;
    }
    // 6 failures each: neither replica alone sees more than 10 a minute; together they do.
    for replica in &replicas {
        replica.failures(&client, "invite-user", 6).await;
    }
    fake.wait("the alert of invite-user", |s| (!alerts_about(s, "invite-user").is_empty()).then_some(())).await;
    let judge = replicas.iter().position(Replica::judges).expect("one replica says it judges the alerts");
    let mut dead = replicas.remove(judge);
    dead.child.kill().expect("kill -9 the replica judging the alerts");
    dead.child.wait().expect("it stops");
    let alive = &replicas[0];
    alive.failures(&client, "trial-signup", 12).await;
    fake.wait("the other replica's alert of trial-signup", |s| (!alerts_about(s, "trial-signup").is_empty()).then_some(())).await;
    assert!(alive.judges(), "the survivor took the lease over: {}", alive.log());
    let (invites, trials) = fake.read(|s| (alerts_about(s, "invite-user"), alerts_about(s, "trial-signup")));
    assert_eq!(invites, ["🚨 P1 alert: invite-user (alert 1)"], "posted once between the two");
    assert_eq!(trials, ["🚨 P1 alert: trial-signup (alert 2)"]);
}
