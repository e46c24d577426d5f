//! `/db …`, `/auth diagnose`, `/migrations status`, `/flags list`: the runbook's read-only
//! diagnostics of the target database, each in a read-only transaction with a timeout.

use super::{Args, Command};
use crate::context::Context;
use crate::diagnostics::{self, SlowQueryArgs};
use crate::error::{CommandError, UserError};
use crate::post::Reply;
use crate::target_db::TargetError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagnostic {
    DbHealth,
    SlowQueries(SlowQueryArgs),
    Connections,
    AuthDiagnose,
    MigrationsStatus,
    FlagsList,
}

fn diagnostic(which: Diagnostic) -> Result<Command, UserError> {
    Ok(Command::Diagnose(which))
}

pub(super) fn db_health(_: &Args) -> Result<Command, UserError> {
    diagnostic(Diagnostic::DbHealth)
}

pub(super) fn slow_queries(args: &Args) -> Result<Command, UserError> {
    let defaults = SlowQueryArgs::default();
    let min_calls = args.number("min_calls").unwrap_or(defaults.min_calls);
    let limit = args.number("limit").unwrap_or(defaults.limit);
    diagnostic(Diagnostic::SlowQueries(SlowQueryArgs { min_calls, limit }))
}

pub(super) fn connections(_: &Args) -> Result<Command, UserError> {
    diagnostic(Diagnostic::Connections)
}

pub(super) fn auth_diagnose(_: &Args) -> Result<Command, UserError> {
    diagnostic(Diagnostic::AuthDiagnose)
}

pub(super) fn migrations_status(_: &Args) -> Result<Command, UserError> {
    diagnostic(Diagnostic::MigrationsStatus)
}

pub(super) fn flags_list(_: &Args) -> Result<Command, UserError> {
    diagnostic(Diagnostic::FlagsList)
}

pub(crate) async fn run(cx: &Context, which: Diagnostic) -> Result<Reply, CommandError> {
    let Some(target) = cx.target() else {
        return Err(CommandError::user("bellhop has no target database: SUPABASE_DB_URL is not set."));
    };
    let post = match which {
        Diagnostic::DbHealth => diagnostics::db_health::run(target).await.map(|r| diagnostics::db_health::post(&r)),
        Diagnostic::SlowQueries(args) => {
            diagnostics::slow_queries::run(target, args).await.map(|r| diagnostics::slow_queries::post(&r, args))
        }
        Diagnostic::Connections => diagnostics::connections::run(target).await.map(|r| diagnostics::connections::post(&r)),
        Diagnostic::AuthDiagnose => diagnostics::auth_diagnose::run(target).await.map(|r| diagnostics::auth_diagnose::post(&r)),
        Diagnostic::MigrationsStatus => diagnostics::migrations_status::run(target).await.map(|r| diagnostics::migrations_status::post(&r)),
        Diagnostic::FlagsList => diagnostics::flags_list::run(target).await.map(|r| diagnostics::flags_list::post(&r)),
    };
    post.map(Reply::invoker).map_err(unreachable_target)
}

/// A target that cannot be read is the person's to know about (which host, what to check), in
/// one sentence; it is never an internal error with a reference.
fn unreachable_target(error: TargetError) -> CommandError {
    CommandError::User(UserError::new(error.to_string()))
}
