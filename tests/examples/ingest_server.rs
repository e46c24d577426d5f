//! bellhop's ingest server alone, for `scripts/bench-ingest`: the real router in front of a real
//! core (SQLite in a temporary directory) whose loop runs as in `bellhop run`, sharing its sample
//! counts through the store every second. Prints its address, then serves until Ctrl-C.
//! Usage: ingest_server TOKEN

use bellhop::config::Config;
use bellhop_commands::SystemClock;
use bellhop_tests::CollectingPort;
use std::collections::HashMap;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let token = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: ingest_server TOKEN"))?;
    let dir = tempfile::tempdir()?;
    let env: HashMap<String, String> = [
        ("FRONTEND_URL", "http://127.0.0.1:9".to_string()),
        ("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())),
        ("BELLHOP_HTTP_ADDR", "127.0.0.1:0".to_string()),
        ("BELLHOP_INGEST_TOKEN", token),
        ("BELLHOP_SWEEP_EVERY", "1h".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Config::from_sources(&toml::Table::new(), &env)?;
    let core = Arc::new(bellhop::app::build_core(&config, Arc::new(SystemClock)).await?);
    let (addr, _server) = bellhop::app::start_http(&config, &core).await?;
    println!("{addr}");
    let _loop = tokio::spawn(bellhop::scheduler::run(core.clone(), Arc::new(CollectingPort::default())));
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("ingest_server: {} samples taken", core.alert_engine().ingested());
    Ok(())
}
