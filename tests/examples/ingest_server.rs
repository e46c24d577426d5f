//! bellhop's ingest server alone, for `scripts/bench-ingest`: the real router, alert engine and
//! store (SQLite in a temporary directory) on 127.0.0.1. Prints its address, then serves.
//! Usage: ingest_server TOKEN

use bellhop::http::{self, EngineIngest, HttpSettings};
use bellhop_commands::alerts::{AlertEngine, AlertSettings};
use bellhop_commands::store::Store;
use bellhop_commands::{Clock, SystemClock};
use secrecy::SecretString;
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let token = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: ingest_server TOKEN"))?;
    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await?;
    store.migrate().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(AlertEngine::new(AlertSettings::default(), clock.clone()));
    let settings = HttpSettings { addr: "127.0.0.1:0".parse()?, token: Some(SecretString::from(token)), ..HttpSettings::default() };
    let listener = http::bind(&settings).await?;
    println!("{}", listener.local_addr()?);
    let ingest = Arc::new(EngineIngest { engine: engine.clone(), store, clock });
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    http::serve(listener, ingest, settings, shutdown).await?;
    eprintln!("ingest_server: {} samples taken", engine.ingested());
    Ok(())
}
