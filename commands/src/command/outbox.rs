//! `/outbox list|retry|drop` (admins) and `bellhop outbox`: what waits to be delivered or was
//! given up, and a person's say over it.

use super::{Args, Command};
use crate::actor::Actor;
use crate::context::Context;
use crate::error::{CommandError, UserError};
use crate::post::{Post, Reply, Tone};
use crate::store::OutboxEntry;
use crate::text::time;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutboxCommand {
    List,
    Retry { id: i64 },
    Drop { id: i64 },
}

pub(super) fn list(_: &Args) -> Result<Command, UserError> {
    Ok(Command::Outbox(OutboxCommand::List))
}

pub(super) fn retry(args: &Args) -> Result<Command, UserError> {
    Ok(Command::Outbox(OutboxCommand::Retry { id: outbox_id(args)? }))
}

pub(super) fn drop(args: &Args) -> Result<Command, UserError> {
    Ok(Command::Outbox(OutboxCommand::Drop { id: outbox_id(args)? }))
}

fn outbox_id(args: &Args) -> Result<i64, UserError> {
    args.number("id").ok_or_else(|| UserError::new("Say which one with id:N, as /outbox list shows it."))
}

pub(crate) async fn run(cx: &Context, actor: &Actor, command: OutboxCommand) -> Result<Reply, CommandError> {
    let now = cx.clock().now();
    match command {
        OutboxCommand::List => Ok(Reply::invoker(listing(&cx.store().outbox_entries(25).await?, now))),
        OutboxCommand::Retry { id } => match cx.store().op_revive(id, now).await? {
            true => Ok(Reply::invoker(Post::new(Tone::Good, format!("Outbox {id} goes again now.")))),
            false => Err(missing(id)),
        },
        OutboxCommand::Drop { id } => match cx.store().op_drop(id, now, &actor.name).await? {
            true => Ok(Reply::invoker(Post::new(Tone::Good, format!("Outbox {id} is dropped; it will not be delivered.")))),
            false => Err(missing(id)),
        },
    }
}

fn missing(id: i64) -> CommandError {
    CommandError::user(format!("Outbox {id} is not waiting or given up; /outbox list shows what is."))
}

/// One field per operation: what it is, its lane, and why it waits or died.
pub fn listing(entries: &[OutboxEntry], now: chrono::DateTime<chrono::Utc>) -> Post {
    if entries.is_empty() {
        return Post::new(Tone::Good, "Outbox: nothing waits, nothing was given up");
    }
    let dead = entries.iter().filter(|e| e.dead.is_some()).count();
    let tone = if dead > 0 { Tone::Bad } else { Tone::Warning };
    let mut post = Post::new(tone, format!("Outbox: {} waiting, {dead} given up", entries.len() - dead));
    for entry in entries {
        let state = match entry.dead {
            Some(at) => format!("given up at {}", time(at, now)),
            None if entry.attempts == 0 => "waiting".to_string(),
            None => format!("{} failed attempts; next at {}", entry.attempts, time(entry.next_attempt, now)),
        };
        let error = entry.last_error.as_deref().map(|e| format!(" — {}", crate::text::ellipsize(e, 200))).unwrap_or_default();
        post = post.field(format!("#{} · {}", entry.id, entry.lane), format!("{} · {state}{error}", entry.what));
    }
    post
}
