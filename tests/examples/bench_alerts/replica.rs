//! A `bellhop run` process as in production (its HTTP server, its scheduler, its serenity client)
//! against the fake Discord and a PostgreSQL database of its own; and what the fake shows of the
//! ops channel.

use anyhow::Context as _;
use bellhop_tests::fake_discord::{payloads, FakeDiscord, State};
use sqlx::ConnectOptions as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::str::FromStr as _;
use std::time::Duration;

pub const TOKEN: &str = "bench-alerts-ingest-token-0123456789";

/// The release `bellhop` beside this example (`target/release/examples/..` → `target/release`).
fn binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let binary =
        exe.parent().and_then(|examples| examples.parent()).context("the example runs from target/<profile>/examples")?.join("bellhop");
    anyhow::ensure!(binary.exists(), "{} is missing: cargo build --release -p bellhop", binary.display());
    Ok(binary)
}

/// A fresh, empty database named `name` on the server of `admin` (dropped first if left over
/// from an earlier run), as a URL for `BELLHOP_DATABASE_URL`.
pub async fn fresh_store(admin: &str, name: &str) -> anyhow::Result<String> {
    let options = sqlx::postgres::PgConnectOptions::from_str(admin).context("the PostgreSQL URL")?;
    let mut connection = options.connect().await.context("cannot reach PostgreSQL")?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut connection).await?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await?;
    Ok(options.database(name).to_url_lossy().to_string())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One `bellhop run`; killed when dropped.
pub struct Replica {
    child: Child,
    pub url: String,
    log: tempfile::NamedTempFile,
}

impl Replica {
    pub fn start(fake: &FakeDiscord, store: &str) -> anyhow::Result<Replica> {
        let port = free_port()?;
        let log = tempfile::NamedTempFile::new()?;
        let child = Command::new(binary()?)
            .arg("run")
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
                // No sweep during the benchmark: its samples would be the simulated platform's.
                ("BELLHOP_SWEEP_EVERY", "1h"),
                ("RUST_LOG", "bellhop_commands=warn,bellhop=warn"),
            ])
            .stdout(Stdio::null())
            .stderr(log.reopen()?)
            .spawn()
            .context("bellhop run starts")?;
        Ok(Replica { child, url: format!("http://127.0.0.1:{port}"), log })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Waits until the store answers through `/readyz`.
    pub async fn ready(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        for _ in 0..400 {
            let ready = client.get(format!("{}/readyz", self.url)).bearer_auth(TOKEN).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("bellhop at {} never became ready; its log:\n{}", self.url, self.log())
    }

    /// The process's resident memory, from `/proc/<pid>/status` (VmRSS), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
        line.split_whitespace().nth(1).context("VmRSS has a figure")?.parse().context("VmRSS is a number")
    }

    /// POSTs `body` to `path` with the ingest token; the answer's status.
    pub async fn send(&self, client: &reqwest::Client, path: &str, body: String) -> anyhow::Result<u16> {
        let answer = client
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        Ok(answer.status().as_u16())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `count` replicas on `store` and waits until each has connected to the fake, registered
/// its commands, and answers `/readyz`.
pub async fn start(fake: &FakeDiscord, store: &str, count: usize, client: &reqwest::Client) -> anyhow::Result<Vec<Replica>> {
    let replicas = (0..count).map(|_| Replica::start(fake, store)).collect::<anyhow::Result<Vec<_>>>()?;
    let connected = |s: &State| {
        let registered = s.requests.iter().filter(|r| r.method == "PUT" && r.path.ends_with("/commands")).count();
        (registered >= count && s.frames_from_bot(2).len() >= count).then_some(())
    };
    if fake.wait_within(Duration::from_secs(30), connected).await.is_none() {
        let logs: Vec<String> = replicas.iter().map(Replica::log).collect();
        anyhow::bail!("the replicas never connected to the fake Discord; their logs:\n{}", logs.join("\n---\n"));
    }
    for replica in &replicas {
        replica.ready(client).await?;
    }
    Ok(replicas)
}

/// The ops channel's messages in the order they were posted (their ids are snowflakes), each
/// with its title as last edited.
pub fn ops_titles(state: &State) -> Vec<String> {
    state
        .messages
        .values()
        .filter(|m| m["channel_id"] == payloads::OPS_CHANNEL)
        .filter_map(|m| m["embeds"][0]["title"].as_str().map(str::to_string))
        .collect()
}

/// How many edits of ops-channel messages bellhop asked for (429s included).
pub fn ops_edits(state: &State) -> usize {
    let prefix = format!("/channels/{}/messages/", payloads::OPS_CHANNEL);
    state.requests_to("PATCH", &prefix).len()
}
