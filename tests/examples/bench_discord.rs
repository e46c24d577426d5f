//! Benchmark: the real `bellhop run` binary against the fake Discord. Measures the time from
//! dispatching INTERACTION_CREATE for `/health` to receiving the acknowledgement callback, over
//! many interactions while one target hangs, and the bot's resident memory once it is ready.
//!
//! Run it with `scripts/bench-discord`, which builds the release binary first.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::fake_discord::payloads::{self, RESPONDER_ROLE};
use bellhop_tests::fake_discord::FakeDiscord;
use bellhop_tests::KEY;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let binary = std::fs::canonicalize(args.next().unwrap_or_else(|| "target/release/bellhop".into()))?;
    let count: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1000);

    let fake = FakeDiscord::start().await;
    let platform = bellhop_tests::platform(Script::new(KEY).with("stuck", Behaviour::hang())).await;
    let dir = tempfile::tempdir()?;
    let bot = Command::new(&binary)
        .arg("run")
        .current_dir(dir.path())
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DISCORD_TOKEN", "fake-token")
        .env("DISCORD_HTTP_PROXY", &fake.rest_url)
        .env("DISCORD_GUILD_ID", payloads::GUILD)
        .env("DISCORD_RESPONDER_ROLES", RESPONDER_ROLE)
        .env("FRONTEND_URL", platform.url())
        .env("SUPABASE_URL", platform.url())
        .env("SUPABASE_ANON_KEY", KEY)
        .env("BELLHOP_FUNCTIONS", "stuck,invite-user,delete-user")
        .env("BELLHOP_PROBE_TIMEOUT", "2s")
        .env("BELLHOP_SLOW_AFTER", "1s")
        .env("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.path().join("bellhop.sqlite").display()))
        .stdout(Stdio::null())
        .spawn()?;
    let mut bot = KillOnDrop(bot);
    let started = Instant::now();
    fake.ready().await;
    let ready_in = started.elapsed();
    // Let the first heartbeat pass so the figure is the idle process, not its start.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle = memory(bot.0.id(), "VmRSS");

    let member = payloads::member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let mut latencies = Vec::with_capacity(count);
    let load = Instant::now();
    for _ in 0..count {
        let health = fake.slash(&member, "health", &[]);
        let callback = fake.callback(&health).await;
        assert_eq!(callback.body["type"], 5, "every /health is deferred");
        latencies.push(callback.at - health.sent_at);
    }
    let acked_in = load.elapsed();
    let path = |r: &bellhop_tests::fake_discord::Request| r.method == "POST" && r.path.starts_with("/webhooks/");
    fake.wait("every follow-up", |s| (s.requests.iter().filter(|r| path(r)).count() >= count).then_some(())).await;
    let answered_in = load.elapsed();
    let peak = memory(bot.0.id(), "VmHWM");

    Command::new("kill").args(["-TERM", &bot.0.id().to_string()]).status()?;
    let exit = bot.0.wait()?;

    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!("bellhop run (release) against the fake Discord on 127.0.0.1; target `stuck` hangs, probe timeout 2 s");
    println!("  ready (commands registered) after start   {:>8.1} ms", ms(ready_in));
    println!("  idle resident memory after READY          {:>8.1} MB", idle as f64 / 1024.0);
    println!("  /health interactions, one after another   {count:>8}");
    println!("  dispatch → ack (callback type 5)   p50    {:>8.2} ms", ms(at(0.50)));
    println!("                                     p99    {:>8.2} ms", ms(at(0.99)));
    println!("                                     max    {:>8.2} ms", ms(*latencies.last().unwrap()));
    println!("  all acknowledged in {:.2} s; all follow-ups in {:.2} s", acked_in.as_secs_f64(), answered_in.as_secs_f64());
    println!("  peak resident memory under that load      {:>8.1} MB", peak as f64 / 1024.0);
    println!("  exit on SIGTERM                           {:>8}", exit.code().map_or("signal".into(), |c| c.to_string()));
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A `/proc/<pid>/status` figure in kB.
fn memory(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Stops the bot when the benchmark fails half-way.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}
