//! The slash commands, built from the core's registry: poise gets one generic action and one
//! generic autocomplete for all of them, and Discord gets each option's type and limits, so it
//! enforces them while the person types. Adding a command to the core adds it here.

use super::{answer, Data, Error};
use bellhop_commands::command::spec::{self, CommandSpec, Kind, OptionSpec, SPECS};
use poise::serenity_prelude as serenity;

/// Discord's integer options stop at 2^53 - 1.
const DISCORD_MAX_INT: i64 = (1 << 53) - 1;
/// Discord's limit on a string option's `max_length`.
const DISCORD_MAX_LENGTH: usize = 6000;

/// Every command for poise's dispatch: groups with their subcommands, leaves with their options.
pub fn commands() -> Vec<poise::Command<Data, Error>> {
    spec::groups()
        .into_iter()
        .map(|group| match spec::find(group) {
            Some(leaf) => command(leaf, group),
            None => {
                let subcommands =
                    SPECS.iter().filter(|s| s.name.split(' ').next() == Some(group)).map(|s| command(s, leaf_name(s))).collect();
                poise::Command {
                    name: group.into(),
                    qualified_name: group.into(),
                    identifying_name: group.into(),
                    source_code_name: group.into(),
                    description: Some(spec::group_description(group).into()),
                    subcommands,
                    subcommand_required: true,
                    // poise dispatches only to commands with an action, groups included; Discord
                    // never invokes a group itself.
                    slash_action: Some(|_| Box::pin(async { Ok(()) })),
                    ..Default::default()
                }
            }
        })
        .collect()
}

fn leaf_name(spec: &CommandSpec) -> &'static str {
    spec.name.rsplit(' ').next().unwrap_or(spec.name)
}

fn command(spec: &'static CommandSpec, name: &'static str) -> poise::Command<Data, Error> {
    poise::Command {
        name: name.into(),
        qualified_name: spec.name.into(),
        identifying_name: spec.name.into(),
        source_code_name: spec.name.into(),
        description: Some(spec.description.into()),
        parameters: spec.options.iter().map(parameter).collect(),
        slash_action: Some(|ctx| {
            Box::pin(async move { answer::slash(ctx).await.map_err(|e| poise::FrameworkError::new_command(ctx.into(), e)) })
        }),
        custom_data: Box::new(spec),
        ..Default::default()
    }
}

fn parameter(option: &OptionSpec) -> poise::CommandParameter<Data, Error> {
    poise::CommandParameter {
        name: option.name.into(),
        name_localizations: Default::default(),
        description: Some(option.description.into()),
        description_localizations: Default::default(),
        required: option.required,
        channel_types: None,
        choices: Default::default(),
        type_setter: None,
        autocomplete_callback: option.suggest.map(|_| answer::suggest as _),
        __non_exhaustive: (),
    }
}

/// The registry as Discord's command objects, with option types, choices and limits.
pub fn create_commands() -> Vec<serenity::CreateCommand> {
    spec::groups()
        .into_iter()
        .map(|group| match spec::find(group) {
            Some(leaf) => {
                serenity::CreateCommand::new(group).description(leaf.description).set_options(leaf.options.iter().map(option).collect())
            }
            None => {
                let subcommands = SPECS.iter().filter(|s| s.name.split(' ').next() == Some(group)).map(|s| {
                    let sub = serenity::CreateCommandOption::new(serenity::CommandOptionType::SubCommand, leaf_name(s), s.description);
                    s.options.iter().fold(sub, |sub, o| sub.add_sub_option(option(o)))
                });
                serenity::CreateCommand::new(group).description(spec::group_description(group)).set_options(subcommands.collect())
            }
        })
        .collect()
}

fn option(option: &OptionSpec) -> serenity::CreateCommandOption {
    use serenity::CommandOptionType as Type;
    let kind = match option.kind {
        Kind::Text { .. } | Kind::Choice(_) => Type::String,
        Kind::Integer { .. } => Type::Integer,
        Kind::User => Type::User,
    };
    let mut built = serenity::CreateCommandOption::new(kind, option.name, option.description).required(option.required);
    built = match option.kind {
        Kind::Text { max_len } => built.max_length(max_len.clamp(1, DISCORD_MAX_LENGTH) as u16),
        Kind::Choice(choices) => choices.iter().fold(built, |b, c| b.add_string_choice(*c, *c)),
        Kind::Integer { min, max } => built.min_int_value(min.max(-DISCORD_MAX_INT) as u64).max_int_value(max.min(DISCORD_MAX_INT) as u64),
        Kind::User => built,
    };
    if option.suggest.is_some() && !matches!(option.kind, Kind::Choice(_)) {
        built = built.set_autocomplete(true);
    }
    built
}

/// Registers the commands in one guild (instant) or globally.
pub async fn register(http: &serenity::Http, guild: Option<serenity::GuildId>) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let commands = create_commands();
    match guild {
        Some(guild) => guild.set_commands(http, commands).await.map(|_| ()),
        None => serenity::Command::set_global_commands(http, commands).await.map(|_| ()),
    }
    .context("cannot register the slash commands")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_is_a_slash_command_with_its_options() {
        let mut registered = Vec::new();
        for command in commands() {
            if command.subcommands.is_empty() {
                registered.push((command.qualified_name.to_string(), command.parameters.len()));
            }
            for sub in &command.subcommands {
                registered.push((sub.qualified_name.to_string(), sub.parameters.len()));
            }
        }
        registered.sort();
        let mut specs: Vec<(String, usize)> = SPECS.iter().map(|s| (s.name.to_string(), s.options.len())).collect();
        specs.sort();
        assert_eq!(registered, specs);
    }

    #[test]
    fn discord_gets_the_registry_limits() {
        let json = serde_json::to_value(create_commands()).unwrap();
        let incident = json.as_array().unwrap().iter().find(|c| c["name"] == "incident").unwrap();
        let declare = incident["options"].as_array().unwrap().iter().find(|o| o["name"] == "declare").unwrap();
        let options = declare["options"].as_array().unwrap();
        let title = options.iter().find(|o| o["name"] == "title").unwrap();
        assert_eq!((title["type"].as_u64(), title["max_length"].as_u64(), title["required"].as_bool()), (Some(3), Some(100), Some(true)));
        let severity = options.iter().find(|o| o["name"] == "severity").unwrap();
        assert_eq!(severity["choices"].as_array().unwrap().len(), 4);
        let commander = options.iter().find(|o| o["name"] == "commander").unwrap();
        assert_eq!(commander["type"].as_u64(), Some(6), "a user picker");
    }
}
