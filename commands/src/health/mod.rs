//! Health probes of the platform's targets and the sweep that runs them all at once.

mod classify;
mod database;
mod http;
mod report;
mod targets;

use futures::future::join_all;
use serde::Serialize;
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

/// Runs sweeps over the configured targets.
pub struct HealthChecker {
    settings: HealthSettings,
    targets: Vec<Target>,
    client: reqwest::Client,
}

impl HealthChecker {
    pub fn new(settings: HealthSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.timeout)
            .user_agent(concat!("bellhop/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let targets = settings.targets();
        Ok(HealthChecker { settings, targets, client })
    }

    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Probes every target concurrently; each probe is bounded by the probe timeout, so a hung
    /// target costs that timeout once, whatever the others do.
    pub async fn sweep(&self) -> Sweep {
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
            TargetProbe::Http(request) => tokio::time::timeout(timeout, http::probe(&self.client, target.kind, request)).await,
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
