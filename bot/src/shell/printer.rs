//! Where the shell's messages are printed, numbered: both the replies to what people type and
//! what the core does on its own (it is the shell's `ChatPort`: posts, edits, reactions, threads).

use super::render::{render, Style};
use bellhop_commands::{Actor, ChatPort, DeliveryError, MessageRef, Place, Post, Reactor};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

pub struct Printer<W> {
    state: Mutex<State<W>>,
    style: Style,
}

/// Where a printed message lives: a channel, or only one person's eyes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Channel(String),
    OnlyBy(String),
}

struct State<W> {
    out: W,
    next_number: u64,
    messages: BTreeMap<u64, Seen>,
    /// People's reactions per (message, emoji), for `ChatPort::reactions`.
    reactions: BTreeMap<(u64, String), Vec<Actor>>,
    /// What each message shows now, line by line, so an edit prints only what changed.
    shown: BTreeMap<u64, Vec<String>>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        let state = State { out, next_number: 1, messages: BTreeMap::new(), reactions: BTreeMap::new(), shown: BTreeMap::new() };
        Printer { state: Mutex::new(state), style: Style::Plain }
    }

    /// Emphasis as ANSI bold: for a person at a terminal, not for a pipe or a file.
    pub fn with_style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<W>> {
        // A panic elsewhere while printing leaves the text whole enough to go on.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Prints `post` as message `#N`, seen in a channel or by one person; returns N.
    pub fn print(&self, seen: Seen, post: &Post) -> std::io::Result<u64> {
        let mut state = self.lock();
        let number = state.next_number;
        state.next_number = number.saturating_add(1);
        let place = match &seen {
            Seen::Channel(channel) => format!("[{channel}]"),
            Seen::OnlyBy(name) => format!("(only @{name})"),
        };
        state.messages.insert(number, seen);
        let text = render(number, &place, post, self.style);
        state.shown.insert(number, text.lines().skip(1).map(str::to_string).collect());
        writeln!(state.out, "{text}")?;
        state.out.flush()?;
        Ok(number)
    }

    /// A line that is not a message: the clock, :users, :help.
    pub fn note(&self, text: &str) -> std::io::Result<()> {
        let mut state = self.lock();
        writeln!(state.out, "{text}")?;
        state.out.flush()
    }

    /// Where message `number` was printed, if it was.
    pub fn seen(&self, number: u64) -> Option<Seen> {
        self.lock().messages.get(&number).cloned()
    }

    /// Keeps a person's reaction, so a later `reactions` call reads it back as Discord would.
    pub fn record_reaction(&self, number: u64, emoji: &str, actor: &Actor, added: bool) {
        let mut state = self.lock();
        let people = state.reactions.entry((number, emoji.to_string())).or_default();
        people.retain(|a| a.id != actor.id);
        if added {
            people.push(actor.clone());
        }
    }

    /// Takes what was printed so far (for tests, which print into memory).
    pub fn take(&self) -> W
    where
        W: Default,
    {
        std::mem::take(&mut self.lock().out)
    }

    fn message(&self, message: &MessageRef) -> Result<u64, DeliveryError> {
        let number = message.message.parse::<u64>().ok().filter(|n| self.lock().messages.contains_key(n));
        number.ok_or_else(|| DeliveryError::Gone(anyhow::anyhow!("there is no message #{} in this shell", message.message)))
    }
}

/// The shell's channel for each place: `#incidents`, `#status-updates`, `#ops`, `#inc-N`.
fn channel(place: &Place) -> String {
    match place {
        Place::Channel(name) => format!("#{}", name.as_str()),
        Place::Key(key) => key.clone(),
    }
}

fn io(error: std::io::Error) -> DeliveryError {
    DeliveryError::Retry(error.into())
}

#[async_trait::async_trait]
impl<W: Write + Send> ChatPort for Printer<W> {
    async fn post(&self, place: &Place, post: &Post) -> Result<MessageRef, DeliveryError> {
        let channel = channel(place);
        let number = self.print(Seen::Channel(channel.clone()), post).map_err(io)?;
        Ok(MessageRef::new(channel, number.to_string()))
    }

    /// An edit prints its title and the lines that changed, not the whole post again.
    async fn edit(&self, message: &MessageRef, post: &Post) -> Result<(), DeliveryError> {
        let number = self.message(message)?;
        let mut state = self.lock();
        let text = render(number, &format!("[{}] (edited)", message.channel), post, self.style);
        let mut lines = text.lines();
        let head = lines.next().unwrap_or_default().to_string();
        let now: Vec<String> = lines.map(str::to_string).collect();
        let before = state.shown.insert(number, now.clone()).unwrap_or_default();
        let changed: Vec<&String> = now.iter().filter(|line| !before.contains(line)).collect();
        let mut out = head;
        for line in changed {
            out.push('\n');
            out.push_str(line);
        }
        writeln!(state.out, "{out}").and_then(|()| state.out.flush()).map_err(io)
    }

    async fn react(&self, message: &MessageRef, emoji: &str) -> Result<(), DeliveryError> {
        let number = self.message(message)?;
        self.note(&format!("-- bellhop reacted {emoji} to #{number}")).map_err(io)
    }

    async fn open_thread(&self, from: &MessageRef, slug: &str, _title: &str) -> Result<String, DeliveryError> {
        let number = self.message(from)?;
        let key = format!("#{slug}");
        self.note(&format!("-- thread {key} opened from #{number}")).map_err(io)?;
        Ok(key)
    }

    async fn reactions(&self, message: &MessageRef, emoji: &str) -> Result<Vec<Reactor>, DeliveryError> {
        let number = self.message(message)?;
        let people = self.lock().reactions.get(&(number, emoji.to_string())).cloned().unwrap_or_default();
        Ok(people.into_iter().map(Reactor::Member).collect())
    }
}
