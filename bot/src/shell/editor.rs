//! Line editing for a person at a terminal: arrow keys, history kept across runs, Ctrl-R, and Tab
//! completion of commands, subcommands, options, choices, people and incident ids, all from the
//! command registry. Piped input never comes here: scripts read plain lines.

use bellhop_commands::command::spec::{self, Kind, Suggest};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What Tab offers; the incidents are refreshed by the shell after each line.
#[derive(Clone, Default)]
pub struct Completion {
    pub people: Vec<String>,
    pub incidents: Arc<Mutex<Vec<String>>>,
}

const META: &[&str] = &[":help", ":users", ":advance ", ":fail ", ":recover ", ":quit"];

impl Completion {
    /// Where the word under the cursor starts, and what it may become.
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = line.get(..pos).unwrap_or(line);
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
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

/// Reads lines on a thread of its own (the editor blocks) and hands each to the shell, waiting
/// until the shell has answered before it prompts again, so answers never land in the prompt.
pub fn spawn(
    completion: Completion,
    history: Option<PathBuf>,
) -> anyhow::Result<(tokio::sync::mpsc::Receiver<String>, std::sync::mpsc::Sender<()>)> {
    let mut editor: Editor<Completion, _> = Editor::new()?;
    editor.set_helper(Some(completion));
    if let Some(path) = &history {
        // A first run has no history yet.
        let _ = editor.load_history(path);
    }
    let (lines, received) = tokio::sync::mpsc::channel(1);
    let (answered, next) = std::sync::mpsc::channel::<()>();
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
    Ok((received, answered))
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
}
