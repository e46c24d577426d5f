//! Parsing `/incident …` options into an `IncidentCommand`.

use super::Args;
use crate::error::UserError;
use crate::incident::{IncidentCommand, ListState, Severity};
use crate::text::quote;

pub(super) fn parse(name: &str, args: &Args) -> Result<IncidentCommand, UserError> {
    let id = id(args)?;
    Ok(match name {
        "incident declare" => IncidentCommand::Declare {
            severity: args.text("severity").parse()?,
            title: one_line(&args.text("title")),
            impact: args.maybe("impact").unwrap_or_default(),
            commander: args.maybe("commander").map(|c| person(&c)).transpose()?,
        },
        "incident ack" => IncidentCommand::Ack { id },
        "incident update" => IncidentCommand::Update { id, text: args.text("text") },
        "incident status-post" => IncidentCommand::StatusPost { id, eta: args.maybe("eta") },
        "incident severity" => IncidentCommand::Severity { id, level: args.text("level").parse::<Severity>()? },
        "incident commander" => IncidentCommand::Commander { id, user: person(&args.text("user"))? },
        "incident resolve" => IncidentCommand::Resolve { id, root_cause: args.text("root_cause") },
        "incident escalate" => IncidentCommand::Escalate { id },
        "incident list" => IncidentCommand::List { state: state(args)? },
        "incident show" => IncidentCommand::Show { id },
        "incident timeline" => IncidentCommand::Timeline { id },
        "incident postmortem" => IncidentCommand::Postmortem { id },
        other => unreachable!("spec `{other}` has no parser"),
    })
}

pub(super) fn spec_name(command: &IncidentCommand) -> &'static str {
    match command {
        IncidentCommand::Declare { .. } => "incident declare",
        IncidentCommand::Ack { .. } => "incident ack",
        IncidentCommand::Update { .. } => "incident update",
        IncidentCommand::StatusPost { .. } => "incident status-post",
        IncidentCommand::Severity { .. } => "incident severity",
        IncidentCommand::Commander { .. } => "incident commander",
        IncidentCommand::Resolve { .. } => "incident resolve",
        IncidentCommand::Escalate { .. } => "incident escalate",
        IncidentCommand::List { .. } => "incident list",
        IncidentCommand::Show { .. } => "incident show",
        IncidentCommand::Timeline { .. } => "incident timeline",
        IncidentCommand::Postmortem { .. } => "incident postmortem",
    }
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

fn state(args: &Args) -> Result<ListState, UserError> {
    match args.maybe("state").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("open") => Ok(ListState::Open),
        Some("resolved") => Ok(ListState::Resolved),
        Some("all") => Ok(ListState::All),
        Some(other) => Err(UserError::new(format!("`state:` {} is not one of open, resolved, all.", quote(other)))),
    }
}

/// A person named in an option: `@bob`, `bob` or a chat mention; kept as a display name.
fn person(text: &str) -> Result<String, UserError> {
    let name = one_line(text.trim().trim_start_matches('@'));
    if name.is_empty() {
        return Err(UserError::new("Name a person, like @bob."));
    }
    Ok(name)
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
        assert!(unknown.starts_with("There is no severity `P5`; the severities are P0"), "{unknown}");
        let long = "t".repeat(101);
        assert_eq!(
            parse("incident declare", &[("severity", "P1"), ("title", &long)]).unwrap_err(),
            "`title:` is too long (101 characters; at most 100)."
        );
        assert!(parse("incident declare", &[("severity", "P1"), ("title", "   ")]).unwrap_err().contains("needs `title:`"));
    }
}
