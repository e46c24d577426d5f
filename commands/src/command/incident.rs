//! Parsing `/incident …` options into an `IncidentCommand`.

use super::{Args, Command};
use crate::error::UserError;
use crate::incident::{IncidentCommand, IncidentKind, ListState, Severity};
use crate::text::quote;

fn incident(command: IncidentCommand) -> Result<Command, UserError> {
    Ok(Command::Incident(command))
}

pub(super) fn declare(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Declare {
        severity: args.text("severity").parse()?,
        title: one_line(&args.text("title")),
        impact: args.maybe("impact").unwrap_or_default(),
        affected: args.maybe("affected").map(|a| one_line(&a)),
        commander: args.person("commander"),
        from_alert: args.number("from_alert"),
        kind: if args.maybe("kind").as_deref() == Some("security") { IncidentKind::Security } else { IncidentKind::Service },
    })
}

pub(super) fn evidence(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Evidence { id: id(args)? })
}

pub(super) fn ack(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Ack { id: id(args)? })
}

pub(super) fn update(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Update { id: id(args)?, text: args.text("text") })
}

pub(super) fn status_post(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::StatusPost { id: id(args)?, eta: args.maybe("eta") })
}

pub(super) fn severity(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Severity { id: id(args)?, level: args.text("level").parse::<Severity>()? })
}

pub(super) fn commander(args: &Args) -> Result<Command, UserError> {
    let user = args.person("user").ok_or_else(|| UserError::new("Name the new commander, like @bob."))?;
    incident(IncidentCommand::Commander { id: id(args)?, user })
}

pub(super) fn resolve(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Resolve { id: id(args)?, root_cause: args.text("root_cause") })
}

pub(super) fn escalate(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Escalate { id: id(args)? })
}

pub(super) fn list(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::List { state: state(args) })
}

pub(super) fn show(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Show { id: id(args)? })
}

pub(super) fn timeline(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Timeline { id: id(args)? })
}

pub(super) fn postmortem(args: &Args) -> Result<Command, UserError> {
    incident(IncidentCommand::Postmortem { id: id(args)? })
}

/// `INC-3`, `inc-3`, `#inc-3` or `3`.
fn id(args: &Args) -> Result<Option<i64>, UserError> {
    let Some(text) = args.maybe("id") else { return Ok(None) };
    let digits = text.trim_start_matches('#');
    let digits = digits.get(..4).filter(|p| p.eq_ignore_ascii_case("inc-")).map_or(digits, |_| &digits[4..]);
    match digits.parse::<i64>() {
        Ok(id) if id > 0 => Ok(Some(id)),
        _ => Err(UserError::new(format!("`id:` {} is not an incident; write it like INC-3.", quote(&text)))),
    }
}

/// The registry already checked the spelling.
fn state(args: &Args) -> ListState {
    match args.maybe("state").as_deref() {
        Some("resolved") => ListState::Resolved,
        Some("all") => ListState::All,
        _ => ListState::Open,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use crate::command::tests::parse;
    use crate::command::Command;
    use crate::incident::{IncidentCommand, Severity};

    #[test]
    fn incident_ids_read_in_every_usual_spelling() {
        for spelling in ["INC-7", "inc-7", "#inc-7", "7"] {
            assert_eq!(parse("incident show", &[("id", spelling)]), Ok(Command::Incident(IncidentCommand::Show { id: Some(7) })));
        }
        assert_eq!(parse("incident show", &[("id", "INC-x")]).unwrap_err(), "`id:` `INC-x` is not an incident; write it like INC-3.");
    }

    #[test]
    fn declare_checks_severity_and_title() {
        let declared = parse("incident declare", &[("severity", "p0"), ("title", " Logins\\nfailing ")]);
        assert!(matches!(declared, Ok(Command::Incident(IncidentCommand::Declare { severity: Severity::P0, .. }))));
        let unknown = parse("incident declare", &[("severity", "P5"), ("title", "x")]).unwrap_err();
        assert_eq!(unknown, "`severity:` `P5` is not one of P0, P1, P2, P3.");
        let long = "t".repeat(101);
        assert_eq!(
            parse("incident declare", &[("severity", "P1"), ("title", &long)]).unwrap_err(),
            "`title:` is too long (101 characters; at most 100)."
        );
        assert!(parse("incident declare", &[("severity", "P1"), ("title", "   ")]).unwrap_err().contains("needs `title:`"));
    }
}
