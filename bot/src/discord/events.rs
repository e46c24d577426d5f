//! Gateway events other than commands: reactions on bellhop's messages reach the core with the
//! reacting member as an `Actor`.

use super::{Data, Error};
use anyhow::Context as _;
use bellhop_commands::MessageRef;
use poise::serenity_prelude as serenity;

pub async fn handle(framework: poise::FrameworkContext<'_, Data, Error>, event: &serenity::FullEvent) -> Result<(), Error> {
    match event {
        // Reactions given while the connection was down are not replayed: every pending plan is
        // read against its post again.
        serenity::FullEvent::Ready { data_about_bot } => {
            tracing::info!(user = %data_about_bot.user.name, guilds = data_about_bot.guilds.len(), "connected to Discord");
            framework.user_data().await.core.recheck_plans();
            Ok(())
        }
        serenity::FullEvent::Resume { .. } => {
            tracing::info!("resumed the Discord session");
            framework.user_data().await.core.recheck_plans();
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
    // Dropped before any request: bellhop's own reactions, other bots' (only people approve),
    // and reactions on messages it did not post.
    if !for_bellhop(reaction, me) || reaction.member.as_ref().is_some_and(|m| m.user.bot) {
        return Ok(());
    }
    let data = framework.user_data().await;
    let message = MessageRef::new(reaction.channel_id.to_string(), reaction.message_id.to_string());
    if !data.core.is_ours(&message).await {
        return Ok(());
    }
    // Discord names the member on an add, never on a removal: fetched then. Someone who left
    // can still take their ✅ back (the removal counts, whatever their roles were).
    let actor = match &reaction.member {
        Some(member) => data.roles.actor(&member.user, Some(member)),
        None => match ctx.http.get_member(guild_id, user_id).await {
            Ok(member) if member.user.bot => return Ok(()),
            Ok(member) => data.roles.actor(&member.user, Some(&member)),
            Err(error) if super::port::not_a_member(&error) => {
                let user = ctx.http.get_user(user_id).await.with_context(|| format!("cannot fetch the reacting user {user_id}"))?;
                if user.bot {
                    return Ok(());
                }
                data.roles.actor(&user, None)
            }
            Err(error) => return Err(anyhow::Error::new(error).context(format!("cannot fetch the reacting member {user_id}"))),
        },
    };
    data.core.reaction(&actor, &message, &emoji(&reaction.emoji), added).await;
    // The reaction may have queued edits or a plan's outcome: deliver them now.
    data.core.wake();
    Ok(())
}

/// A person's reaction on one of bellhop's messages; bellhop's own reactions, and reactions on
/// other people's messages, are not for it. (Discord names the message's author only on an add.)
fn for_bellhop(reaction: &serenity::Reaction, me: serenity::UserId) -> bool {
    reaction.user_id.is_some_and(|user| user != me) && reaction.message_author_id.is_none_or(|author| author == me)
}

/// A unicode emoji as itself, a custom one as `name:id`.
fn emoji(emoji: &serenity::ReactionType) -> String {
    match emoji {
        serenity::ReactionType::Unicode(text) => text.clone(),
        serenity::ReactionType::Custom { name, id, .. } => format!("{}:{id}", name.as_deref().unwrap_or("emoji")),
        other => other.as_data(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reaction(user: &str, author: Option<&str>) -> serenity::Reaction {
        let mut reaction = json!({"user_id": user, "channel_id": "1", "message_id": "2", "guild_id": "3",
                                  "emoji": {"id": null, "name": "✅"}, "burst": false, "type": 0});
        if let Some(author) = author {
            reaction["message_author_id"] = json!(author);
        }
        serde_json::from_value(reaction).unwrap()
    }

    #[test]
    fn only_peoples_reactions_on_bellhops_messages_count() {
        let me = serenity::UserId::new(10);
        assert!(for_bellhop(&reaction("20", Some("10")), me));
        assert!(for_bellhop(&reaction("20", None), me), "a removal does not name the author");
        assert!(!for_bellhop(&reaction("20", Some("30")), me), "someone else's message");
        assert!(!for_bellhop(&reaction("10", Some("10")), me), "bellhop's own reaction");
        assert_eq!(emoji(&reaction("20", None).emoji), "✅");
    }
}
