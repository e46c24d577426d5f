//! `bellhop shell`: the terminal adapter. People type lines; the bot's messages print numbered.

mod parse;
mod render;

pub use parse::{parse_line, Line, Meta};

use bellhop_commands::{Actor, Core, ManualClock, Reply, Visibility};
use std::collections::BTreeSet;
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The channel the shell's people type in.
pub const CHANNEL: &str = "#ops";

pub struct Shell<W: Write> {
    core: Arc<Core>,
    users: Vec<Actor>,
    virtual_clock: Option<Arc<ManualClock>>,
    messages: BTreeSet<u64>,
    next_number: u64,
    out: W,
}

impl<W: Write> Shell<W> {
    /// `users[0]` is who types when a line names nobody.
    pub fn new(core: Arc<Core>, users: Vec<Actor>, virtual_clock: Option<Arc<ManualClock>>, out: W) -> Self {
        Shell { core, users, virtual_clock, messages: BTreeSet::new(), next_number: 1, out }
    }

    /// Everything printed so far.
    pub fn output(&self) -> &W {
        &self.out
    }

    /// Handles one line; `Break` after `:quit`.
    pub async fn line(&mut self, line: &str) -> std::io::Result<ControlFlow<()>> {
        let default_user = self.users.first().map(|u| u.name.clone()).unwrap_or_default();
        match parse_line(line) {
            Ok(Line::Nothing) => {}
            Ok(Line::Meta(Meta::Quit)) => return Ok(ControlFlow::Break(())),
            Ok(Line::Meta(meta)) => self.meta(meta, &default_user)?,
            Ok(Line::Command { user, invocation }) => {
                let name = user.unwrap_or(default_user);
                match self.actor(&name) {
                    Ok(actor) => {
                        let reply = self.core.handle(&actor, &invocation).await;
                        self.print_reply(&actor.name, &reply)?;
                    }
                    Err(sentence) => self.print_error(&name, &sentence)?,
                }
            }
            Ok(Line::Reaction { user, message, emoji, added }) => {
                let name = user.unwrap_or(default_user);
                let actor = match self.actor(&name) {
                    Ok(actor) => actor,
                    Err(sentence) => return self.print_error(&name, &sentence).map(|_| ControlFlow::Continue(())),
                };
                if !self.messages.contains(&message) {
                    self.print_error(&name, &format!("There is no message #{message} to react to."))?;
                } else {
                    self.core.reaction(&actor, &message.to_string(), &emoji, added).await;
                }
            }
            Err(problem) => self.print_error(&default_user, &problem)?,
        }
        Ok(ControlFlow::Continue(()))
    }

    fn actor(&self, name: &str) -> Result<Actor, String> {
        self.users
            .iter()
            .find(|u| u.name == name)
            .cloned()
            .ok_or_else(|| format!("There is no user {}; :users lists them.", bellhop_commands::text::quote(&format!("@{name}"))))
    }

    fn meta(&mut self, meta: Meta, user: &str) -> std::io::Result<()> {
        match meta {
            Meta::Help => writeln!(self.out, "{}", HELP),
            Meta::Users => {
                for user in &self.users {
                    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
                    let roles = if roles.is_empty() { "no role".to_string() } else { roles.join(", ") };
                    writeln!(self.out, "-- @{} ({roles})", user.name)?;
                }
                Ok(())
            }
            Meta::Advance(by) => match &self.virtual_clock {
                Some(clock) => {
                    clock.advance(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX));
                    let now = bellhop_commands::Clock::now(clock.as_ref());
                    writeln!(self.out, "-- the clock is now {}", now.format("%Y-%m-%d %H:%M UTC"))
                }
                None => self.print_error(user, ":advance needs the virtual clock: start with bellhop shell --virtual-clock"),
            },
            Meta::Quit => Ok(()),
        }
    }

    fn print_reply(&mut self, user: &str, reply: &Reply) -> std::io::Result<()> {
        let place = match reply.visibility {
            Visibility::Channel => format!("[{CHANNEL}]"),
            Visibility::Invoker => format!("(only @{user})"),
        };
        let number = self.next_number;
        self.next_number += 1;
        self.messages.insert(number);
        writeln!(self.out, "{}", render::render(number, &place, &reply.post))
    }

    fn print_error(&mut self, user: &str, sentence: &str) -> std::io::Result<()> {
        let reply = Reply::invoker(bellhop_commands::Post::error(sentence));
        self.print_reply(user, &reply)
    }
}

const HELP: &str = "\
-- /health, /template list, /template show name:p0-investigating   run a command (/help lists them)
-- @bob /health                                                     the same, typed by @bob
-- @bob react 3 ✅   @bob unreact 3 ✅                               react to message #3
-- :users   :advance 16m (with --virtual-clock)   :quit";

/// Where `--virtual-clock` starts, so transcripts are the same on every run.
pub fn virtual_start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").expect("valid timestamp").to_utc()
}
