//! Where the shell's messages are printed, numbered: both the replies to what people type and
//! the posts the core makes on its own (it is the shell's `ChatPort`).

use super::render::render;
use bellhop_commands::{ChatPort, Delivered, Place, Post};
use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

pub struct Printer<W> {
    state: Mutex<State<W>>,
}

struct State<W> {
    out: W,
    next_number: u64,
    messages: BTreeSet<u64>,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        Printer { state: Mutex::new(State { out, next_number: 1, messages: BTreeSet::new() }) }
    }

    /// Prints `post` as message `#N` at `place` (`[#ops]`, `(only @alice)`); returns N.
    pub fn print(&self, place: &str, post: &Post) -> std::io::Result<u64> {
        let mut state = self.state.lock().expect("printer lock poisoned");
        let number = state.next_number;
        state.next_number += 1;
        state.messages.insert(number);
        writeln!(state.out, "{}", render(number, place, post))?;
        state.out.flush()?;
        Ok(number)
    }

    /// A line that is not a message: the clock, :users, :help.
    pub fn note(&self, text: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().expect("printer lock poisoned");
        writeln!(state.out, "{text}")?;
        state.out.flush()
    }

    pub fn has_message(&self, number: u64) -> bool {
        self.state.lock().expect("printer lock poisoned").messages.contains(&number)
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
        let number = self.print(&format!("[{channel}]"), post)?;
        Ok(Delivered { channel_key: channel, message_key: number.to_string() })
    }
}
