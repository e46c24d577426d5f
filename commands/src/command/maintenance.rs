//! Parsing `/maintenance …` options into a `MaintenanceCommand`.

use super::{Args, Command};
use crate::error::UserError;
use crate::maintenance::{MaintenanceCommand, LONGEST};
use crate::text::quote;
use std::time::Duration;

fn maintenance(command: MaintenanceCommand) -> Result<Command, UserError> {
    Ok(Command::Maintenance(command))
}

pub(super) fn schedule(args: &Args) -> Result<Command, UserError> {
    maintenance(MaintenanceCommand::Schedule {
        start: args.text("start"),
        duration: duration(&args.text("duration"))?,
        summary: args.text("summary"),
    })
}

pub(super) fn emergency(args: &Args) -> Result<Command, UserError> {
    maintenance(MaintenanceCommand::Emergency {
        summary: args.text("summary"),
        duration: args.maybe("duration").map(|d| duration(&d)).transpose()?.unwrap_or(Duration::from_secs(3600)),
    })
}

pub(super) fn list(_: &Args) -> Result<Command, UserError> {
    maintenance(MaintenanceCommand::List)
}

pub(super) fn cancel(args: &Args) -> Result<Command, UserError> {
    maintenance(MaintenanceCommand::Cancel { id: window_id(&args.text("id"))? })
}

fn duration(text: &str) -> Result<Duration, UserError> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d >= Duration::from_secs(60) && d <= LONGEST => Ok(d),
        Ok(_) | Err(humantime::DurationError::NumberOverflow) => Err(UserError::new("`duration:` must be between 1 minute and 7 days.")),
        Err(_) => Err(UserError::new(format!("`duration:` {} is not a duration; write it like 90m or 2h.", quote(text)))),
    }
}

fn window_id(text: &str) -> Result<i64, UserError> {
    let digits = text.get(..3).filter(|p| p.eq_ignore_ascii_case("mw-")).map_or(text, |_| &text[3..]);
    match digits.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(UserError::new(format!("`id:` {} is not a maintenance window; write it like MW-2.", quote(text)))),
    }
}
