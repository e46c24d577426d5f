//! bellhop's ingest server alone, for `scripts/bench-ingest`: the real router in front of a real
//! core whose loop runs as in `bellhop run` (`bellhop::scheduler::run`, posting into a collecting
//! port instead of Discord), flushing its sample counts to the store every second as replicas
//! do. Prints its address, then serves until Ctrl-C; then says how many samples it took and how
//! many its flushes had put in the store, so a run without flushes shows.
//! Usage: ingest_server TOKEN [STORE_URL] (default: SQLite in a temporary directory)

use bellhop::config::Config;
use bellhop_commands::SystemClock;
use bellhop_tests::CollectingPort;
use std::collections::HashMap;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let token = args.next().ok_or_else(|| anyhow::anyhow!("usage: ingest_server TOKEN [STORE_URL]"))?;
    let dir = tempfile::tempdir()?;
    let store = args.next().unwrap_or_else(|| format!("sqlite:{}", dir.path().join("bellhop.sqlite").display()));
    let env: HashMap<String, String> = [
        ("FRONTEND_URL", "http://127.0.0.1:9".to_string()),
        ("BELLHOP_DATABASE_URL", store),
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
    // Read before the last flush on the way out: what the once-a-second flushes stored.
    let flushed = flushed(&core).await?;
    eprintln!("ingest_server: {} samples taken, {flushed} of them flushed to the store while serving", core.alert_engine().ingested());
    Ok(())
}

/// The samples counted in the store's shared buckets (every replica's: this one's is the only one).
async fn flushed(core: &bellhop_commands::Core) -> anyhow::Result<u64> {
    let rows = core.store().read_buckets("", i64::MIN, i64::MIN).await?;
    Ok(rows.iter().map(|(_, row)| row.counts.total).sum())
}
