//! Alerts measured end to end, for `scripts/bench`: a bellhop core with its HTTP ingest and its
//! real-time scheduler, posting into a collecting chat port.
//! 1. Threshold to post: 11 failures of a fresh function in one request to `/events` (the
//!    runbook's failures-per-minute rule fires at once), timed until its alert post is delivered.
//! 2. An alert storm: 100,000 failures across 5 functions in batches of 1,000, then the clock
//!    moves past the rules' hold time: the posts that follow, one per rule and function.

use bellhop::config::Config;
use bellhop_commands::{Clock, ManualClock};
use bellhop_tests::CollectingPort;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RUNS: usize = 25;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let env: HashMap<String, String> = [
        ("FRONTEND_URL", "http://127.0.0.1:9".to_string()),
        ("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())),
        ("BELLHOP_HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("BELLHOP_SWEEP_EVERY", "1h".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Config::from_sources(&toml::Table::new(), &env)?;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let core = Arc::new(bellhop::app::build_core(&config, clock.clone()).await?);
    let (addr, _server) = bellhop::app::start_http(&config, &core).await?;
    let port = Arc::new(CollectingPort::default());
    let _scheduler = tokio::spawn(bellhop::scheduler::run(core.clone(), port.clone()));
    let client = reqwest::Client::new();
    let events = format!("http://{addr}/events");

    let mut took = Vec::with_capacity(RUNS);
    for run in 0..RUNS {
        let function = format!("bench-{run}");
        let samples: Vec<serde_json::Value> =
            (0..11).map(|_| serde_json::json!({"function": function, "ok": false, "latency_ms": 30})).collect();
        let started = Instant::now();
        client.post(&events).json(&samples).send().await?.error_for_status()?;
        let wanted = format!("of {function} (alert");
        port.wait_for("the alert post", |titles| titles.iter().any(|t| t.contains(&wanted))).await;
        took.push(started.elapsed());
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("threshold to post ({RUNS} alerts, failures > 10/min, one request each, real scheduler):");
    println!("  median {:.1} ms   p90 {:.1} ms   max {:.1} ms", ms(took[RUNS / 2]), ms(took[RUNS * 9 / 10]), ms(took[RUNS - 1]));

    let before = port.titles().len();
    let started = Instant::now();
    for batch in 0..100 {
        let samples: Vec<serde_json::Value> = (0..1000)
            .map(|i| serde_json::json!({"function": format!("storm-{}", (batch * 1000 + i) % 5), "ok": false, "latency_ms": 40}))
            .collect();
        client.post(&events).json(&samples).send().await?.error_for_status()?;
    }
    let ingested = started.elapsed();
    // The error-rate and success-rate rules must hold a minute before they fire.
    for _ in 0..3 {
        clock.advance(chrono::Duration::seconds(61));
        core.alert_engine().ingest_all(&storm_tick(clock.now())).map_err(|(at, error)| anyhow::anyhow!("sample {at}: {error}"))?;
        core.wake();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let settled = Instant::now();
    while settled.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let storm: Vec<String> = port.titles().into_iter().skip(before).filter(|t| t.contains("storm-")).collect();
    let mut kinds: Vec<String> = storm.iter().map(|t| t.split(" of ").next().unwrap_or_default().to_string()).collect();
    kinds.sort();
    kinds.dedup();
    println!("alert storm: 100,000 failures across 5 functions sent in {:.2} s", ingested.as_secs_f64());
    println!("  {} posts for {} rules x 5 functions ({})", storm.len(), kinds.len(), kinds.join(", "));
    Ok(())
}

/// One failure per storm function at `at`, so each minute's window has samples in it.
fn storm_tick(at: chrono::DateTime<chrono::Utc>) -> Vec<bellhop_commands::alerts::Sample> {
    (0..5).map(|f| bellhop_commands::alerts::Sample::new(format!("storm-{f}"), false, 40, at)).collect()
}
