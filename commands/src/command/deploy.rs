//! Parsing `/deploy …`, `/functions recent` and `/backups` into a `DeployCommand`.

use super::{Args, Command};
use crate::deploy::DeployCommand;
use crate::error::UserError;

fn deploy(command: DeployCommand) -> Result<Command, UserError> {
    Ok(Command::Deploy(command))
}

/// What is being deployed, on one line; "the next deploy" when not said.
fn what(args: &Args) -> String {
    args.maybe("what").map(|w| w.split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_else(|| "the next deploy".into())
}

pub(super) fn checklist(args: &Args) -> Result<Command, UserError> {
    deploy(DeployCommand::Checklist { what: what(args) })
}

pub(super) fn check(args: &Args) -> Result<Command, UserError> {
    let item = args.number("item").and_then(|n| usize::try_from(n).ok()).filter(|n| (1..=6).contains(n));
    let item = item.ok_or_else(|| UserError::new("`item:` is the checklist's item number, 1 to 6."))?;
    deploy(DeployCommand::Check { item })
}

pub(super) fn done(args: &Args) -> Result<Command, UserError> {
    deploy(DeployCommand::Done { what: what(args) })
}

pub(super) fn validate(args: &Args) -> Result<Command, UserError> {
    let minutes = args.number("minutes").and_then(|n| usize::try_from(n).ok()).unwrap_or(15);
    deploy(DeployCommand::Validate { minutes })
}

pub(super) fn functions_recent(args: &Args) -> Result<Command, UserError> {
    deploy(DeployCommand::FunctionsRecent { limit: args.number("limit").unwrap_or(10) })
}

pub(super) fn backups(_: &Args) -> Result<Command, UserError> {
    deploy(DeployCommand::Backups)
}

#[cfg(test)]
mod tests {
    use crate::command::tests::parse;
    use crate::command::Command;
    use crate::deploy::DeployCommand;

    #[test]
    fn deploy_commands_check_their_numbers() {
        assert_eq!(parse("deploy check", &[("item", "3")]), Ok(Command::Deploy(DeployCommand::Check { item: 3 })));
        assert_eq!(parse("deploy check", &[("item", "7")]).unwrap_err(), "`item:` `7` is not a whole number from 1 to 6.");
        assert_eq!(parse("deploy validate", &[("minutes", "0")]).unwrap_err(), "`minutes:` `0` is not a whole number from 1 to 15.");
        assert_eq!(parse("deploy validate", &[]), Ok(Command::Deploy(DeployCommand::Validate { minutes: 15 })));
        assert_eq!(
            parse("deploy checklist", &[("what", " v2.3\\n ")]),
            Ok(Command::Deploy(DeployCommand::Checklist { what: "v2.3\\n".into() }))
        );
    }
}
