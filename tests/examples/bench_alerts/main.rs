//! Alerts end to end, for `scripts/bench-alerts`: release `bellhop run` processes, each on a
//! fresh PostgreSQL database, posting through their serenity client into the fake Discord. The
//! fake holds each channel to Discord's message rate limit (5 posts and 5 edits per 5 s) and
//! counts its 429s. (Ingest throughput is `scripts/bench-ingest`'s.)
//!
//! - Threshold to post: 11 failures of a fresh function in one request to `/events` (the
//!   failures-per-minute rule fires at once), timed until the fake holds the alert's post.
//! - Webhook to post: an Alertmanager v4 notification POSTed to `/hooks/alertmanager`, likewise.
//! - A storm: 100,000 failures over 5 functions, then a minute and more while the rules that
//!   must hold a minute join in: the posts, the edits and the 429s.
//! - Replicas: the same samples to one replica, then split between two on one store: the posts.
//! - Memory: 1,000,000 samples over 5 function names, then over 50,000 (most refused past
//!   `BELLHOP_ALERT_MAX_FUNCTIONS`): the process's resident memory after each.
//!
//! Usage: bench_alerts POSTGRES_URL (a server where it may create databases; default
//! `$DATABASE_URL`). `STORM_WATCH` (seconds, default 70) is how long the storm is watched.

mod replica;

use anyhow::Context as _;
use bellhop_tests::fake_discord::{FakeDiscord, RateLimit};
use futures::StreamExt as _;
use replica::{ops_edits, ops_titles, Replica};
use std::time::{Duration, Instant};

/// Alerts timed in each latency measurement.
const RUNS: usize = 20;
/// One latency run starts at most this often: Discord takes 5 posts per 5 s in a channel, so a
/// 429 there is bellhop's doing, not the benchmark's.
const PACE: Duration = Duration::from_millis(1100);
/// How long a post may take before the benchmark gives up on it.
const GIVE_UP: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let admin = std::env::args().nth(1).or_else(|| std::env::var("DATABASE_URL").ok()).context("usage: bench_alerts POSTGRES_URL")?;
    let client = reqwest::Client::new();
    latency(&admin, &client).await?;
    storm(&admin, &client).await?;
    replicas(&admin, &client).await?;
    memory(&admin, &client).await?;
    Ok(())
}

/// A fake Discord that limits messages as Discord does.
async fn discord() -> FakeDiscord {
    let fake = FakeDiscord::start().await;
    fake.limit_messages(RateLimit::DISCORD);
    fake
}

/// Threshold to post and webhook to post, on one replica.
async fn latency(admin: &str, client: &reqwest::Client) -> anyhow::Result<()> {
    let fake = discord().await;
    let store = replica::fresh_store(admin, "bench_alerts_latency").await?;
    let replicas = replica::start(&fake, &store, 1, client).await?;
    let bellhop = &replicas[0];
    let mut crossing = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let function = format!("latency-{run}");
        crossing.push(time_post(&fake, bellhop, client, "/events", failures(&function, 11), &format!(": {function} (")).await?);
    }
    let mut webhook = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let name = format!("Bench{run}");
        webhook.push(time_post(&fake, bellhop, client, "/hooks/alertmanager", alertmanager(&name), &format!(": {name} (")).await?);
    }
    println!("Alerts through `bellhop run` (release, PostgreSQL) into the fake Discord, limited to 5 messages per 5 s a channel:");
    println!("threshold crossed to post delivered ({RUNS} alerts, 11 failures in one POST /events each):");
    println!("  {}   (target ≤ 1000 ms)", spread(crossing));
    println!("Alertmanager webhook to post delivered ({RUNS} groups, POST /hooks/alertmanager each):");
    println!("  {}   (target ≤ 1000 ms)", spread(webhook));
    println!("  429s from the fake Discord during both: {}", fake.read(|s| s.rate_limited));
    Ok(())
}

/// Sends `body` to `path` and times it until an ops-channel post whose title holds `title`
/// arrives; then waits out the pace.
async fn time_post(
    fake: &FakeDiscord,
    bellhop: &Replica,
    client: &reqwest::Client,
    path: &str,
    body: String,
    title: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = bellhop.send(client, path, body).await?;
    anyhow::ensure!(status == 200, "{path} answered {status}");
    let posted = fake.wait_within(GIVE_UP, |s| ops_titles(s).iter().any(|t| t.contains(title)).then_some(())).await;
    let took = started.elapsed();
    anyhow::ensure!(posted.is_some(), "no post titled …{title}… within {GIVE_UP:?}; bellhop's log:\n{}", bellhop.log());
    tokio::time::sleep_until((started + PACE).into()).await;
    Ok(took)
}

/// Median, 90th percentile and maximum.
fn spread(mut took: Vec<Duration>) -> String {
    took.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let at = |q: usize| ms(&took[(took.len() * q / 100).min(took.len() - 1)]);
    format!("median {:.1} ms   p90 {:.1} ms   max {:.1} ms", at(50), at(90), ms(took.last().expect("at least one run")))
}

/// `count` failed samples of `function`, as one JSON array.
fn failures(function: &str, count: usize) -> String {
    samples((0..count).map(|_| (function.to_string(), false)))
}

/// Samples `(function, ok)` as one JSON array, each from one of 50 hotels.
fn samples(samples: impl Iterator<Item = (String, bool)>) -> String {
    let each: Vec<String> = samples
        .enumerate()
        .map(|(i, (function, ok))| format!(r#"{{"function":"{function}","ok":{ok},"latency_ms":40,"tenant":"hotel-{}"}}"#, i % 50))
        .collect();
    format!("[{}]", each.join(","))
}

/// An Alertmanager v4 notification: one critical alert named `name`, firing, in its own group.
fn alertmanager(name: &str) -> String {
    serde_json::json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "receiver": "bellhop", "status": "firing",
        "commonLabels": {"alertname": name}, "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "labels": {"alertname": name, "severity": "critical"},
            "annotations": {"summary": "benchmark alert"}, "startsAt": chrono::Utc::now().to_rfc3339(),
            "endsAt": "0001-01-01T00:00:00Z", "fingerprint": name, "generatorURL": "http://prometheus:9090/graph"}]
    })
    .to_string()
}

/// 100,000 failures over 5 functions in batches of 1,000, then watched while the rules that
/// hold a minute before firing join the same posts.
async fn storm(admin: &str, client: &reqwest::Client) -> anyhow::Result<()> {
    let watch = Duration::from_secs(std::env::var("STORM_WATCH").ok().and_then(|s| s.parse().ok()).unwrap_or(70));
    let fake = discord().await;
    let store = replica::fresh_store(admin, "bench_alerts_storm").await?;
    let replicas = replica::start(&fake, &store, 1, client).await?;
    let started = Instant::now();
    for batch in 0..100 {
        let body = samples((0..1000).map(|i| (format!("storm-{}", (batch * 1000 + i) % 5), false)));
        let status = replicas[0].send(client, "/events", body).await?;
        anyhow::ensure!(status == 200, "/events answered {status}");
    }
    let sent = started.elapsed();
    tokio::time::sleep_until((started + watch).into()).await;
    let (titles, edits, limited) = fake.read(|s| (ops_titles(s), ops_edits(s), s.rate_limited));
    let per_function: Vec<usize> = (0..5).map(|f| titles.iter().filter(|t| t.contains(&format!(": storm-{f} ("))).count()).collect();
    println!(
        "alert storm: 100,000 failures over 5 functions (batches of 1,000) sent in {:.2} s, watched {} s:",
        sent.as_secs_f64(),
        watch.as_secs()
    );
    println!("  {} posts in the ops channel (per function {per_function:?}; target 5, one each), {edits} edits", titles.len());
    println!("  429s from the fake Discord: {limited} (target 0)");
    Ok(())
}

/// The same samples to one replica, then split between two on one store: the posts of each.
async fn replicas(admin: &str, client: &reqwest::Client) -> anyhow::Result<()> {
    let (one, one_limited) = posts_with(admin, client, 1).await?;
    let (two, two_limited) = posts_with(admin, client, 2).await?;
    let same = without_ids(&one) == without_ids(&two);
    println!("replicas: the same samples (5 functions, 3 crossing only when summed) to one replica, then split between two:");
    println!("  one replica   {} posts {one:?} (429s: {one_limited})", one.len());
    println!("  two replicas  {} posts {two:?} (429s: {two_limited})", two.len());
    println!("  {}", if same { "the same posts" } else { "DIFFERENT posts" });
    Ok(())
}

/// Sends the replica samples, batch by batch in turn to `count` replicas on one store, and
/// returns the ops-channel posts once they have settled, and the 429s.
async fn posts_with(admin: &str, client: &reqwest::Client, count: usize) -> anyhow::Result<(Vec<String>, usize)> {
    let fake = discord().await;
    let store = replica::fresh_store(admin, &format!("bench_alerts_replicas_{count}")).await?;
    let replicas = replica::start(&fake, &store, count, client).await?;
    for (i, body) in replica_batches().into_iter().enumerate() {
        let status = replicas[i % count].send(client, "/events", body).await?;
        anyhow::ensure!(status == 200, "/events answered {status}");
    }
    fake.wait_within(Duration::from_secs(15), |s| (ops_titles(s).len() >= 3).then_some(())).await;
    // Counts travel through the store every second: a post said twice would show by now.
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(fake.read(|s| (ops_titles(s), s.rate_limited)))
}

/// Pairs of batches: each half stays within the rules, and a pair together crosses the
/// failures-per-minute rule (> 10) for pair-a (6 + 6), pair-c (8 + 8 of 30) and pair-e
/// (2 × (5 + 5)); pair-b (4 + 4) and pair-d (no failure) never fire.
fn replica_batches() -> Vec<String> {
    let half = |function: &str, total: usize, failed: usize| samples((0..total).map(|i| (function.to_string(), i >= failed)));
    let halves = [("pair-a", 6, 6), ("pair-b", 4, 4), ("pair-c", 15, 8), ("pair-d", 50, 0), ("pair-e", 5, 5), ("pair-e", 5, 5)];
    halves.iter().flat_map(|(function, total, failed)| [half(function, *total, *failed), half(function, *total, *failed)]).collect()
}

/// Titles without their alert ids, sorted: replicas may number alerts in another order.
fn without_ids(titles: &[String]) -> Vec<String> {
    let mut titles: Vec<String> = titles.iter().map(|t| t.split(" (alert ").next().unwrap_or(t).to_string()).collect();
    titles.sort();
    titles
}

/// Samples in the memory runs, and per request.
const MEMORY_SAMPLES: usize = 1_000_000;
const MEMORY_BATCH: usize = 100;

/// 1,000,000 samples over 5 names, then over 50,000: `bellhop run`'s resident memory after each.
async fn memory(admin: &str, client: &reqwest::Client) -> anyhow::Result<()> {
    let few = load(admin, client, 5).await?;
    let many = load(admin, client, 50_000).await?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!("memory: {MEMORY_SAMPLES} samples in batches of {MEMORY_BATCH}, `bellhop run`'s VmRSS (a fresh process each):");
    for (names, run) in [(5, &few), (50_000, &many)] {
        println!(
            "  {names:>6} names   {:6.1} MiB at start, {:6.1} MiB after   ({} requests answered 200, {} answered 422)",
            mib(run.before_kib),
            mib(run.after_kib),
            run.accepted,
            run.refused
        );
    }
    let difference = mib(many.after_kib) - mib(few.after_kib);
    println!("  difference after: {difference:+.1} MiB (target within ±10 MiB)");
    Ok(())
}

/// What one memory run left.
struct Load {
    before_kib: u64,
    after_kib: u64,
    accepted: usize,
    refused: usize,
}

/// A fresh replica takes `MEMORY_SAMPLES` samples over `names` random function names, 8
/// requests at a time.
async fn load(admin: &str, client: &reqwest::Client, names: usize) -> anyhow::Result<Load> {
    let fake = discord().await;
    let store = replica::fresh_store(admin, &format!("bench_alerts_memory_{names}")).await?;
    let replicas = replica::start(&fake, &store, 1, client).await?;
    let bellhop = &replicas[0];
    let before_kib = bellhop.rss_kib()?;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let bodies = (0..MEMORY_SAMPLES / MEMORY_BATCH)
        .map(move |_| samples((0..MEMORY_BATCH).map(|i| (format!("fn-{}", random.below(names)), i % 10 != 0))))
        .collect::<Vec<_>>();
    let statuses: Vec<u16> = futures::stream::iter(bodies)
        .map(|body| bellhop.send(client, "/events", body))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    // A flush to the store and a tick of the loop after the last request.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(Load {
        before_kib,
        after_kib: bellhop.rss_kib()?,
        accepted: statuses.iter().filter(|s| **s == 200).count(),
        refused: statuses.iter().filter(|s| **s == 422).count(),
    })
}

/// xorshift64: names spread evenly, the same on every run.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
