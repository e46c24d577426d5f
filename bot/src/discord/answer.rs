//! One action for every slash command: claim the interaction (so two replicas answer once; for
//! a command deferred at once, Discord's one first response decides, then the store records it),
//! build the `Actor` and the `Invocation`, call the core, and answer. Discord wants a first
//! response within 3 s of the interaction's creation: a command that waits on the network (the
//! registry says which) is deferred at once, with the visibility of its usual answer; any other
//! is answered directly, unless it is still running when the safety net, measured from the
//! interaction's creation, defers it. A private answer never lands in a public deferral.

use super::{embed, Data, Error};
use bellhop_commands::command::spec::CommandSpec;
use bellhop_commands::{Invocation, Person, Post, Reply, Tone, Visibility};
use poise::serenity_prelude as serenity;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;

/// A command still running this long after Discord created the interaction is deferred: the
/// other half of Discord's 3 s is for the deferral to reach it.
pub const SAFETY_NET_AFTER: Duration = Duration::from_millis(1500);

/// Discord's snowflakes count milliseconds from 2015-01-01T00:00:00Z in their top 42 bits.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

fn spec_of(ctx: AppContext<'_>) -> Option<&'static CommandSpec> {
    ctx.command().custom_data.downcast_ref::<&'static CommandSpec>().copied()
}

/// Its requests to Discord (the deferral, the answers) are boxed: while the command runs (seconds,
/// for a sweep), the interaction's future holds only what it needs, not room for requests it
/// has not made yet (see the test on its size).
pub async fn slash(ctx: AppContext<'_>) -> Result<(), Error> {
    let deadline = safety_net(created(ctx.interaction.id), SystemTime::now(), Instant::now());
    let data = ctx.data();
    let Some(spec) = spec_of(ctx) else { anyhow::bail!("the command {} has no registry entry", ctx.command().qualified_name) };
    let actor = data.roles.actor(&ctx.interaction.user, ctx.interaction.member.as_deref());
    let invocation = invocation(spec, ctx.args).in_channel(ctx.interaction.channel_id.to_string());
    let visibility = spec.visibility(&invocation);
    // A command that waits on the network, run by someone who may, is deferred before anything
    // else: Discord takes one first response per interaction, so of two replicas the one whose
    // deferral it took answers, and the acknowledgement waits on no store write (in a burst the
    // claims queue on the store's one SQLite writer).
    let deferred = match spec.waits_on_network && spec.access.allows(&actor) {
        true => match defer(ctx, visibility).await {
            Ok(()) => Some(visibility),
            Err(error) if acknowledged_elsewhere(&error) => {
                tracing::debug!(interaction = %ctx.interaction.id, "another bellhop deferred this interaction");
                return Ok(());
            }
            Err(error) => return Err(error),
        },
        false => None,
    };
    if !data.core.claim_event(&format!("interaction:{}", ctx.interaction.id)).await? {
        tracing::debug!(interaction = %ctx.interaction.id, "another bellhop answers this interaction");
        return Ok(());
    }
    // A refusal comes at once and is private: only a command the person may run is deferred at
    // once; any command is when the interaction reached bellhop past its safety net. (Checked
    // here: tokio's timer may not fire a deadline already past before the command finishes.)
    let deferred = match deferred {
        None if Instant::now() >= deadline => {
            defer(ctx, visibility).await?;
            Some(visibility)
        }
        deferred => deferred,
    };
    let handling = data.core.handle(&actor, &invocation);
    tokio::pin!(handling);
    let (reply, deferred) = match deferred {
        Some(deferred) => (handling.await, Some(deferred)),
        None => tokio::select! {
            biased;
            () = tokio::time::sleep_until(deadline) => {
                defer(ctx, visibility).await?;
                (handling.await, Some(visibility))
            }
            reply = &mut handling => (reply, None),
        },
    };
    // The command may have queued posts (a kickoff, a status text): deliver them now.
    data.core.wake();
    let poise_ctx = poise::Context::Application(ctx);
    if let Some(deferred) = deferred.filter(|v| *v != reply.visibility) {
        // Discord makes the first follow-up an edit of the deferred message and ignores its
        // flags: settle that message with a neutral line, then answer with the right visibility.
        Box::pin(poise_ctx.send(embed::reply(&Reply { post: settle_note(deferred, &actor.name), visibility: deferred }))).await?;
    }
    Box::pin(poise_ctx.send(embed::reply(&reply))).await?;
    Ok(())
}

/// Discord's answer to a second first response: "Interaction has already been acknowledged".
fn acknowledged_elsewhere(error: &Error) -> bool {
    use serenity::{Error as Serenity, HttpError};
    matches!(
        error.downcast_ref::<Serenity>(),
        Some(Serenity::Http(HttpError::UnsuccessfulRequest(response))) if response.error.code == 40060
    )
}

async fn defer(ctx: AppContext<'_>, visibility: Visibility) -> Result<(), Error> {
    match visibility {
        Visibility::Invoker => Box::pin(ctx.defer_ephemeral()).await?,
        Visibility::Channel => Box::pin(ctx.defer()).await?,
    }
    Ok(())
}

/// When Discord created the interaction, to the millisecond. (serenity's `created_at` reads the
/// same bits, to the second; the tests check the two agree.)
fn created(id: serenity::InteractionId) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis((id.get() >> 22) + DISCORD_EPOCH_MS)
}

/// When the safety net fires: `SAFETY_NET_AFTER` after the interaction's creation, however long
/// it took to reach bellhop, and never later than that after it arrived (`now`, `arrived`), so a
/// clock behind Discord's cannot push it past Discord's deadline.
fn safety_net(created: SystemTime, now: SystemTime, arrived: Instant) -> Instant {
    let age = now.duration_since(created).unwrap_or_default();
    if age > SAFETY_NET_AFTER {
        tracing::warn!(age_ms = age.as_millis() as u64, "an interaction reached bellhop late; deferring it at once");
    }
    arrived + SAFETY_NET_AFTER.saturating_sub(age)
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
    args.iter().fold(Invocation::new(spec.name).from_chat(super::CHAT), |invocation, option| match &option.value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creation_time_is_read_from_the_snowflake_as_serenity_reads_it() {
        // 2026-12-02T20:00:00.250Z
        let at = UNIX_EPOCH + Duration::from_millis(1_796_241_600_250);
        let id = serenity::InteractionId::new(((1_796_241_600_250 - DISCORD_EPOCH_MS) << 22) | 0x1f_ffff);
        assert_eq!(created(id), at);
        assert_eq!(id.created_at().unix_timestamp(), 1_796_241_600);
    }

    #[test]
    fn the_safety_net_counts_from_the_interactions_creation() {
        let arrived = Instant::now();
        let created = UNIX_EPOCH + Duration::from_secs(1_796_241_600);
        let after = |ms: u64| created + Duration::from_millis(ms);
        assert_eq!(safety_net(created, after(100), arrived), arrived + Duration::from_millis(1400), "100 ms on the way");
        assert_eq!(safety_net(created, after(1500), arrived), arrived, "due as it arrives");
        assert_eq!(safety_net(created, after(2600), arrived), arrived, "late: at once");
        // bellhop's clock 5 s behind Discord's: no later than from its arrival.
        assert_eq!(safety_net(after(5000), after(0), arrived), arrived + SAFETY_NET_AFTER);
    }

    fn output_size<A, R>(_: fn(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every interaction in flight holds its command's future until the answer is sent: seconds,
    /// for a sweep waiting on a hung target. Inline, each held the largest command's state and
    /// room for requests not made yet (18 KB); a burst of 300 `/health` allocated, and faulted
    /// in, 5 MB more.
    #[test]
    fn an_interaction_in_flight_holds_a_small_future() {
        let slash = output_size(|ctx: AppContext<'static>| slash(ctx));
        assert!(slash <= 4096, "the slash command's future is {slash} bytes");
        let handle = output_size(
            |(core, actor, invocation): (&'static bellhop_commands::Core, &'static bellhop_commands::Actor, &'static Invocation)| {
                core.handle(actor, invocation)
            },
        );
        assert!(handle <= 2048, "the core's command future is {handle} bytes");
    }
}
