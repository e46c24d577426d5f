//! `bellhop shell`: the terminal adapter. People type lines; the bot's messages print numbered.

pub mod editor;
mod operator;
mod parse;
mod printer;
mod render;

pub use operator::Operator;
pub use parse::{parse_command, parse_line, Line, Meta};
pub use printer::{Printer, Seen};
pub use render::Style;

use bellhop_commands::command::spec::Kind;
use bellhop_commands::{Actor, Clock, Core, Invocation, ManualClock, MessageRef, Reply, Value, Visibility};
use std::io::Write;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The channel the shell's people type in unless a line names another (`#inc-1 /incident ack`).
pub const CHANNEL: &str = "#ops";

pub struct Shell<W: Write + Send + 'static> {
    core: Arc<Core>,
    /// The people person options may name (`commander:@bob`).
    users: Vec<Actor>,
    /// Against a real target, the one person at the terminal: nobody else types or reacts here.
    operator: Option<Actor>,
    virtual_clock: Option<Arc<ManualClock>>,
    printer: Arc<Printer<W>>,
    faults: Option<crate::simulated::Faults>,
}

impl<W: Write + Send + 'static> Shell<W> {
    /// `users[0]` is who types when a line names nobody.
    pub fn new(core: Arc<Core>, users: Vec<Actor>, virtual_clock: Option<Arc<ManualClock>>, out: W) -> Self {
        Shell::styled(core, users, virtual_clock, out, Style::Plain)
    }

    /// Like `new`, with emphasis shown in `style` (ANSI bold when a person reads a terminal).
    pub fn styled(core: Arc<Core>, users: Vec<Actor>, virtual_clock: Option<Arc<ManualClock>>, out: W, style: Style) -> Self {
        Shell { core, users, operator: None, virtual_clock, printer: Arc::new(Printer::new(out).with_style(style)), faults: None }
    }

    /// One person at the terminal, against a real target: every line is theirs, and typing or
    /// reacting as someone else is refused, so a "two-person" approval cannot come from one
    /// keyboard. Person options still name the configured people.
    pub fn as_operator(mut self, operator: Actor) -> Self {
        if !self.users.iter().any(|u| u.id == operator.id) {
            self.users.insert(0, operator.clone());
        }
        self.operator = Some(operator);
        self
    }

    /// The simulated platform's faults, for `:fail` and `:recover` (the demo).
    pub fn with_faults(mut self, faults: crate::simulated::Faults) -> Self {
        faults.management.use_clock(self.core.clock().clone());
        self.faults = Some(faults);
        self
    }

    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Where everything is printed; also the `ChatPort` a real-time scheduler delivers through.
    pub fn printer(&self) -> &Arc<Printer<W>> {
        &self.printer
    }

    /// Handles one line, then delivers whatever it made due; `Break` after `:quit`.
    pub async fn line(&mut self, line: &str) -> anyhow::Result<ControlFlow<()>> {
        let default_user = self.operator.as_ref().or(self.users.first()).map(|u| u.name.clone()).unwrap_or_default();
        match parse_line(line) {
            Ok(Line::Nothing) => return Ok(ControlFlow::Continue(())),
            Ok(Line::Meta(Meta::Quit)) => return Ok(ControlFlow::Break(())),
            Ok(Line::Meta(meta)) => self.meta(meta, &default_user).await?,
            Ok(Line::Command { user, invocation }) => {
                let name = user.unwrap_or(default_user);
                match self.actor(&name).and_then(|actor| Ok((actor, self.resolve_people(invocation)?))) {
                    Ok((actor, invocation)) => {
                        let reply = self.core.handle(&actor, &invocation).await;
                        self.print_reply(&actor.name, invocation.channel.as_deref().unwrap_or(CHANNEL), &reply)?;
                    }
                    Err(sentence) => self.print_error(&name, &sentence)?,
                }
            }
            Ok(Line::Reaction { user, message, emoji, added }) => {
                let name = user.unwrap_or(default_user);
                match (self.actor(&name), self.printer.seen(message)) {
                    (Err(sentence), _) => self.print_error(&name, &sentence)?,
                    (Ok(_), None) => self.print_error(&name, &format!("There is no message #{message} to react to."))?,
                    (Ok(_), Some(Seen::OnlyBy(whom))) => self.print_error(
                        &name,
                        &format!("Message #{message} is a reply only @{whom} sees; reactions go on messages in a channel."),
                    )?,
                    (Ok(actor), Some(Seen::Channel(channel))) => {
                        self.printer.record_reaction(message, &emoji, &actor, added);
                        self.core.reaction(&actor, &MessageRef::new(channel, message.to_string()), &emoji, added).await;
                    }
                }
            }
            Err(problem) => self.print_error(&default_user, &problem)?,
        }
        self.drain().await?;
        Ok(ControlFlow::Continue(()))
    }

    /// Runs the core's loop until what the line set off is done and printed: a tick, the plan
    /// checks it started, and a tick to print their outcome.
    pub async fn drain(&self) -> anyhow::Result<()> {
        let port: Arc<dyn bellhop_commands::ChatPort> = self.printer.clone();
        for _ in 0..2 {
            self.core.tick(&port).await;
            self.core.plan_runs_finished().await;
        }
        Ok(())
    }

    /// Who typed a line: one of the cast, or, against a real target, the operator alone.
    fn actor(&self, name: &str) -> Result<Actor, String> {
        if let Some(operator) = &self.operator {
            return match operator.name == name {
                true => Ok(operator.clone()),
                false => Err(format!(
                    "You are @{} here: against a real target this shell is one person, so {} cannot type or react; \
                     they approve in the chat (bellhop shell --rehearsal keeps the cast, for a staging copy).",
                    operator.name,
                    bellhop_commands::text::quote(&format!("@{name}"))
                )),
            };
        }
        self.person(name)
    }

    /// Someone a person option names (`commander:@bob`).
    fn person(&self, name: &str) -> Result<Actor, String> {
        self.users
            .iter()
            .find(|u| u.name == name)
            .cloned()
            .ok_or_else(|| format!("There is no user {}; :users lists them.", bellhop_commands::text::quote(&format!("@{name}"))))
    }

    /// The shell's people are named `@bob` in person options; the core gets their ids.
    fn resolve_people(&self, mut invocation: Invocation) -> Result<Invocation, String> {
        let Some(spec) = invocation.spec() else { return Ok(invocation) };
        for (name, value) in &mut invocation.options {
            let is_person = spec.option(name).is_some_and(|o| o.kind == Kind::User);
            if let (true, Value::Text(text)) = (is_person, &*value) {
                let wanted = text.trim().trim_start_matches('@');
                *value = Value::User(self.person(wanted)?.person());
            }
        }
        Ok(invocation)
    }

    async fn meta(&mut self, meta: Meta, user: &str) -> anyhow::Result<()> {
        match meta {
            Meta::Help => self.printer.note(HELP)?,
            Meta::Users if self.operator.is_some() => {
                let note = "-- against a real target this shell is one person: you; the others approve in the chat";
                for user in self.operator.iter() {
                    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
                    let roles = if roles.is_empty() { "no role".to_string() } else { roles.join(", ") };
                    self.printer.note(&format!("-- @{} ({roles})", user.name))?;
                }
                self.printer.note(note)?;
            }
            Meta::Users => {
                for user in &self.users {
                    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
                    let roles = if roles.is_empty() { "no role".to_string() } else { roles.join(", ") };
                    self.printer.note(&format!("-- @{} ({roles})", user.name))?;
                }
            }
            Meta::Advance(by) => match self.virtual_clock.clone() {
                Some(clock) => self.advance(&clock, by).await?,
                None => self.print_error(user, ":advance needs the virtual clock: start with bellhop shell --virtual-clock.")?,
            },
            Meta::Fault { endpoint, failing } => match &self.faults {
                Some(faults) => {
                    faults.set(&endpoint, failing);
                    let now = if failing { "fails every call" } else { "answers normally" };
                    self.printer.note(&format!("-- the simulated {endpoint} now {now}"))?;
                }
                None => self.print_error(user, ":fail and :recover work in bellhop demo, on its simulated platform")?,
            },
            Meta::Deploy(function) => match &self.faults {
                Some(faults) => {
                    let version = faults.management.deploy(&function);
                    self.printer.note(&format!("-- the simulated Management API now lists {function} v{version}, deployed now"))?;
                }
                None => self.print_error(user, ":deploy works in bellhop demo, on its simulated platform")?,
            },
            Meta::Quit => {}
        }
        Ok(())
    }

    /// Moves the virtual clock, stopping at each timer on the way so every one fires at its
    /// own time, as it would have in real time.
    async fn advance(&self, clock: &ManualClock, by: std::time::Duration) -> anyhow::Result<()> {
        let Some(target) = chrono::Duration::from_std(by).ok().and_then(|by| clock.now().checked_add_signed(by)) else {
            let sentence = format!(":advance {} goes beyond any calendar.", humantime::format_duration(by));
            return self.print_error(self.users.first().map_or("", |u| u.name.as_str()), &sentence).map_err(Into::into);
        };
        // Samples older than the longest alert window plus its damping no longer count.
        self.core.skip_sweeps_until(target.checked_sub_signed(SWEEP_HORIZON).unwrap_or(target));
        loop {
            let timer = self.core.store().next_due().await?;
            // Sweeps are due too: stopping at each runs every sweep the advance passes.
            let due = timer.map_or(self.core.next_sweep(), |t| t.min(self.core.next_sweep()));
            if due > target {
                break;
            }
            if due > clock.now() {
                clock.set(due);
                // A sweep passes silently; a timer's time is printed, as it was before sweeps.
                if timer == Some(due) {
                    self.printer.note(&format!("-- {}", due.format("%Y-%m-%d %H:%M UTC")))?;
                }
            }
            self.drain().await?;
        }
        clock.set(target);
        self.printer.note(&format!("-- the clock is now {}", target.format("%Y-%m-%d %H:%M UTC")))?;
        Ok(())
    }

    fn print_reply(&self, user: &str, channel: &str, reply: &Reply) -> std::io::Result<()> {
        let seen = match reply.visibility {
            Visibility::Channel => Seen::Channel(channel.to_string()),
            Visibility::Invoker => Seen::OnlyBy(user.to_string()),
        };
        self.printer.print(seen, &reply.post).map(|_| ())
    }

    fn print_error(&self, user: &str, sentence: &str) -> std::io::Result<()> {
        let reply = Reply::invoker(bellhop_commands::Post::error(sentence));
        self.print_reply(user, CHANNEL, &reply)
    }
}

/// How far back an `:advance` still runs the sweeps it passes.
const SWEEP_HORIZON: chrono::Duration = chrono::Duration::hours(1);

const HELP: &str = "\
-- /health, /incident declare severity:P1 title:\"Logins failing\"   run a command (/help lists them)
-- @bob /health                                  the same, typed by @bob
-- #inc-1 /incident update text:\"rolled back\"    typed in the incident's channel (its id is implied)
-- @bob react 3 ✅   @bob unreact 3 ✅            react to message #3
-- :users   :advance 16m (with --virtual-clock)   :quit
-- :fail invite-user   :recover invite-user     (demo) make a simulated function fail, or stop failing
-- :deploy invite-user                          (demo) a new version of a simulated function (/functions recent)";

/// Where `--virtual-clock` starts, so transcripts are the same on every run.
pub fn virtual_start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").expect("valid timestamp").to_utc()
}
