//! A `bellhop run` process as in production (its HTTP server, its scheduler, its serenity client)
//! against the fake Discord and a store of the caller's, killed when dropped; and what the fake
//! shows of the ops channel. Used by the replica tests and the alert benchmarks.

use crate::fake_discord::{payloads, FakeDiscord, State};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The `bellhop` binary of the profile the caller was built with: beside `target/<profile>/deps`
/// (a test) or `target/<profile>/examples` (a benchmark).
pub fn binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().and_then(Path::parent).context("run from target/<profile>/deps or /examples")?;
    let binary = dir.join("bellhop");
    anyhow::ensure!(binary.exists(), "{} is missing: cargo build -p bellhop (with --release for a benchmark)", binary.display());
    Ok(binary)
}

/// One `bellhop run`, its HTTP address, and where it logs.
pub struct BotProcess {
    pub child: Child,
    pub url: String,
    token: String,
    log: tempfile::NamedTempFile,
}

impl BotProcess {
    /// Starts `bellhop run` on `store` with the ingest `token`, no scheduled sweep (its samples
    /// would be the probes'), and logs at `log_level`.
    pub fn start(fake: &FakeDiscord, store: &str, token: &str, log_level: &str) -> anyhow::Result<BotProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = tempfile::NamedTempFile::new()?;
        // The working directory may go once started: the process has what it needs from its environment.
        let dir = tempfile::tempdir()?;
        let child = Command::new(binary()?)
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
                ("BELLHOP_INGEST_TOKEN", token),
                ("BELLHOP_SWEEP_EVERY", "1h"),
                ("RUST_LOG", &format!("bellhop_commands={log_level},bellhop={log_level}")),
            ])
            .stdout(Stdio::null())
            .stderr(log.reopen()?)
            .spawn()
            .context("bellhop run starts")?;
        Ok(BotProcess { child, url: format!("http://127.0.0.1:{port}"), token: token.to_string(), log })
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Waits until the store answers through `/readyz` (another process has no signal to give).
    pub async fn ready(&self, client: &reqwest::Client) -> anyhow::Result<()> {
        for _ in 0..400 {
            let ready = client.get(format!("{}/readyz", self.url)).bearer_auth(&self.token).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("bellhop at {} never became ready; its log:\n{}", self.url, self.log())
    }

    /// POSTs `body` to `path` with the ingest token; the answer's status.
    pub async fn send(&self, client: &reqwest::Client, path: &str, body: String) -> anyhow::Result<u16> {
        let answer = client
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        Ok(answer.status().as_u16())
    }

    /// The process's resident memory, from `/proc/<pid>/status` (VmRSS), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS line")?;
        line.split_whitespace().nth(1).context("VmRSS has a figure")?.parse().context("VmRSS is a number")
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The ops channel's message titles in the order they were posted (their ids are snowflakes),
/// each as last edited.
pub fn ops_titles(state: &State) -> Vec<String> {
    state
        .messages
        .values()
        .filter(|m| m["channel_id"] == payloads::OPS_CHANNEL)
        .filter_map(|m| m["embeds"][0]["title"].as_str().map(str::to_string))
        .collect()
}

/// A process stopped (and reaped) when the benchmark that started it ends or fails half-way.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
