//! Automatic alerts: the runbook's thresholds over sliding windows of samples, one alert per
//! failing function; and alerts raised elsewhere (Alertmanager, Grafana), one per group.
//!
//! Samples go in through [`AlertEngine::ingest`]. Each replica shares its counts through the
//! store; the one holding the evaluator's lease judges their sum ([`AlertEngine::evaluate`], a
//! function of the counts and the time it is given) and claims each change in the store before
//! it is announced (`announce.rs`). Webhook notifications are kept as they arrive and announced
//! from the loop (`groups.rs`).

mod announce;
mod buckets_store;
mod duty;
mod engine;
mod figures;
mod groups;
pub mod management;
pub mod posts;
mod rules;
mod sample;
mod state;
mod store;
mod webhook;
mod webhook_store;
mod window;

#[cfg(test)]
mod tests;

pub use announce::{alert_subject, initial_peak};
pub(crate) use duty::AlertDuty;
pub use engine::{AlertEngine, AlertSettings, Change, OpenAlert, PhaseCounts, Proposal, Series};
pub use figures::{AlertFigures, FunctionFigures, Peak, RuleFigure, TenantImpact};
pub use management::{ManagementPoller, ManagementSettings, PollError};
pub use rules::{Reading, Rule, RuleKind, Verdict};
pub use sample::{Sample, SampleError};
pub use state::{step, Phase, Timing};
pub use store::{AlertRow, LinkedIncident, ORIGIN_LEGACY, ORIGIN_RULES};
pub use webhook::{parse as parse_webhook, GroupFigures, Level, Notification, Source, WebhookAlert, WebhookSettings, MAX_ALERTS};
pub use webhook_store::{GroupRow, Receipt};
pub use window::{BucketRow, Counts, WindowStats, Windows, BUCKET_SECS};

/// What the alert duties work with: the core's context, this replica's engine and lease, the
/// health checks a scheduled sweep runs, and whom a firing alert pages.
pub struct Alerting<'a> {
    pub(crate) ctx: &'a crate::context::Context,
    pub(crate) duty: &'a AlertDuty,
    pub(crate) health: &'a crate::health::HealthChecker,
    pub(crate) on_call: Option<&'a crate::post::Ping>,
}

impl std::ops::Deref for Alerting<'_> {
    type Target = crate::context::Context;

    fn deref(&self) -> &Self::Target {
        self.ctx
    }
}
