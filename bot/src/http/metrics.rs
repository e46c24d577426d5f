//! Prometheus metrics: the exporter behind `/metrics`. The core records what it does through the
//! `metrics` facade (`bellhop_commands::metrics`, which also describes every series).

use super::AppState;
use axum::extract::State;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Figures read at scrape time rather than counted as they happen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    pub pending: u64,
    pub firing: u64,
    /// Operations waiting in the outbox, and given up; none when the store did not answer.
    pub outbox: Option<i64>,
    pub dead: Option<i64>,
}

/// A figure read at most once a second, however often it is asked for: concurrent scrapes wait
/// for the one read under way and share its answer.
pub(crate) struct PerSecond<T> {
    last: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T> Default for PerSecond<T> {
    fn default() -> Self {
        PerSecond { last: tokio::sync::Mutex::new(None) }
    }
}

impl<T: Clone> PerSecond<T> {
    pub(crate) async fn get<F: Future<Output = T>>(&self, read: impl FnOnce() -> F) -> T {
        let mut last = self.last.lock().await;
        if let Some((at, value)) = last.as_ref() {
            if at.elapsed() < Duration::from_secs(1) {
                return value.clone();
            }
        }
        let value = read().await;
        *last = Some((Instant::now(), value.clone()));
        value
    }
}

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder on a thread of its own, once. Building it calibrates `quanta`'s clock
/// (the exporter's histograms read it): a busy loop of 20 ms here and up to 200 ms on a noisy
/// machine, which delayed a shell's first answer and a bot's registration when it ran on the
/// way. The thread runs at idle priority, so the loop takes only a core nobody else wants at
/// start. What is recorded before it is installed is not counted: a command typed in a
/// process's first milliseconds.
pub fn install_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new().name("metrics-install".into()).spawn(|| {
            idle_priority();
            install();
        });
        if spawned.is_err() {
            install();
        }
    });
}

#[cfg(target_os = "linux")]
fn idle_priority() {
    use thread_priority::unix::{set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy, ThreadSchedulePolicy};
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(error) = set_thread_priority_and_policy(thread_native_id(), thread_priority::ThreadPriority::Min, idle) {
        tracing::debug!(?error, "cannot lower the metrics thread's priority; it calibrates at the usual one");
    }
}

#[cfg(not(target_os = "linux"))]
fn idle_priority() {}

/// Installs the process's recorder once; later calls (and tests' second servers) reuse it.
pub fn install() {
    HANDLE.get_or_init(|| {
        let seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
        let recorder = PrometheusBuilder::new().set_buckets(&seconds).ok()?.build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).ok()?;
        bellhop_commands::metrics::describe();
        bellhop_commands::metrics::plans_start_at_zero(bellhop_commands::remediation::PlanState::outcomes().map(|s| s.as_str()));
        Some(handle)
    });
}

/// What a scrape would show of the recorded series (not the gauges read from the store); none
/// before the recorder is installed.
pub fn rendered() -> Option<String> {
    HANDLE.get()?.as_ref().map(PrometheusHandle::render)
}

pub(crate) async fn render(_: super::auth::Scraper, State(state): State<Arc<AppState>>) -> ([(&'static str, &'static str); 1], String) {
    let gauges = state.gauges.get(|| state.ingest.gauges()).await;
    metrics::gauge!("bellhop_alerts", "state" => "pending").set(gauges.pending as f64);
    metrics::gauge!("bellhop_alerts", "state" => "firing").set(gauges.firing as f64);
    if let Some(depth) = gauges.outbox {
        metrics::gauge!("bellhop_outbox_depth").set(depth as f64);
    }
    if let Some(dead) = gauges.dead {
        metrics::gauge!("bellhop_outbox_dead").set(dead as f64);
    }
    bellhop_commands::metrics::publish();
    let text = HANDLE.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], text)
}
