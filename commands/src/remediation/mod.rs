//! Approval-gated remediation: the runbook's destructive SQL as actions, each run only after
//! two people holding the approver role (never the requester) approve that exact plan.

pub mod break_glass;
pub mod confirm;
pub mod flags;
mod gate;
pub mod plan;
pub mod posts;
pub mod rls;
pub mod rollback;
pub mod rollback_file;
mod runs;
pub mod sessions;
pub mod state;

pub(crate) use runs::RUNNING_PLANS;

pub use plan::{Action, Cutoff, Outcome, Plan, Preview, RemediationSettings};
pub use state::PlanState;

pub(crate) use gate::{entry as audit_entry, on_reaction, timer};

use crate::actor::Actor;
use crate::command::{Args, Command};
use crate::core::Core;
use crate::error::{CommandError, UserError};
use crate::post::Reply;

/// A remediation as asked for: the action, and whether only to show its plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub action: Action,
    pub dry_run: bool,
}

pub(crate) async fn run(core: &Core, actor: &Actor, channel: Option<&str>, request: Request) -> Result<Reply, CommandError> {
    gate::request(core, actor, channel, request.action, request.dry_run).await
}

fn request(args: &Args, action: Action) -> Result<Command, UserError> {
    Ok(Command::Remediate(Request { action, dry_run: args.maybe("dry_run").as_deref() == Some("true") }))
}

pub(crate) fn flags_disable(args: &Args) -> Result<Command, UserError> {
    let names = flags::parse_names(&args.text("names"))?;
    request(args, Action::SetFlags { names, enable: false, reason: args.maybe("reason") })
}

pub(crate) fn flags_enable(args: &Args) -> Result<Command, UserError> {
    let names = flags::parse_names(&args.text("names"))?;
    request(args, Action::SetFlags { names, enable: true, reason: args.maybe("reason") })
}

pub(crate) fn auth_confirm_stuck(args: &Args) -> Result<Command, UserError> {
    let older_than_secs = sessions::parse_age(&args.text("older_than"))?;
    request(args, Action::ConfirmStuck { older_than_secs, before: None })
}

pub(crate) fn sessions_purge(args: &Args) -> Result<Command, UserError> {
    let older_than_secs = sessions::parse_age(&args.text("older_than"))?;
    let user = args.maybe("user").map(|u| u.trim().to_lowercase());
    request(args, Action::PurgeSessions { older_than_secs, user, before: None })
}

pub(crate) fn migrations_rollback(args: &Args) -> Result<Command, UserError> {
    let version = rollback::parse_version(&args.text("version"))?;
    // The file's name, size, hash and text are filled in from the rollbacks folder before the preview.
    let unread = Action::RollbackMigration { version, file: String::new(), bytes: 0, sha256: String::new(), sql: String::new() };
    request(args, unread)
}

pub(crate) fn rls_lockdown(args: &Args) -> Result<Command, UserError> {
    request(args, Action::RlsLockdown)
}

/// The lockdown to undo and its grants are filled from bellhop's records when the plan is made.
pub(crate) fn rls_restore(args: &Args) -> Result<Command, UserError> {
    request(args, Action::RlsRestore { lockdown: 0, grants: Vec::new() })
}
