//! One action for every slash command: claim the interaction (so two replicas answer once),
//! build the `Actor` and the `Invocation`, call the core, and answer — deferring on its own when
//! the core takes longer than Discord's patience, without ever making a private answer public.

use super::{embed, Data, Error};
use bellhop_commands::command::spec::CommandSpec;
use bellhop_commands::{Invocation, Person, Post, Reply, Tone, Visibility};
use poise::serenity_prelude as serenity;
use std::time::Duration;

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;

/// Discord drops an interaction not acknowledged within 3 s; acknowledge well before.
pub const DEFER_AFTER: Duration = Duration::from_millis(1500);

fn spec_of(ctx: AppContext<'_>) -> Option<&'static CommandSpec> {
    ctx.command().custom_data.downcast_ref::<&'static CommandSpec>().copied()
}

pub async fn slash(ctx: AppContext<'_>) -> Result<(), Error> {
    let data = ctx.data();
    if !data.core.claim_event(&format!("interaction:{}", ctx.interaction.id)).await? {
        tracing::debug!(interaction = %ctx.interaction.id, "another bellhop answers this interaction");
        return Ok(());
    }
    let Some(spec) = spec_of(ctx) else { anyhow::bail!("the command {} has no registry entry", ctx.command().qualified_name) };
    let actor = data.roles.actor(&ctx.interaction.user, ctx.interaction.member.as_deref());
    let invocation = invocation(spec, ctx.args).in_channel(ctx.interaction.channel_id.to_string());
    let handling = data.core.handle(&actor, &invocation);
    tokio::pin!(handling);
    let (reply, deferred) = tokio::select! {
        reply = &mut handling => (reply, None),
        () = tokio::time::sleep(DEFER_AFTER) => {
            let visibility = if spec.public { Visibility::Channel } else { Visibility::Invoker };
            if visibility == Visibility::Invoker { ctx.defer_ephemeral().await? } else { ctx.defer().await? }
            (handling.await, Some(visibility))
        }
    };
    // The command may have queued posts (a kickoff, a status text): deliver them now.
    data.core.wake();
    let poise_ctx = poise::Context::Application(ctx);
    if let Some(deferred) = deferred.filter(|v| *v != reply.visibility) {
        // Discord makes the first follow-up an edit of the deferred message and ignores its
        // flags: settle that message with a neutral line, then answer with the right visibility.
        poise_ctx.send(embed::reply(&Reply { post: settle_note(deferred, &actor.name), visibility: deferred })).await?;
    }
    poise_ctx.send(embed::reply(&reply)).await?;
    Ok(())
}

/// What the deferred message says when the answer has another visibility than it.
fn settle_note(deferred: Visibility, name: &str) -> Post {
    match deferred {
        Visibility::Channel => Post::new(Tone::Info, "").body(format!("bellhop answered @{name} privately.")),
        Visibility::Invoker => Post::new(Tone::Info, "").body("Done; the answer is in the channel."),
    }
}

/// Options as the core reads them; a user option becomes a person by id, shown by their name.
fn invocation(spec: &CommandSpec, args: &[serenity::ResolvedOption<'_>]) -> Invocation {
    args.iter().fold(Invocation::new(spec.name), |invocation, option| match &option.value {
        serenity::ResolvedValue::String(text) => invocation.option(option.name, *text),
        serenity::ResolvedValue::Integer(number) => invocation.option(option.name, number.to_string()),
        serenity::ResolvedValue::Boolean(flag) => invocation.option(option.name, flag.to_string()),
        serenity::ResolvedValue::User(user, member) => {
            let name = member.and_then(|m| m.nick.clone()).or_else(|| user.global_name.clone()).unwrap_or_else(|| user.name.clone());
            invocation.user(option.name, Person::new(super::actor::person_id(user.id), name))
        }
        // Anything else cannot come from our own registration; the core names the option as unknown.
        _ => invocation.option(option.name, ""),
    })
}

/// Suggestions while a person types an option that has them.
pub fn suggest<'a>(ctx: AppContext<'a>, partial: &'a str) -> futures::future::BoxFuture<'a, serenity::CreateAutocompleteResponse> {
    Box::pin(async move {
        let focused = ctx.interaction.data.autocomplete().map(|o| o.name.to_string()).unwrap_or_default();
        let source = spec_of(ctx).and_then(|spec| spec.option(&focused)).and_then(|option| option.suggest);
        let actor = ctx.data().roles.actor(&ctx.interaction.user, ctx.interaction.member.as_deref());
        let choices = match source {
            Some(source) => ctx.data().core.suggest(&actor, source, partial).await,
            None => Vec::new(),
        };
        let choices = choices.into_iter().map(|(label, value)| serenity::AutocompleteChoice::new(label, value)).collect();
        serenity::CreateAutocompleteResponse::new().set_choices(choices)
    })
}

/// An interaction for a command bellhop does not know (registered by an older version, say).
pub async fn unknown(ctx: &serenity::Context, interaction: &serenity::CommandInteraction) {
    let text = format!("bellhop does not know /{}; its commands may have just changed. /help lists them.", interaction.data.name);
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(serenity::CreateAllowedMentions::new());
    if let Err(error) = interaction.create_response(ctx, serenity::CreateInteractionResponse::Message(message)).await {
        tracing::warn!(%error, "cannot answer an interaction for an unknown command");
    }
}
