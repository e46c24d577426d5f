//! Parsing `/maintenance …` options into a `MaintenanceCommand`.

use super::Args;
use crate::error::UserError;
use crate::maintenance::{MaintenanceCommand, LONGEST};
use crate::text::quote;
use std::time::Duration;

pub(super) fn parse(name: &str, args: &Args) -> Result<MaintenanceCommand, UserError> {
    Ok(match name {
        "maintenance schedule" => MaintenanceCommand::Schedule {
            start: args.text("start"),
            duration: duration(&args.text("duration"))?,
            summary: args.text("summary"),
        },
        "maintenance emergency" => MaintenanceCommand::Emergency {
            summary: args.text("summary"),
            duration: args.maybe("duration").map(|d| duration(&d)).transpose()?.unwrap_or(Duration::from_secs(3600)),
        },
        "maintenance list" => MaintenanceCommand::List,
        "maintenance cancel" => MaintenanceCommand::Cancel { id: window_id(&args.text("id"))? },
        other => unreachable!("spec `{other}` has no parser"),
    })
}

pub(super) fn spec_name(command: &MaintenanceCommand) -> &'static str {
    match command {
        MaintenanceCommand::Schedule { .. } => "maintenance schedule",
        MaintenanceCommand::Emergency { .. } => "maintenance emergency",
        MaintenanceCommand::List => "maintenance list",
        MaintenanceCommand::Cancel { .. } => "maintenance cancel",
    }
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
