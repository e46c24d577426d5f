//! The slash commands: each one builds the `Actor` and the `Invocation`, calls the core and
//! renders its reply. Descriptions come from `///` and must match the core's command table.

use super::{embed, Context, Error};
use bellhop_commands::command::spec;
use bellhop_commands::Invocation;
use poise::serenity_prelude as serenity;

/// Every command, for the framework and for registration.
pub fn all() -> Vec<poise::Command<super::Data, Error>> {
    vec![health(), help(), template(), super::incident::incident(), super::incident::maintenance()]
}

/// Probe the frontend, Supabase auth and REST, the edge functions and the database
#[poise::command(slash_command)]
pub async fn health(ctx: Context<'_>) -> Result<(), Error> {
    answer(ctx, Invocation::new("health"), Io::Slow).await
}

/// List bellhop's commands
#[poise::command(slash_command)]
pub async fn help(ctx: Context<'_>) -> Result<(), Error> {
    answer(ctx, Invocation::new("help"), Io::None).await
}

/// The runbook's message templates
#[poise::command(slash_command, subcommands("template_list", "template_show"), subcommand_required)]
pub async fn template(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// List the runbook's message templates and the values each needs
#[poise::command(slash_command, rename = "list")]
pub async fn template_list(ctx: Context<'_>) -> Result<(), Error> {
    answer(ctx, Invocation::new("template list"), Io::None).await
}

/// Show a runbook template filled with sample values
#[poise::command(slash_command, rename = "show")]
pub async fn template_show(
    ctx: Context<'_>,
    #[description = "Template name"]
    #[autocomplete = "template_names"]
    name: String,
) -> Result<(), Error> {
    answer(ctx, Invocation::new("template show").option("name", name), Io::None).await
}

/// Discord shows at most 25 choices.
async fn template_names(ctx: Context<'_>, partial: &str) -> serenity::CreateAutocompleteResponse {
    let partial = partial.to_lowercase();
    let choices = ctx
        .data()
        .core
        .template_names()
        .iter()
        .filter(|name| name.to_lowercase().contains(&partial))
        .take(25)
        .map(|name| serenity::AutocompleteChoice::new(name.clone(), name.clone()))
        .collect();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Whether a command waits on anything outside bellhop.
#[derive(PartialEq)]
pub(super) enum Io {
    None,
    /// Acknowledge at once: Discord drops an interaction not acknowledged within 3 s.
    Slow,
}

pub(super) async fn answer(ctx: Context<'_>, invocation: Invocation, io: Io) -> Result<(), Error> {
    let member = match ctx {
        poise::Context::Application(app) => app.interaction.member.as_deref(),
        poise::Context::Prefix(_) => None,
    };
    let actor = ctx.data().roles.actor(ctx.author(), member);
    let invocation = invocation.in_channel(ctx.channel_id().to_string());
    // A refusal is immediate and only for the invoker, so it is not deferred (a deferred reply
    // is public).
    let allowed = spec::find(&invocation.name()).is_some_and(|spec| spec.access.allows(&actor));
    if io == Io::Slow && allowed {
        ctx.defer().await?;
    }
    let reply = ctx.data().core.handle(&actor, &invocation).await;
    // The command may have queued posts (a kickoff, a status text): deliver them now.
    ctx.data().wake.notify_one();
    ctx.send(embed::reply(&reply)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command's name, description and options (name, description, required).
    type Shape = (String, String, Vec<(String, String, bool)>);

    /// What Discord shows must be what the core (and /help) describes.
    #[test]
    fn registered_commands_match_the_command_table() {
        let mut registered = Vec::new();
        for command in all() {
            if command.subcommands.is_empty() {
                registered.push((command.name.to_string(), text(&command.description), options(&command)));
            }
            for sub in &command.subcommands {
                let name = format!("{} {}", command.name, sub.name);
                registered.push((name, text(&sub.description), options(sub)));
            }
        }
        registered.sort();
        let mut specs: Vec<Shape> = spec::SPECS
            .iter()
            .map(|s| {
                let options = s.options.iter().map(|o| (o.name.to_string(), o.description.to_string(), o.required)).collect();
                (s.name.to_string(), s.description.to_string(), options)
            })
            .collect();
        specs.sort();
        assert_eq!(registered, specs);
    }

    fn text(description: &Option<std::borrow::Cow<'static, str>>) -> String {
        description.as_deref().unwrap_or_default().to_string()
    }

    fn options(command: &poise::Command<super::super::Data, Error>) -> Vec<(String, String, bool)> {
        command.parameters.iter().map(|p| (p.name.to_string(), text(&p.description), p.required)).collect()
    }
}
