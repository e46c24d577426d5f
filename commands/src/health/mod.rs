//! Health probes of the platform's targets and the sweep that runs them all at once.

mod classify;
mod database;
mod http;
mod report;
mod targets;

use futures::future::{join_all, BoxFuture, FutureExt as _, Shared};
use serde::Serialize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use classify::classify_http;
pub use report::sweep_post;
pub use targets::{HealthSettings, Target, TargetProbe, RUNBOOK_FUNCTIONS};

/// What kind of endpoint a target is; also the `kind` of `bellhop check --json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Frontend,
    Auth,
    Rest,
    Function,
    Database,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    Slow,
    Down,
    /// The probe itself is wrong (a refused key, a missing table): fix bellhop's config, not the platform.
    Misconfigured,
    /// Not configured, so not probed.
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Slow => "slow",
            Status::Down => "down",
            Status::Misconfigured => "misconfigured",
            Status::Skipped => "skipped",
        }
    }

    pub fn needs_attention(self) -> bool {
        matches!(self, Status::Slow | Status::Down | Status::Misconfigured)
    }
}

/// One probe's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub name: String,
    pub kind: TargetKind,
    pub status: Status,
    #[serde(rename = "latency_ms", serialize_with = "report::millis")]
    pub latency: Option<Duration>,
    pub http_status: Option<u16>,
    /// Plain words: "HTTP 200", "timed out after 10s", "connection refused".
    pub detail: String,
}

/// The result of one sweep, in the configured target order.
#[derive(Clone, Debug, Serialize)]
pub struct Sweep {
    pub healthy: bool,
    pub targets: Vec<ProbeResult>,
}

impl Sweep {
    pub fn count(&self, status: Status) -> usize {
        self.targets.iter().filter(|t| t.status == status).count()
    }
}

/// Idle connections kept per target host between sweeps: one sweep opens at most one per
/// probe, and more would only hold memory and the platform's sockets.
const IDLE_PER_HOST: usize = 8;
/// How long an idle connection to a target is kept for the next sweep.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A sweep under way that callers can join; `None` if its task died (it never panics by design).
type SharedSweep = Shared<BoxFuture<'static, Option<Arc<Sweep>>>>;

/// Runs sweeps over the configured targets. A sweep asked for while one is under way joins it:
/// a burst of `/health` costs the platform one sweep, and every caller gets its answer.
pub struct HealthChecker {
    probes: Arc<Probes>,
    in_flight: Arc<Mutex<Option<SharedSweep>>>,
}

impl HealthChecker {
    pub fn new(settings: HealthSettings) -> Self {
        let targets = settings.targets();
        HealthChecker { probes: Arc::new(Probes { settings, targets, client: OnceLock::new() }), in_flight: Arc::default() }
    }

    pub fn targets(&self) -> &[Target] {
        &self.probes.targets
    }

    /// The result of a sweep started now, or of the one already under way.
    pub async fn sweep(&self) -> Sweep {
        match self.join_or_start().await {
            Some(sweep) => Sweep::clone(&sweep),
            None => self.probes.sweep().await,
        }
    }

    /// The sweep runs in its own task, so it finishes (and frees its slot) even when every
    /// caller gave up waiting; a later caller never joins a stale one.
    fn join_or_start(&self) -> SharedSweep {
        let mut slot = self.in_flight.lock().expect("the in-flight lock is never held across a panic");
        if let Some(sweep) = slot.as_ref() {
            return sweep.clone();
        }
        let (probes, in_flight) = (self.probes.clone(), self.in_flight.clone());
        let task = tokio::spawn(async move {
            let sweep = Arc::new(probes.sweep().await);
            *in_flight.lock().expect("the in-flight lock is never held across a panic") = None;
            sweep
        });
        let shared = async move { task.await.ok() }.boxed().shared();
        *slot = Some(shared.clone());
        shared
    }
}

/// The targets and the client that probes them.
struct Probes {
    settings: HealthSettings,
    targets: Vec<Target>,
    /// Built at the first probe: its TLS setup (the root certificates parsed, the code that
    /// does it paged in) is a start's largest cost after the store's, and a shell that is
    /// never asked for `/health` does not pay it.
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Probes {
    fn client(&self) -> Result<&reqwest::Client, &str> {
        let built = self.client.get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(self.settings.timeout)
                .pool_max_idle_per_host(IDLE_PER_HOST)
                .pool_idle_timeout(IDLE_TIMEOUT)
                .user_agent(concat!("bellhop/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|error| format!("cannot build the HTTP client: {error}"))
        });
        built.as_ref().map_err(String::as_str)
    }

    /// Probes every target concurrently; each probe is bounded by the probe timeout, so a hung
    /// target costs that timeout once, whatever the others do.
    async fn sweep(&self) -> Sweep {
        let probes = self.targets.iter().map(|target| self.probe(target));
        let targets: Vec<ProbeResult> = join_all(probes).await;
        let healthy = !targets.iter().any(|t| t.status.needs_attention());
        Sweep { healthy, targets }
    }

    async fn probe(&self, target: &Target) -> ProbeResult {
        let timeout = self.settings.timeout;
        let started = Instant::now();
        let outcome = match &target.probe {
            TargetProbe::Skipped { reason } => {
                return target.result(Status::Skipped, None, None, reason.clone());
            }
            TargetProbe::Http(request) => match self.client() {
                Ok(client) => tokio::time::timeout(timeout, http::probe(client, target.kind, request)).await,
                Err(error) => Ok(Outcome::failed(error.to_string())),
            },
            TargetProbe::Database { url } => tokio::time::timeout(timeout, database::probe(url, timeout)).await,
        };
        let latency = started.elapsed();
        let outcome = outcome.unwrap_or_else(|_| Outcome::failed(format!("timed out after {}", humantime::format_duration(timeout))));
        let status = match outcome.status {
            Status::Up if latency > self.settings.slow_after => Status::Slow,
            status => status,
        };
        target.result(status, Some(latency), outcome.http_status, outcome.detail)
    }
}

/// What a probe found, before latency decides between up and slow.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub status: Status,
    pub http_status: Option<u16>,
    pub detail: String,
}

impl Outcome {
    pub fn failed(detail: impl Into<String>) -> Self {
        Outcome { status: Status::Down, http_status: None, detail: detail.into() }
    }
}

#[cfg(test)]
mod tests;
