//! Commands: parsed once from what a person typed, then run by the core.

mod audit_recent;
mod deploy;
mod diagnose;
mod health;
mod help;
mod incident;
mod maintenance;
mod outbox;
mod remediation;
pub mod spec;
mod template_list;
mod template_show;

use crate::actor::Person;
use crate::error::UserError;
use crate::incident::IncidentCommand;
use crate::maintenance::MaintenanceCommand;
use crate::text::quote;
use spec::{CommandSpec, Kind};
use std::collections::BTreeMap;

pub(crate) use audit_recent::run as audit_recent_run;
pub(crate) use diagnose::run as diagnose_run;
pub use diagnose::Diagnostic;
pub(crate) use health::health;
pub(crate) use help::help;
pub(crate) use outbox::run as outbox_run;
pub use outbox::{listing as outbox_listing, OutboxCommand};
pub(crate) use template_list::template_list;
pub(crate) use template_show::template_show;

/// An option's value as the adapter hands it over: typed text, or a person it resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    User(Person),
}

/// A command as typed, before parsing: `/template show name:p1-alert` is
/// `path = ["template", "show"]`, `options = [("name", Text("p1-alert"))]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub path: Vec<String>,
    pub options: Vec<(String, Value)>,
    /// The adapter's key of the channel it was typed in (a Discord channel or thread id, a shell
    /// channel name): inside an incident's place, the incident is implied.
    pub channel: Option<String>,
    /// The chat it was typed in (`discord`, `slack`), when a process runs more than one: what it
    /// starts belongs to that chat.
    pub chat: Option<String>,
}

impl Invocation {
    pub fn new(path: &str) -> Self {
        Invocation { path: path.split_whitespace().map(str::to_string).collect(), options: Vec::new(), channel: None, chat: None }
    }

    /// Typed in `chat` (see [`crate::chats`]).
    pub fn from_chat(mut self, chat: &str) -> Self {
        self.chat = Some(chat.to_string());
        self
    }

    pub fn in_channel(mut self, key: impl Into<String>) -> Self {
        self.channel = Some(key.into());
        self
    }

    pub fn option(mut self, name: &str, value: impl Into<String>) -> Self {
        self.options.push((name.to_string(), Value::Text(value.into())));
        self
    }

    /// A person option, resolved by the adapter.
    pub fn user(mut self, name: &str, person: Person) -> Self {
        self.options.push((name.to_string(), Value::User(person)));
        self
    }

    pub fn name(&self) -> String {
        self.path.join(" ")
    }

    /// The registry's entry for what was typed, if there is one.
    pub fn spec(&self) -> Option<&'static CommandSpec> {
        spec::find(&self.name())
    }
}

/// Every command bellhop knows, with its arguments parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Health,
    TemplateList,
    TemplateShow {
        name: String,
    },
    Incident(IncidentCommand),
    Maintenance(MaintenanceCommand),
    Outbox(OutboxCommand),
    Diagnose(Diagnostic),
    AuditRecent {
        limit: i64,
    },
    /// An approval-gated remediation (`/flags disable`, `/sessions purge`…).
    Remediate(crate::remediation::Request),
    /// `/deploy …`, `/functions recent`, `/backups`.
    Deploy(crate::deploy::DeployCommand),
    /// `/break-glass`: a pending plan in an open P0 runs with one approval.
    BreakGlass {
        plan: i64,
        reason: String,
    },
}

impl Command {
    /// Checks an invocation against the registry; the error says what to type instead.
    pub fn parse(invocation: &Invocation) -> Result<(Command, &'static CommandSpec), UserError> {
        let name = invocation.name();
        let spec = spec::find(&name).ok_or_else(|| unknown_command(&name))?;
        let mut args = BTreeMap::new();
        for (option, value) in &invocation.options {
            let Some(option_spec) = spec.option(option) else {
                return Err(unknown_option(spec, option));
            };
            let value = check(option_spec, value)?;
            if args.insert(option_spec.name, value).is_some() {
                return Err(UserError::new(format!("`{}:` is given twice; give it once.", option_spec.name)));
            }
        }
        for required in spec.options.iter().filter(|o| o.required) {
            if args.get(required.name).is_none_or(Value::is_blank) {
                return Err(UserError::new(format!(
                    "`/{name}` needs `{}:` ({}). Usage: {}",
                    required.name,
                    required.description.to_lowercase(),
                    spec.usage()
                )));
            }
        }
        Ok(((spec.parse)(&Args(args))?, spec))
    }
}

impl Value {
    fn is_blank(&self) -> bool {
        matches!(self, Value::Text(text) if text.trim().is_empty())
    }
}

/// One option's value against its kind: trimmed text within its length, a listed choice (as the
/// registry spells it), a number in range, a resolved person.
fn check(option: &spec::OptionSpec, value: &Value) -> Result<Value, UserError> {
    let name = option.name;
    match (value, option.kind) {
        (Value::User(person), Kind::User) => Ok(Value::User(person.clone())),
        (Value::User(person), _) => Err(UserError::new(format!("`{name}:` takes text, not a person ({}).", person.mention()))),
        (Value::Text(_), Kind::User) => {
            Err(UserError::new(format!("`{name}:` must name a person: pick them in Discord, or write @name in the shell.")))
        }
        (Value::Text(text), Kind::Text { max_len }) => {
            // Shown back in posts, an override or a zero-width space would reorder or hide what
            // bellhop says around it (a title reading backwards): typed text is kept without
            // them, and with spaces for control characters.
            let text: String =
                text.chars().filter(|c| !crate::text::is_disruptive(*c)).map(|c| if c.is_control() { ' ' } else { c }).collect();
            let text = text.trim();
            let length = text.chars().count();
            if length > max_len {
                return Err(UserError::new(format!("`{name}:` is too long ({length} characters; at most {max_len}).")));
            }
            Ok(Value::Text(text.to_string()))
        }
        (Value::Text(text), Kind::Choice(choices)) => match choices.iter().find(|c| c.eq_ignore_ascii_case(text.trim())) {
            Some(choice) => Ok(Value::Text(choice.to_string())),
            None if text.trim().is_empty() => Ok(Value::Text(String::new())),
            None => Err(UserError::new(format!("`{name}:` {} is not one of {}.", quote(text), choices.join(", ")))),
        },
        (Value::Text(text), Kind::Integer { min, max }) => match text.trim().parse::<i64>() {
            Ok(number) if (min..=max).contains(&number) => Ok(Value::Text(number.to_string())),
            _ if text.trim().is_empty() => Ok(Value::Text(String::new())),
            _ => Err(UserError::new(format!("`{name}:` {} is not a whole number from {min} to {max}.", quote(text)))),
        },
    }
}

/// A command's options after the registry's checks: present ones are trimmed, in range, and
/// non-blank where required.
pub struct Args<'a>(BTreeMap<&'a str, Value>);

impl Args<'_> {
    pub fn text(&self, key: &str) -> String {
        self.maybe(key).unwrap_or_default()
    }

    /// An optional option; given but blank counts as not given.
    pub fn maybe(&self, key: &str) -> Option<String> {
        match self.0.get(key) {
            Some(Value::Text(text)) if !text.is_empty() => Some(text.clone()),
            _ => None,
        }
    }

    pub fn person(&self, key: &str) -> Option<Person> {
        match self.0.get(key) {
            Some(Value::User(person)) => Some(person.clone()),
            _ => None,
        }
    }

    /// A number the registry already checked against its range.
    pub fn number(&self, key: &str) -> Option<i64> {
        self.maybe(key).and_then(|text| text.parse().ok())
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
        Command::parse(&invocation).map(|(command, _)| command).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_known_commands() {
        assert_eq!(parse("health", &[]), Ok(Command::Health));
        assert_eq!(parse("template show", &[("name", " p1-alert ")]), Ok(Command::TemplateShow { name: "p1-alert".into() }));
    }

    #[test]
    fn typed_text_loses_the_characters_that_would_reorder_or_hide_a_post() {
        let shown = parse("template show", &[("name", "\u{202E}p1\u{200B}-alert\u{2066}\tx\u{FEFF}\u{1}y")]);
        assert_eq!(shown, Ok(Command::TemplateShow { name: "p1-alert x y".into() }));
        // Joiners and direction marks are part of the words: an emoji sequence, Persian.
        let kept = "deploy 👩\u{200D}💻 broke · می\u{200C}خواهم \u{200F}";
        assert_eq!(parse("template show", &[("name", kept)]), Ok(Command::TemplateShow { name: kept.trim().into() }));
        let blank = parse("incident update", &[("text", "\u{202E}\u{200B}")]).unwrap_err();
        assert!(blank.contains("`text:`"), "only invisible characters is no text: {blank}");
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
