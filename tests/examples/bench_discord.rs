//! Benchmark: the real `bellhop run` binary against the fake Discord, while one target hangs.
//! For each binary given (side by side, in one run, on the same machine) it measures:
//! - start → slash commands registered (the median of several starts, each on a fresh store);
//! - a burst of 100 `/health` at once: interaction creation → acknowledgement (p50, p99, max);
//! - a burst of 300: the same, how many were acknowledged within 1 s, how many answered within
//!   15 s, and what the fake refused (late or double acknowledgements);
//! - resident memory idle, right after the 300, SETTLE seconds later, and at its peak.
//!
//! With `--rounds N` each binary runs N times, the binaries taking turns, and each figure is the
//! median of its rounds (the counts: the worst round); the acknowledgement p99 of every round is
//! printed too, since one burst on a shared 2-core machine varies by more than the changes measured.
//!
//! Run it with `scripts/bench-discord`, which first builds the binary as it
//! is deployed (the `production` profile).

use bellhop::simulated::{Behaviour, Script};
use bellhop_tests::bot_process::KillOnDrop;
use bellhop_tests::fake_discord::payloads::{self, RESPONDER_ROLE};
use bellhop_tests::fake_discord::{AnswerScan, FakeDiscord, Interaction, State};
use bellhop_tests::KEY;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a burst may take to be answered before the missing answers count as lost.
const ANSWER_WITHIN: Duration = Duration::from_secs(15);
/// Discord's deadline for the first response is 3 s; this is the target with room to spare.
const ACK_TARGET: Duration = Duration::from_secs(1);

/// `bellhop run` against the fake Discord while one target hangs, binaries side by side.
#[derive(clap::Parser)]
struct Args {
    /// Seconds to wait after the 300-burst before reading resident memory again.
    #[arg(long, default_value_t = 60)]
    settle: u64,
    /// Starts per round for start → registered (each on a fresh store).
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Runs per binary, the binaries taking turns.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    rounds: u64,
    /// The bellhop binaries to measure.
    #[arg(default_value = "target/production/bellhop")]
    binaries: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args { settle, starts, rounds, binaries } = clap::Parser::parse();
    let binaries = binaries.iter().map(|b| bellhop_tests::binary(b)).collect::<anyhow::Result<Vec<_>>>()?;
    let mut results: Vec<Vec<Figures>> = binaries.iter().map(|_| Vec::new()).collect();
    for binary in &binaries {
        bellhop_tests::same_page_cache(binary)?;
    }
    for round in 1..=rounds {
        for (binary, rounds) in binaries.iter().zip(&mut results) {
            eprintln!("-- round {round}: {}", binary.display());
            rounds.push(run(binary, starts, settle).await?);
        }
    }
    print(&binaries, &results, starts, settle);
    Ok(())
}

struct Figures {
    ready: Vec<Duration>,
    idle_kib: u64,
    /// The bursts of 100 and of 300.
    bursts: [Burst; 2],
    after_300_kib: u64,
    later_kib: u64,
    peak_kib: u64,
    exit: String,
}

async fn run(binary: &Path, starts: usize, settle: u64) -> anyhow::Result<Figures> {
    let platform = bellhop_tests::platform(Script::new(KEY).with("stuck", Behaviour::hang()).with("invite-user", Behaviour::ok())).await;
    let mut ready = Vec::new();
    let mut running = None;
    for _ in 0..starts.max(1) {
        let fake = FakeDiscord::start().await;
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let bot = KillOnDrop(spawn(binary, &fake, &platform.url(), dir.path())?);
        let registered = fake
            .wait_within(Duration::from_secs(10), |s| {
                s.requests.iter().find(|r| r.method == "PUT" && r.path.ends_with("/commands")).map(|r| r.at)
            })
            .await
            .ok_or_else(|| anyhow::anyhow!("the bot did not register its commands within 10 s"))?;
        ready.push(registered - started);
        running = Some((bot, fake, dir));
    }
    let (bot, fake, _dir) = running.expect("at least one start");
    fake.ready().await;
    let pid = bot.0.id();
    // Let the first heartbeat pass so the figure is the idle process, not its start.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle_kib = memory(pid, "VmRSS");

    let member = payloads::member("500000000000000001", "alice", &[RESPONDER_ROLE]);
    let burst_100 = Burst::run(&fake, &member, 100).await;
    let burst_300 = Burst::run(&fake, &member, 300).await;
    let after_300_kib = memory(pid, "VmRSS");
    tokio::time::sleep(Duration::from_secs(settle)).await;
    let later_kib = memory(pid, "VmRSS");
    // The kernel's resident-memory counters are kept per CPU and read approximately: its
    // high-water mark can read a little below a figure read earlier.
    let peak_kib = memory(pid, "VmHWM").max(after_300_kib).max(later_kib);

    Command::new("kill").args(["-TERM", &pid.to_string()]).status()?;
    let mut bot = bot;
    let exit = bot.0.wait()?.code().map_or("signal".into(), |c| c.to_string());
    Ok(Figures { ready, idle_kib, bursts: [burst_100, burst_300], after_300_kib, later_kib, peak_kib, exit })
}

fn spawn(binary: &Path, fake: &FakeDiscord, platform: &str, dir: &Path) -> anyhow::Result<std::process::Child> {
    Ok(Command::new(binary)
        .arg("run")
        .current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DISCORD_TOKEN", "fake-token")
        .env("DISCORD_HTTP_PROXY", &fake.rest_url)
        .env("DISCORD_GUILD_ID", payloads::GUILD)
        .env("DISCORD_RESPONDER_ROLES", RESPONDER_ROLE)
        .env("DISCORD_INCIDENTS_CHANNEL", payloads::INCIDENTS_CHANNEL)
        .env("DISCORD_STATUS_CHANNEL", payloads::STATUS_CHANNEL)
        .env("DISCORD_OPS_CHANNEL", payloads::OPS_CHANNEL)
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

/// `count` `/health` dispatched at once: when each was acknowledged and answered.
struct Burst {
    count: usize,
    /// Creation → acknowledgement of those acknowledged, sorted.
    acks: Vec<Duration>,
    answered: usize,
    answered_in: Duration,
    refusals: Vec<String>,
}

impl Burst {
    async fn run(fake: &FakeDiscord, member: &Value, count: usize) -> Burst {
        let refused_before = fake.read(|s| s.refusals.len());
        let start = Instant::now();
        let sent: Vec<Interaction> = (0..count).map(|_| fake.slash(member, "health", &[])).collect();
        // Each request is looked at once: the benchmark must not eat the CPU the bot is measured on.
        let mut scan = AnswerScan::default();
        let mut answered = |s: &State| {
            scan.update(s);
            sent.iter().filter(|i| scan.answers.contains_key(&i.token)).count()
        };
        fake.wait_within(ANSWER_WITHIN, |s| (answered(s) == count).then_some(())).await;
        let answered_in = start.elapsed();
        let (mut acks, refusals) = fake.read(|s| {
            answered(s);
            let acks: Vec<Duration> = sent.iter().filter_map(|i| callback(s, i).map(|at| at - i.sent_at)).collect();
            (acks, s.refusals[refused_before..].to_vec())
        });
        // Discord shows nothing for an interaction whose acknowledgement it refused.
        let answered = sent.iter().filter(|i| scan.answers.contains_key(&i.token) && !refusals.iter().any(|r| r.contains(&i.id))).count();
        acks.sort();
        if std::env::var_os("BENCH_TRACE").is_some() {
            trace(fake, &sent, start).await;
        }
        Burst { count, acks, answered, answered_in, refusals }
    }

    fn at(&self, q: f64) -> Option<Duration> {
        let n = self.acks.len();
        (n > 0).then(|| self.acks[((n as f64 * q).ceil() as usize).clamp(1, n) - 1])
    }

    fn within_target(&self) -> usize {
        self.acks.iter().filter(|d| **d <= ACK_TARGET).count()
    }
}

/// Diagnostics: when answers arrived, and what the bot did for those not answered.
async fn trace(fake: &FakeDiscord, sent: &[Interaction], start: Instant) {
    let count = sent.len();
    let mut scan = AnswerScan::default();
    let mut answered = |s: &State| {
        scan.update(s);
        sent.iter().filter(|i| scan.answers.contains_key(&i.token)).count()
    };
    fake.wait_within(Duration::from_secs(60), |s| (answered(s) >= count).then_some(())).await;
    fake.read(|s| {
        let mut answers: Vec<Duration> = sent.iter().filter_map(|i| answered_at(s, i).map(|at| at - start)).collect();
        answers.sort();
        let q = |q: f64| answers.get(((answers.len() as f64 * q) as usize).min(answers.len().saturating_sub(1))).copied();
        eprintln!("answers {}/{count}: p10 {:?} p50 {:?} p90 {:?} max {:?}", answers.len(), q(0.1), q(0.5), q(0.9), answers.last());
        for i in sent.iter().filter(|i| s.answer_to(&i.id, &i.token).is_none()) {
            let mine: Vec<String> = s
                .requests
                .iter()
                .filter(|r| r.path.contains(&i.token) || r.path.contains(&i.id))
                .map(|r| format!("{} {} at {:?} {}", r.method, r.path, r.at - start, r.body["type"]))
                .collect();
            eprintln!("not answered {}: {mine:?}", i.id);
        }
    });
}

fn callback(s: &State, interaction: &Interaction) -> Option<Instant> {
    let path = format!("/interactions/{}/{}/callback", interaction.id, interaction.token);
    s.requests.iter().find(|r| r.is("POST", &path)).map(|r| r.at)
}

/// When the person saw the answer: the callback for a direct answer, the follow-up after a defer.
fn answered_at(s: &State, interaction: &Interaction) -> Option<Instant> {
    let path = format!("/interactions/{}/{}/callback", interaction.id, interaction.token);
    let callback = s.requests.iter().find(|r| r.is("POST", &path))?;
    if callback.body["type"] != 5 {
        return Some(callback.at);
    }
    let path = format!("/webhooks/{}/{}", payloads::APP, interaction.token);
    s.requests.iter().find(|r| r.is("POST", &path)).map(|r| r.at)
}

fn print(binaries: &[PathBuf], results: &[Vec<Figures>], starts: usize, settle: u64) {
    println!("bellhop run against the fake Discord on 127.0.0.1; target `stuck` hangs, probe timeout 2 s");
    let rounds = results.first().map_or(0, Vec::len);
    if rounds > 1 {
        println!("{rounds} rounds per binary, taking turns: each figure is the median of the rounds; counts are the worst round");
    }
    let names: Vec<String> = binaries.iter().map(|b| b.file_name().map_or("?".into(), |n| n.to_string_lossy().into_owned())).collect();
    row("", &names);
    // A figure of each round, its median over the rounds.
    let cells = |f: &dyn Fn(&Figures) -> f64, digits: usize| {
        results.iter().map(|rounds| format!("{:.digits$}", median_of(rounds.iter().map(f).collect()))).collect::<Vec<_>>()
    };
    let worst = |f: &dyn Fn(&Figures) -> (usize, usize)| {
        results.iter().map(|rounds| rounds.iter().map(f).min().map_or("-".into(), |(n, of)| format!("{n}/{of}"))).collect::<Vec<_>>()
    };
    let each = |f: &dyn Fn(&Figures) -> String| {
        results.iter().map(|rounds| rounds.iter().map(f).collect::<Vec<_>>().join(" ")).collect::<Vec<_>>()
    };
    row(&format!("start → registered, median of {starts} (ms)"), &cells(&|r| ms(median(&r.ready)), 1));
    row("start → registered, min–max (ms)", &each(&|r| format!("{:.0}–{:.0}", ms(min(&r.ready)), ms(max(&r.ready)))));
    row("idle resident memory after READY (MiB)", &cells(&|r| mib(r.idle_kib), 1));
    for (i, label) in ["100", "300"].into_iter().enumerate() {
        let quantile = |q: f64| cells(&move |r: &Figures| r.bursts[i].at(q).map_or(f64::NAN, ms), 1);
        row(&format!("burst of {label}: creation → ack p50 (ms)"), &quantile(0.50));
        row(&format!("burst of {label}: creation → ack p99 (ms)"), &quantile(0.99));
        if rounds > 1 {
            row(
                &format!("burst of {label}: ack p99 of each round (ms)"),
                &each(&|r| r.bursts[i].at(0.99).map_or("-".into(), |d| format!("{:.0}", ms(d)))),
            );
        }
        row(&format!("burst of {label}: creation → ack max (ms)"), &quantile(1.0));
        row(&format!("burst of {label}: acknowledged within 1 s"), &worst(&|r| (r.bursts[i].within_target(), r.bursts[i].count)));
        row(
            &format!("burst of {label}: answered within {} s", ANSWER_WITHIN.as_secs()),
            &worst(&|r| (r.bursts[i].answered, r.bursts[i].count)),
        );
        row(&format!("burst of {label}: all answered after (s)"), &cells(&|r| r.bursts[i].answered_in.as_secs_f64(), 2));
        row(&format!("burst of {label}: refused by the fake"), &each(&|r| r.bursts[i].refusals.len().to_string()));
    }
    row("resident memory right after the 300 (MiB)", &cells(&|r| mib(r.after_300_kib), 1));
    row(&format!("resident memory {settle} s later (MiB)"), &cells(&|r| mib(r.later_kib), 1));
    if rounds > 1 {
        row(&format!("resident memory {settle} s later, each round"), &each(&|r| format!("{:.0}", mib(r.later_kib))));
    }
    row("peak resident memory (MiB)", &cells(&|r| mib(r.peak_kib), 1));
    row("exit on SIGTERM", &each(&|r| r.exit.clone()));
    for (name, result) in names.iter().zip(results) {
        let refusals: Vec<&String> = result.iter().flat_map(|r| &r.bursts).flat_map(|b| &b.refusals).take(5).collect();
        if !refusals.is_empty() {
            println!("{name}: the fake refused, e.g. {refusals:?}");
        }
    }
}

fn row(label: &str, cells: &[String]) {
    let cells: String = cells.iter().map(|c| format!("{c:>18}")).collect();
    println!("  {label:<46}{cells}");
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

/// The middle value (the mean of the two middle ones for an even count).
fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 0 => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        n => values[n / 2],
    }
}

fn min(values: &[Duration]) -> Duration {
    values.iter().copied().min().unwrap_or_default()
}

fn max(values: &[Duration]) -> Duration {
    values.iter().copied().max().unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `/proc/<pid>/status` figure in kB.
fn memory(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
