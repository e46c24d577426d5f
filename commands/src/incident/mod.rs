//! Incidents: declared with a severity, coordinated in their own place, kept on the runbook's clock.

mod evidence;
mod handlers;
mod model;
pub mod plan;
pub mod posts;
mod settings;
mod severity;
mod store;
mod views;

pub use handlers::IncidentCommand;
pub(crate) use handlers::{run, timer_posts};
pub use model::{code, Incident, IncidentKind, ListState, TimelineEntry, TimelineKind};
pub use settings::{EscalationStep, IncidentSettings, Phase};
pub use severity::Severity;

/// What the incident commands and timers work with: the core's context and the runbook's clock.
pub(crate) struct Ctx<'a> {
    pub ctx: &'a crate::context::Context,
    pub settings: &'a IncidentSettings,
}

impl std::ops::Deref for Ctx<'_> {
    type Target = crate::context::Context;

    fn deref(&self) -> &Self::Target {
        self.ctx
    }
}
