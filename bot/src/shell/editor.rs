//! Line editing for a person at a terminal: arrow keys, history kept across runs, Ctrl-R, and Tab
//! completion of commands, subcommands, options, choices, people and incident ids, all from the
//! command registry. Piped input never comes here: scripts read plain lines.

use bellhop_commands::command::spec::{self, Kind, Suggest};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, ExternalPrinter, Helper};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What Tab offers; the incidents are refreshed by the shell after each line.
#[derive(Clone, Default)]
pub struct Completion {
    pub people: Vec<String>,
    pub incidents: Arc<Mutex<Vec<String>>>,
}

const META: &[&str] = &[":help", ":users", ":advance ", ":fail ", ":recover ", ":deploy ", ":quit"];

impl Completion {
    /// Where the word under the cursor starts, and what it may become.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        // After the last space, however many bytes it takes (U+00A0 two, U+3000 three).
        let start = before.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(i, c)| i + c.len_utf8());
        let word = &before[start..];
        let earlier: Vec<&str> = before[..start].split_whitespace().filter(|w| !w.starts_with('@') && !w.starts_with('#')).collect();
        let offer = |options: Vec<String>| options.into_iter().filter(|o| o.starts_with(word)).collect::<Vec<_>>();
        let found = match earlier.as_slice() {
            [] if word.starts_with(':') && start == 0 => offer(META.iter().map(|m| m.to_string()).collect()),
            [] if word.starts_with('@') => offer(self.people.iter().map(|p| format!("@{p} ")).collect()),
            [] => offer(spec::groups().into_iter().map(|g| format!("/{g} ")).collect()),
            [group] if !word.contains(':') && spec::find(group.trim_start_matches('/')).is_none() => {
                offer(spec::subcommands(group.trim_start_matches('/')).into_iter().map(|s| format!("{s} ")).collect())
            }
            words => self.options(&command_name(words), words, word),
        };
        (start, found)
    }

    fn options(&self, name: &str, words: &[&str], word: &str) -> Vec<String> {
        let Some(spec) = spec::find(name) else { return Vec::new() };
        if let Some((option, partial)) = word.split_once(':') {
            let Some(option) = spec.option(option) else { return Vec::new() };
            let values: Vec<String> = match (option.kind, option.suggest) {
                (Kind::Choice(choices), _) => choices.iter().map(|c| c.to_string()).collect(),
                (Kind::User, _) => self.people.iter().map(|p| format!("@{p}")).collect(),
                (_, Some(Suggest::OpenIncidents | Suggest::AnyIncident)) => self.incidents.lock().map(|i| i.clone()).unwrap_or_default(),
                _ => Vec::new(),
            };
            let partial = partial.to_lowercase();
            return values
                .into_iter()
                .filter(|v| v.to_lowercase().starts_with(&partial))
                .map(|v| format!("{}:{v} ", option.name))
                .collect();
        }
        let used: Vec<&str> = words.iter().filter_map(|w| w.split_once(':').map(|(name, _)| name)).collect();
        spec.options.iter().filter(|o| !used.contains(&o.name)).map(|o| format!("{}:", o.name)).filter(|o| o.starts_with(word)).collect()
    }
}

/// `/incident declare severity:P1` → `incident declare`: the command words, without options.
fn command_name(words: &[&str]) -> String {
    words.iter().take_while(|w| !w.contains(':')).map(|w| w.trim_start_matches('/')).collect::<Vec<_>>().join(" ")
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.candidates(line, pos);
        Ok((start, found.into_iter().map(|c| Pair { display: c.trim_end().to_string(), replacement: c }).collect()))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

/// The person's side of the terminal: the lines typed, and where the shell prints.
pub struct Conversation {
    pub lines: tokio::sync::mpsc::Receiver<String>,
    /// For the shell's `Printer`: every message goes above the line being typed.
    pub out: AbovePrompt,
    pub answered: Answered,
}

/// Reads lines on a thread of its own (the editor blocks) and hands each to the shell. What the
/// shell prints goes to a second thread, which gives it to the editor whole, message by
/// message: while a line is being typed, the editor prints it above the prompt and redraws the
/// line. The editor prompts again only once the answer to the last line is printed.
pub fn spawn(completion: Completion, history: Option<PathBuf>) -> anyhow::Result<Conversation> {
    let mut editor: Editor<Completion, _> = Editor::new()?;
    editor.set_helper(Some(completion));
    if let Some(path) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(path);
    }
    let (lines, received) = tokio::sync::mpsc::channel(1);
    let (next_tx, next) = std::sync::mpsc::channel::<()>();
    // Without a terminal on both sides (output piped), there is no prompt to print above.
    let (out, answered) = match editor.create_external_printer() {
        Ok(printer) => above_prompt(printer, next_tx),
        Err(_) => above_prompt(Stdout, next_tx),
    };
    std::thread::spawn(move || loop {
        match editor.readline("> ") {
            Ok(line) => {
                let _ = editor.add_history_entry(line.as_str());
                if let Some(path) = &history {
                    let _ = path.parent().map(std::fs::create_dir_all);
                    let _ = editor.save_history(path);
                }
                if lines.blocking_send(line).is_err() || next.recv().is_err() {
                    return;
                }
            }
            // Ctrl-C clears the line, as in a shell; Ctrl-D ends the conversation.
            Err(ReadlineError::Interrupted) => continue,
            Err(_) => return,
        }
    });
    Ok(Conversation { lines: received, out, answered })
}

/// What the printing thread is given, in order.
enum Out {
    Text(String),
    /// The shell answered a line: once the text before it is printed, the editor may prompt.
    Answered,
}

/// A `Write` for the shell's `Printer`: collects a message until it is flushed, then hands it
/// to the printing thread whole. It never waits on the editor, so a message that arrives while
/// the editor is between lines cannot stall the shell.
pub struct AbovePrompt {
    buffer: Vec<u8>,
    to_printer: std::sync::mpsc::Sender<Out>,
}

/// Tells the editor that the shell answered the line it was given.
pub struct Answered(std::sync::mpsc::Sender<Out>);

impl Answered {
    /// Queued behind what the shell printed; false once the editor is gone.
    pub fn send(&self) -> bool {
        self.0.send(Out::Answered).is_ok()
    }
}

impl std::io::Write for AbovePrompt {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.buffer)).into_owned();
        self.to_printer.send(Out::Text(text)).map_err(|_| std::io::Error::other("the terminal is closed"))
    }
}

/// Starts the printing thread over `printer`; `next` lets the editor prompt again.
fn above_prompt<P: ExternalPrinter + Send + 'static>(mut printer: P, next: std::sync::mpsc::Sender<()>) -> (AbovePrompt, Answered) {
    let (to_printer, outputs) = std::sync::mpsc::channel::<Out>();
    std::thread::spawn(move || {
        for out in outputs {
            match out {
                Out::Text(text) => {
                    let _ = printer.print(text);
                }
                Out::Answered if next.send(()).is_err() => return,
                Out::Answered => {}
            }
        }
    });
    (AbovePrompt { buffer: Vec::new(), to_printer: to_printer.clone() }, Answered(to_printer))
}

/// Standard output, when the editor has no terminal to print above the prompt on.
struct Stdout;

impl ExternalPrinter for Stdout {
    fn print(&mut self, text: String) -> rustyline::Result<()> {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        Ok(out.flush()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &str) -> Vec<String> {
        let completion = Completion {
            people: vec!["alice".into(), "bob".into()],
            incidents: Arc::new(Mutex::new(vec!["INC-1".into(), "INC-2".into()])),
        };
        completion.candidates(line, line.len()).1.into_iter().map(|c| c.trim_end().to_string()).collect()
    }

    #[test]
    fn tab_completes_from_the_registry() {
        assert_eq!(complete("/inc"), ["/incident"]);
        assert_eq!(complete("/incident de"), ["declare"]);
        assert_eq!(complete("/incident declare sev"), ["severity:"]);
        assert_eq!(complete("/incident declare severity:p"), ["severity:P0", "severity:P1", "severity:P2", "severity:P3"]);
        assert_eq!(complete("/incident declare severity:P1 commander:@b"), ["commander:@bob"]);
        assert_eq!(complete("#inc-1 /incident ack id:INC-"), ["id:INC-1", "id:INC-2"]);
        assert_eq!(complete("@b"), ["@bob"]);
        assert_eq!(complete(":adv"), [":advance"]);
        assert!(complete("/incident declare severity:P1 ").iter().all(|o| o != "severity:"), "a given option is not offered again");
        assert!(complete("/nonsense x").is_empty());
    }

    #[test]
    fn tab_after_a_wide_space_completes_the_word_after_it() {
        for space in ['\u{00A0}', '\u{3000}', '\u{2003}'] {
            assert_eq!(complete(&format!("/incident{space}de")), ["declare"], "{space:?}");
            assert_eq!(complete(&format!("/incident declare{space}sev")), ["severity:"], "{space:?}");
            let line = format!("/incident{space}");
            let completion = Completion::default();
            assert_eq!(completion.candidates(&line, line.len()).0, line.len(), "the word starts after the space");
        }
        // The cursor anywhere in the line, even inside a character, never panics.
        let line = "@bob\u{3000}/incident\u{00A0}declare\u{3000}severity:P1\u{00A0}";
        for pos in 0..=line.len() {
            let _ = Completion::default().candidates(line, pos);
        }
    }

    /// An `ExternalPrinter` that keeps each message it is given.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<String>>>);

    impl ExternalPrinter for Screen {
        fn print(&mut self, text: String) -> rustyline::Result<()> {
            self.0.lock().unwrap().push(text);
            Ok(())
        }
    }

    #[test]
    fn each_message_reaches_the_editor_whole_and_the_answer_before_the_next_prompt() {
        use bellhop_commands::{Post, Tone};
        let screen = Screen::default();
        let (next_tx, next) = std::sync::mpsc::channel();
        let (out, answered) = above_prompt(screen.clone(), next_tx);
        let printer = crate::shell::Printer::new(out);
        printer.print(crate::shell::Seen::Channel("#ops".into()), &Post::new(Tone::Info, "Declared INC-1").body("a\nb")).unwrap();
        printer.note("-- the clock is now 09:05 UTC").unwrap();
        assert!(answered.send());
        next.recv().unwrap();
        assert_eq!(*screen.0.lock().unwrap(), ["#1 [#ops] Declared INC-1\n    a\n    b\n", "-- the clock is now 09:05 UTC\n"]);
    }
}
