//! Benchmark: the real `bellhop run` binary on Slack (Socket Mode) against the fake Slack, while
//! one target hangs. A burst of 100 `/bellhop health` at once: envelope sent → acknowledged (p50,
//! p99, max; Slack gives up after 3 s), and how many were answered through their `response_url`
//! within 15 s.
//!
//! Run it with `scripts/bench-slack`, which builds the release binary first.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::bot_process::KillOnDrop;
use bellhop_tests::fake_slack::FakeSlack;
use bellhop_tests::slack_tester::{INCIDENTS, OPS, RESPONDERS, STATUS};
use bellhop_tests::KEY;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ANSWER_WITHIN: Duration = Duration::from_secs(15);
const BURST: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let binary = std::fs::canonicalize(std::env::args().nth(1).unwrap_or_else(|| "target/release/bellhop".into()))?;
    let platform = bellhop_tests::platform(Script::new(KEY).with("stuck", Behaviour::hang()).with("invite-user", Behaviour::ok())).await;
    let fake = FakeSlack::start().await;
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let bot = KillOnDrop(spawn(&binary, &fake, &platform.url(), dir.path().into())?);
    anyhow::ensure!(fake.wait_connected(Duration::from_secs(10)).await, "bellhop did not connect within 10 s");
    let connected = started.elapsed();

    let burst = Instant::now();
    let mut sent = Vec::new();
    for _ in 0..BURST {
        sent.push(fake.slash("U1", OPS, "health").await);
    }
    let mut answered = 0;
    for envelope in &sent {
        let left = ANSWER_WITHIN.saturating_sub(burst.elapsed());
        if fake.wait_response(envelope, left).await.is_some() {
            answered += 1;
        }
    }
    let answered_in = burst.elapsed();
    let acks = fake.acks();
    let mut latencies: Vec<Duration> = sent
        .iter()
        .filter_map(|e| acks.iter().find(|a| a.envelope_id == e.envelope_id && a.retry_attempt == 0))
        .map(|a| a.latency)
        .collect();
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1)) - 1).copied();
    println!("bellhop run on Slack ({})", binary.display());
    println!("  start → socket open: {connected:.0?}");
    println!(
        "  burst of {BURST} /bellhop health: acknowledged {}/{BURST}, ack p50 {:.1?} p99 {:.1?} max {:.1?}; answered {answered}/{BURST} in {answered_in:.1?}",
        latencies.len(),
        at(0.5).unwrap_or_default(),
        at(0.99).unwrap_or_default(),
        latencies.last().copied().unwrap_or_default()
    );
    let late = fake.read(|s| s.timed_out.len());
    println!("  acknowledged after Slack's 3 s: {late}");
    drop(bot);
    Ok(())
}

fn spawn(binary: &std::path::Path, fake: &FakeSlack, platform: &str, dir: PathBuf) -> anyhow::Result<std::process::Child> {
    Ok(Command::new(binary)
        .arg("run")
        .current_dir(&dir)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("SLACK_BOT_TOKEN", FakeSlack::BOT_TOKEN)
        .env("SLACK_APP_TOKEN", FakeSlack::APP_TOKEN)
        .env("SLACK_API_URL", fake.api_base())
        .env("SLACK_INCIDENTS_CHANNEL", INCIDENTS)
        .env("SLACK_STATUS_CHANNEL", STATUS)
        .env("SLACK_OPS_CHANNEL", OPS)
        .env("SLACK_RESPONDER_GROUPS", RESPONDERS)
        .env("FRONTEND_URL", platform)
        .env("SUPABASE_URL", platform)
        .env("SUPABASE_ANON_KEY", KEY)
        .env("BELLHOP_FUNCTIONS", "stuck,invite-user,delete-user")
        .env("BELLHOP_PROBE_TIMEOUT", "2s")
        .env("BELLHOP_SLOW_AFTER", "1s")
        .env("BELLHOP_HTTP_ADDR", "127.0.0.1:0")
        .env("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.join("bellhop.sqlite").display()))
        .stdout(Stdio::null())
        .spawn()?)
}
