//! Where the shell's messages are printed, numbered: both the replies to what people type and
//! the posts the core makes on its own (it is the shell's `ChatPort`).

use super::render::{render, Style};
use bellhop_commands::{ChatPort, Delivered, Place, Post};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

pub struct Printer<W> {
    state: Mutex<State<W>>,
    style: Style,
}

struct State<W> {
    out: W,
    next_number: u64,
    /// Every message printed so far, and who sees it.
    messages: BTreeMap<u64, Audience>,
}

/// Who sees a printed message; a reaction needs one the whole channel sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// `[#ops]`: everyone in the channel.
    Channel(String),
    /// `(only @alice)`: a reply only its typist sees (Discord: ephemeral).
    Only(String),
}

impl Audience {
    fn place(&self) -> String {
        match self {
            Audience::Channel(channel) => format!("[{channel}]"),
            Audience::Only(name) => format!("(only @{name})"),
        }
    }
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        Printer { state: Mutex::new(State { out, next_number: 1, messages: BTreeMap::new() }), style: Style::Plain }
    }

    /// Emphasis as ANSI bold: for a person at a terminal, not for a pipe or a file.
    pub fn with_style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Prints `post` as message `#N` for `audience` (`[#ops]`, `(only @alice)`); returns N.
    pub fn print(&self, audience: Audience, post: &Post) -> std::io::Result<u64> {
        let mut state = self.state.lock().expect("printer lock poisoned");
        let number = state.next_number;
        state.next_number = number.saturating_add(1);
        let text = render(number, &audience.place(), post, self.style);
        state.messages.insert(number, audience);
        writeln!(state.out, "{text}")?;
        state.out.flush()?;
        Ok(number)
    }

    /// A line that is not a message: the clock, :users, :help.
    pub fn note(&self, text: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().expect("printer lock poisoned");
        writeln!(state.out, "{text}")?;
        state.out.flush()
    }

    /// Who sees message `number`, or `None` when there is no such message.
    pub fn audience(&self, number: u64) -> Option<Audience> {
        self.state.lock().expect("printer lock poisoned").messages.get(&number).cloned()
    }

    /// Takes what was printed so far (for tests, which print into memory).
    pub fn take(&self) -> W
    where
        W: Default,
    {
        std::mem::take(&mut self.state.lock().expect("printer lock poisoned").out)
    }
}

/// The shell's channel for each place: `#incidents`, `#status-updates`, `#ops`, `#inc-N`.
fn channel(place: &Place) -> String {
    match place {
        Place::Channel(name) => format!("#{}", name.as_str()),
        Place::NewIncident { id, .. } => format!("#inc-{id}"),
        Place::Incident { key, .. } => key.clone(),
    }
}

#[async_trait::async_trait]
impl<W: Write + Send> ChatPort for Printer<W> {
    async fn deliver(&self, place: &Place, post: &Post) -> anyhow::Result<Delivered> {
        let channel = channel(place);
        let number = self.print(Audience::Channel(channel.clone()), post)?;
        Ok(Delivered { channel_key: channel, message_key: number.to_string() })
    }
}
