//! Benchmark: the real `bellhop run` binary against the fake Discord, while one target hangs.
//! Measures what a burst of `/health` costs: the time from dispatching INTERACTION_CREATE to the
//! acknowledgement callback (a burst of 100 at once), the requests the targets receive, and the
//! bot's resident memory idle, right after a burst of 300, and a minute later.
//!
//! Run it with `scripts/bench-discord`, which builds the release binary first.

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::fake_discord::payloads::{self, RESPONDER_ROLE};
use bellhop_tests::fake_discord::{FakeDiscord, Interaction, Request};
use bellhop_tests::KEY;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let binary = std::fs::canonicalize(args.next().unwrap_or_else(|| "target/release/bellhop".into()))?;
    let settle: u64 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(60);

    let fake = FakeDiscord::start().await;
    let counted = Behaviour::ok();
    let platform = bellhop_tests::platform(Script::new(KEY).with("stuck", Behaviour::hang()).with("invite-user", counted.clone())).await;
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
    let bot = KillOnDrop(bot);
    let pid = bot.0.id();
    let started = Instant::now();
    fake.ready().await;
    let ready_in = started.elapsed();
    // Let the first heartbeat pass so the figure is the idle process, not its start.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle = memory(pid, "VmRSS");

    let member = payloads::member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let before = counted.calls();
    let burst = Burst::run(&fake, &member, 100).await;
    let hits_100 = counted.calls() - before;
    let mut latencies = burst.latencies;
    latencies.sort();

    let before = counted.calls();
    let burst_300 = Burst::run(&fake, &member, 300).await;
    let hits_300 = counted.calls() - before;
    let after_300 = memory(pid, "VmRSS");
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let later = memory(pid, "VmRSS");
    let peak = memory(pid, "VmHWM");

    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    println!("bellhop run (release) against the fake Discord on 127.0.0.1; target `stuck` hangs, probe timeout 2 s");
    println!("  ready (commands registered) after start   {:>8.1} ms", ms(ready_in));
    println!("  idle resident memory after READY          {:>8.1} MiB", mib(idle));
    println!("  burst of 100 /health at once: dispatch → ack (callback type 5)");
    println!("                                     p50    {:>8.2} ms", ms(at(0.50)));
    println!("                                     p99    {:>8.2} ms", ms(at(0.99)));
    println!("                                     max    {:>8.2} ms", ms(*latencies.last().expect("a burst")));
    println!("    all answered in {:.2} s; requests to invite-user: {hits_100}", burst.answered_in.as_secs_f64());
    println!(
        "  burst of 300 /health at once: all answered in {:.2} s; requests to invite-user: {hits_300}",
        burst_300.answered_in.as_secs_f64()
    );
    println!("  resident memory right after the 300       {:>8.1} MiB", mib(after_300));
    println!("  resident memory {settle} s later               {:>8.1} MiB", mib(later));
    println!("  peak resident memory                      {:>8.1} MiB", mib(peak));

    Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    let mut bot = bot;
    let exit = bot.0.wait()?;
    println!("  exit on SIGTERM                           {:>8}", exit.code().map_or("signal".into(), |c| c.to_string()));
    Ok(())
}

/// `count` `/health` dispatched at once, each acknowledged and answered.
struct Burst {
    latencies: Vec<Duration>,
    answered_in: Duration,
}

impl Burst {
    async fn run(fake: &FakeDiscord, member: &Value, count: usize) -> Burst {
        let start = Instant::now();
        let sent: Vec<Interaction> = (0..count).map(|_| fake.slash(member, "health", &[])).collect();
        let mut latencies = Vec::with_capacity(count);
        for interaction in &sent {
            let callback: Request = fake.callback(interaction).await;
            assert_eq!(callback.body["type"], 5, "every /health is deferred");
            latencies.push(callback.at - interaction.sent_at);
        }
        for interaction in &sent {
            fake.followup(interaction).await;
        }
        Burst { latencies, answered_in: start.elapsed() }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
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
