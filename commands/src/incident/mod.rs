//! Incidents: declared with a severity, coordinated in their own place, kept on the runbook's clock.

mod handlers;
mod model;
pub mod plan;
pub mod posts;
mod settings;
mod severity;
mod views;

pub use handlers::IncidentCommand;
pub(crate) use handlers::{run, timer_posts};
pub use model::{code, Incident, ListState, TimelineEntry, TimelineKind};
pub use settings::{role, EscalationStep, IncidentSettings, Phase};
pub use severity::Severity;
