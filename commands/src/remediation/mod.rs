//! Approval-gated remediation: the runbook's destructive SQL as actions, each run only after
//! two people holding the approver role (never the requester) approve that exact plan.

mod action;
pub mod break_glass;
pub mod confirm;
mod effects;
pub mod flags;
mod gate;
pub mod plan;
pub mod posts;
pub mod rls;
pub mod rollback;
pub mod rollback_file;
mod runs;
pub mod sessions;
mod settings;
pub mod state;

pub(crate) use runs::{claim_ready_plans, execute, holding_claim, Claimed, RUNNING_PLANS};

pub use action::{Action, Cutoff};
pub use effects::{code, Executed, Preview, Progress};
pub use plan::{Outcome, Plan};
pub use settings::RemediationSettings;
pub use state::PlanState;

/// What the remediation commands, timers and runs work with: the core's context, the gate's
/// settings, and the escalation roles break-glass pages.
pub(crate) struct Ctx<'a> {
    pub ctx: &'a crate::context::Context,
    pub settings: &'a RemediationSettings,
    pub escalation: &'a [crate::incident::EscalationStep],
}

impl std::ops::Deref for Ctx<'_> {
    type Target = crate::context::Context;

    fn deref(&self) -> &Self::Target {
        self.ctx
    }
}

pub(crate) use gate::{entry as audit_entry, on_reaction, timer};

use crate::actor::Actor;
use crate::error::CommandError;
use crate::post::Reply;

/// A remediation as asked for: the action, and whether only to show its plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub action: Action,
    pub dry_run: bool,
}

pub(crate) async fn run(cx: &Ctx<'_>, actor: &Actor, channel: Option<&str>, request: Request) -> Result<Reply, CommandError> {
    gate::request(cx, actor, channel, request.action, request.dry_run).await
}
