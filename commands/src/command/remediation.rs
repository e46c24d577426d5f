//! Parsing the remediation commands' options into a `Request` for the approval gate.

use super::{Args, Command};
use crate::error::UserError;
use crate::remediation::{flags, rollback, sessions, Action, Request};
use crate::text::quote;

fn request(args: &Args, action: Action) -> Result<Command, UserError> {
    Ok(Command::Remediate(Request { action, dry_run: args.maybe("dry_run").as_deref() == Some("true") }))
}

pub(super) fn flags_disable(args: &Args) -> Result<Command, UserError> {
    let names = flags::parse_names(&args.text("names"))?;
    request(args, Action::SetFlags { names, enable: false, reason: args.maybe("reason") })
}

pub(super) fn flags_enable(args: &Args) -> Result<Command, UserError> {
    let names = flags::parse_names(&args.text("names"))?;
    request(args, Action::SetFlags { names, enable: true, reason: args.maybe("reason") })
}

pub(super) fn auth_confirm_stuck(args: &Args) -> Result<Command, UserError> {
    let older_than_secs = sessions::parse_age(&args.text("older_than"))?;
    request(args, Action::ConfirmStuck { older_than_secs, before: None })
}

pub(super) fn sessions_purge(args: &Args) -> Result<Command, UserError> {
    let older_than_secs = sessions::parse_age(&args.text("older_than"))?;
    let user = args.maybe("user").map(|u| u.trim().to_lowercase());
    request(args, Action::PurgeSessions { older_than_secs, user, before: None })
}

pub(super) fn migrations_rollback(args: &Args) -> Result<Command, UserError> {
    let version = rollback::parse_version(&args.text("version"))?;
    // The file's name, size, hash and text are filled in from the rollbacks folder before the preview.
    let unread = Action::RollbackMigration { version, file: String::new(), bytes: 0, sha256: String::new(), sql: String::new() };
    request(args, unread)
}

pub(super) fn rls_lockdown(args: &Args) -> Result<Command, UserError> {
    request(args, Action::RlsLockdown)
}

/// The lockdown to undo and its grants are filled from bellhop's records when the plan is made.
pub(super) fn rls_restore(args: &Args) -> Result<Command, UserError> {
    request(args, Action::RlsRestore { lockdown: 0, grants: Vec::new() })
}

pub(super) fn break_glass(args: &Args) -> Result<Command, UserError> {
    let text = args.text("plan");
    let digits = text.trim();
    let digits = digits.get(..5).filter(|p| p.eq_ignore_ascii_case("plan-")).map_or(digits, |_| &digits[5..]);
    let plan = match digits.parse::<i64>() {
        Ok(id) if id > 0 => id,
        _ => return Err(UserError::new(format!("`plan:` {} is not a plan; write it like PLAN-3.", quote(&text)))),
    };
    let reason = args.text("reason").split_whitespace().collect::<Vec<_>>().join(" ");
    if reason.is_empty() {
        return Err(UserError::new("`reason:` is needed: say why this cannot wait for a second approver."));
    }
    Ok(Command::BreakGlass { plan, reason })
}
