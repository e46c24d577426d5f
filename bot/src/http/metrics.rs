//! Prometheus metrics: what `/metrics` shows, and the functions the rest of bellhop calls to
//! record command latency and sweep duration.

use super::AppState;
use axum::extract::State;
use bellhop_commands::alerts::Source;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Figures read at scrape time rather than counted as they happen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    pub pending: u64,
    pub firing: u64,
    /// Posts waiting in the outbox; none when the store did not answer.
    pub outbox: Option<i64>,
}

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder once; later calls (and tests' second servers) reuse it.
pub fn install() {
    HANDLE.get_or_init(|| {
        let seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let recorder = PrometheusBuilder::new().set_buckets(&seconds).ok()?.build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok()?;
        Some(handle)
    });
}

/// Counts samples taken in.
pub fn samples_ingested(count: usize) {
    metrics::counter!("bellhop_samples_ingested_total").increment(count as u64);
}

/// Counts alerts received by webhook.
pub fn inbound_alerts(source: Source, count: usize) {
    metrics::counter!("bellhop_inbound_alerts_total", "source" => source.key()).increment(count as u64);
}

/// Records how long a command took, from invocation to reply.
pub fn command_latency(command: &'static str, took: Duration) {
    metrics::histogram!("bellhop_command_duration_seconds", "command" => command).record(took.as_secs_f64());
}

/// Records how long a health sweep took.
pub fn sweep_duration(took: Duration) {
    metrics::histogram!("bellhop_sweep_duration_seconds").record(took.as_secs_f64());
}

pub(crate) async fn render(State(state): State<Arc<AppState>>) -> ([(&'static str, &'static str); 1], String) {
    let gauges = state.ingest.gauges().await;
    metrics::gauge!("bellhop_alerts", "state" => "pending").set(gauges.pending as f64);
    metrics::gauge!("bellhop_alerts", "state" => "firing").set(gauges.firing as f64);
    if let Some(depth) = gauges.outbox {
        metrics::gauge!("bellhop_outbox_depth").set(depth as f64);
    }
    let text = HANDLE.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], text)
}
