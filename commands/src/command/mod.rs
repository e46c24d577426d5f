//! Commands: parsed once from what a person typed, then run by the core.

mod health;
mod help;
mod incident;
mod maintenance;
pub mod spec;
mod template_list;
mod template_show;

use crate::error::UserError;
use crate::incident::IncidentCommand;
use crate::maintenance::MaintenanceCommand;
use crate::text::quote;
use spec::CommandSpec;
use std::collections::BTreeMap;

pub(crate) use health::health;
pub(crate) use help::help;
pub(crate) use template_list::template_list;
pub(crate) use template_show::template_show;

/// A command as typed, before parsing: `/template show name:p1-alert` is
/// `path = ["template", "show"]`, `options = [("name", "p1-alert")]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub path: Vec<String>,
    pub options: Vec<(String, String)>,
    /// The adapter's key of the channel it was typed in (a Discord channel or thread id, a shell
    /// channel name): inside an incident's place, the incident is implied.
    pub channel: Option<String>,
}

impl Invocation {
    pub fn new(path: &str) -> Self {
        Invocation { path: path.split_whitespace().map(str::to_string).collect(), options: Vec::new(), channel: None }
    }

    /// An option the person may have left out.
    pub fn option_if(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.option(name, value),
            None => self,
        }
    }

    pub fn in_channel(mut self, key: impl Into<String>) -> Self {
        self.channel = Some(key.into());
        self
    }

    pub fn option(mut self, name: &str, value: impl Into<String>) -> Self {
        self.options.push((name.to_string(), value.into()));
        self
    }

    pub fn name(&self) -> String {
        self.path.join(" ")
    }
}

/// Every command bellhop knows, with its arguments parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Health,
    TemplateList,
    TemplateShow { name: String },
    Incident(IncidentCommand),
    Maintenance(MaintenanceCommand),
}

impl Command {
    pub fn spec(&self) -> &'static CommandSpec {
        let name = match self {
            Command::Help => "help",
            Command::Health => "health",
            Command::TemplateList => "template list",
            Command::TemplateShow { .. } => "template show",
            Command::Incident(command) => incident::spec_name(command),
            Command::Maintenance(command) => maintenance::spec_name(command),
        };
        spec::find(name).expect("every command has a spec")
    }

    /// Checks an invocation against the command table; the error says what to type instead.
    pub fn parse(invocation: &Invocation) -> Result<Command, UserError> {
        let name = invocation.name();
        let spec = spec::find(&name).ok_or_else(|| unknown_command(&name))?;
        let mut args = BTreeMap::new();
        for (option, value) in &invocation.options {
            let Some(option_spec) = spec.option(option) else {
                return Err(unknown_option(spec, option));
            };
            let length = value.chars().count();
            if length > option_spec.max_len {
                return Err(UserError::new(format!("`{option}:` is too long ({length} characters; at most {}).", option_spec.max_len)));
            }
            if args.insert(option.as_str(), value.trim()).is_some() {
                return Err(UserError::new(format!("`{option}:` is given twice; give it once.")));
            }
        }
        for required in spec.options.iter().filter(|o| o.required) {
            if args.get(required.name).is_none_or(|v| v.is_empty()) {
                return Err(UserError::new(format!(
                    "`/{name}` needs `{}:` ({}). Usage: {}",
                    required.name,
                    required.description.to_lowercase(),
                    spec.usage()
                )));
            }
        }
        let args = Args(args);
        Ok(match spec.name {
            "help" => Command::Help,
            "health" => Command::Health,
            "template list" => Command::TemplateList,
            "template show" => Command::TemplateShow { name: args.text("name") },
            name if name.starts_with("incident ") => Command::Incident(incident::parse(name, &args)?),
            name if name.starts_with("maintenance ") => Command::Maintenance(maintenance::parse(name, &args)?),
            other => unreachable!("spec `{other}` has no parser"),
        })
    }
}

/// A command's options after the table's checks: present ones are trimmed and non-empty-checked
/// where required.
pub(crate) struct Args<'a>(BTreeMap<&'a str, &'a str>);

impl Args<'_> {
    pub fn text(&self, key: &str) -> String {
        self.0.get(key).map(|v| v.to_string()).unwrap_or_default()
    }

    /// An optional option; given but blank counts as not given.
    pub fn maybe(&self, key: &str) -> Option<String> {
        self.0.get(key).filter(|v| !v.is_empty()).map(|v| v.to_string())
    }
}

fn unknown_command(name: &str) -> UserError {
    let group = name.split(' ').next().unwrap_or_default();
    let subcommands = spec::subcommands(group);
    if let Some(spec) = spec::SPECS.iter().find(|s| name.starts_with(&format!("{} ", s.name))) {
        return UserError::new(format!("Options are written name:value. Usage: {}", spec.usage()));
    }
    if name.is_empty() {
        UserError::new("Type a command after the slash, like /health; /help lists them all.")
    } else if !subcommands.is_empty() && !name.contains(' ') {
        UserError::new(format!("`/{group}` needs a subcommand: {}.", subcommands.join(", ")))
    } else if !subcommands.is_empty() {
        UserError::new(format!(
            "`/{group}` has no subcommand {}; try {}.",
            quote(name.trim_start_matches(group).trim()),
            subcommands.join(", ")
        ))
    } else {
        UserError::new(format!("There is no command {}; /help lists them all.", quote(&format!("/{name}"))))
    }
}

fn unknown_option(spec: &CommandSpec, option: &str) -> UserError {
    let options: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
    if options.is_empty() {
        UserError::new(format!("`/{}` takes no options, but {} was given.", spec.name, quote(option)))
    } else {
        UserError::new(format!("`/{}` has no option {}; its options are {}.", spec.name, quote(option), options.join(", ")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Parses a command as an adapter would hand it over; errors as the person reads them.
    pub(crate) fn parse(path: &str, options: &[(&str, &str)]) -> Result<Command, String> {
        let invocation = options.iter().fold(Invocation::new(path), |inv, (k, v)| inv.option(k, *v));
        Command::parse(&invocation).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_known_commands() {
        assert_eq!(parse("health", &[]), Ok(Command::Health));
        assert_eq!(parse("template show", &[("name", " p1-alert ")]), Ok(Command::TemplateShow { name: "p1-alert".into() }));
    }

    #[test]
    fn bad_input_says_what_to_type() {
        assert_eq!(parse("healthz", &[]).unwrap_err(), "There is no command `/healthz`; /help lists them all.");
        assert_eq!(parse("template show p1-alert", &[]).unwrap_err(), "Options are written name:value. Usage: /template show name:…");
        assert_eq!(parse("template", &[]).unwrap_err(), "`/template` needs a subcommand: list, show.");
        assert_eq!(
            parse("template show", &[]).unwrap_err(),
            "`/template show` needs `name:` (template name). Usage: /template show name:…"
        );
        assert_eq!(
            parse("template show", &[("name", "  ")]).unwrap_err(),
            "`/template show` needs `name:` (template name). Usage: /template show name:…"
        );
        assert_eq!(parse("template show", &[("nme", "x")]).unwrap_err(), "`/template show` has no option `nme`; its options are name.");
        assert_eq!(parse("health", &[("verbose", "yes")]).unwrap_err(), "`/health` takes no options, but `verbose` was given.");
        let huge = "x".repeat(10_000);
        assert_eq!(parse("template show", &[("name", &huge)]).unwrap_err(), "`name:` is too long (10000 characters; at most 64).");
    }
}
