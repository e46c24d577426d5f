//! The ceiling for ingest on this machine, for `scripts/bench-ingest`: a minimal axum endpoint
//! that only checks the token, deserializes the samples and counts them into a map.
//! Prints its address, then serves. Usage: ingest_baseline TOKEN

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Deserialize)]
#[allow(dead_code)] // read by serde; only `function` and `ok` are counted
struct Sample {
    function: String,
    ok: bool,
    latency_ms: u64,
    #[serde(default)]
    tenant: Option<String>,
}

struct Baseline {
    token: String,
    counts: Mutex<HashMap<String, (u64, u64)>>,
}

async fn events(State(state): State<Arc<Baseline>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")) == Some(state.token.as_str());
    if !authorized {
        return StatusCode::UNAUTHORIZED;
    }
    let samples = match body.first() {
        Some(b'[') => serde_json::from_slice::<Vec<Sample>>(&body),
        _ => serde_json::from_slice::<Sample>(&body).map(|s| vec![s]),
    };
    let Ok(samples) = samples else { return StatusCode::BAD_REQUEST };
    let mut counts = state.counts.lock().unwrap_or_else(|e| e.into_inner());
    for sample in samples {
        let count = counts.entry(sample.function).or_default();
        count.0 += 1;
        count.1 += u64::from(!sample.ok);
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let token = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: ingest_baseline TOKEN"))?;
    let state = Arc::new(Baseline { token, counts: Mutex::new(HashMap::new()) });
    let app = Router::new().route("/events", post(events)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
