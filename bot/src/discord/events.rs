//! Gateway events other than commands: reactions on bellhop's messages reach the core with the
//! reacting member as an `Actor`.

use super::{Data, Error};
use anyhow::Context as _;
use poise::serenity_prelude as serenity;

pub async fn handle(framework: poise::FrameworkContext<'_, Data, Error>, event: &serenity::FullEvent) -> Result<(), Error> {
    match event {
        serenity::FullEvent::Ready { data_about_bot } => {
            tracing::info!(user = %data_about_bot.user.name, guilds = data_about_bot.guilds.len(), "connected to Discord");
            Ok(())
        }
        serenity::FullEvent::Resume { .. } => {
            tracing::info!("resumed the Discord session");
            Ok(())
        }
        serenity::FullEvent::ReactionAdd { add_reaction } => reaction(framework, add_reaction, true).await,
        serenity::FullEvent::ReactionRemove { removed_reaction } => reaction(framework, removed_reaction, false).await,
        _ => Ok(()),
    }
}

async fn reaction(framework: poise::FrameworkContext<'_, Data, Error>, reaction: &serenity::Reaction, added: bool) -> Result<(), Error> {
    let ctx = framework.serenity_context;
    let me = ctx.cache.current_user().id;
    let (Some(user_id), Some(guild_id)) = (reaction.user_id, reaction.guild_id) else { return Ok(()) };
    // bellhop's own reactions, and reactions on other people's messages, are not for it.
    if user_id == me || reaction.message_author_id.is_some_and(|author| author != me) {
        return Ok(());
    }
    let member = match &reaction.member {
        Some(member) => member.clone(),
        None => ctx.http.get_member(guild_id, user_id).await.with_context(|| format!("cannot fetch the reacting member {user_id}"))?,
    };
    let data = framework.user_data().await;
    let actor = data.roles.actor(&member.user, Some(&member));
    data.core.reaction(&actor, &reaction.message_id.to_string(), &emoji(&reaction.emoji), added).await;
    Ok(())
}

/// A unicode emoji as itself, a custom one as `name:id`.
fn emoji(emoji: &serenity::ReactionType) -> String {
    match emoji {
        serenity::ReactionType::Unicode(text) => text.clone(),
        serenity::ReactionType::Custom { name, id, .. } => format!("{}:{id}", name.as_deref().unwrap_or("emoji")),
        other => other.as_data(),
    }
}
