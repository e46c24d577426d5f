//! Automatic alerts: the runbook's thresholds over sliding windows of samples, per function.
//!
//! Samples go in through [`AlertEngine::ingest`]; [`AlertEngine::evaluate`] is a function of the
//! samples and the time it is given, returning [`Transition`]s to claim in the store
//! (`Store::claim_alert`) and then post. Nothing here posts or persists by itself.

mod engine;
mod inbound;
pub mod management;
mod rules;
mod sample;
mod state;
mod transition;
mod window;

#[cfg(test)]
mod tests;

pub use engine::{AlertEngine, AlertSettings, PhaseCounts};
pub use inbound::{InboundAlert, Source};
pub use management::{ManagementPoller, ManagementSettings, PollError};
pub use rules::{Reading, Rule, RuleKind, Verdict};
pub use sample::{Sample, SampleError};
pub use state::{step, Change, Phase, Timing};
pub use transition::{minutes, TenantImpact, Transition};
pub use window::{WindowStats, Windows, BUCKET_SECS};
