//! Hostile input through the shell adapter: nothing a person types may panic, fail inside
//! bellhop, or come back as more than one short sentence.

use bellhop::simulated::Script;
use bellhop_commands::command::spec::SPECS;
use bellhop_tests::{platform, settings, ShellSession, KEY};

/// Values nobody should type, and some people will.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "\t",
    "x",
    "héllo wörld 🚨🔥",
    "\u{202E}gnirts desrever",
    "zero\u{200B}width\u{FEFF}",
    "\u{0007}bell\u{001B}[31mred",
    "@everyone",
    "@here <@&123456789012345678> <@1>",
    "'; DROP TABLE audit; --",
    "\" OR 1=1 --",
    "\\",
    "{{ root_cause }}{% for x in y %}",
    "0",
    "-1",
    "18446744073709551615",
    "99999999999999999999999999",
    "NaN",
    "INC-0",
    "INC-18446744073709551616",
    "MW-99999999999999999999",
    "P9",
    "in 9999999y",
    "in 18446744073709551615s",
    "+262142-12-31 23:30",
    "-262143-01-01 00:00",
    "2026-02-30 25:61",
    "999999y",
    "0s",
];

/// A value that satisfies each option, so the hostile one is the only thing wrong in a line.
fn sane(option: &str) -> &'static str {
    match option {
        "severity" | "level" => "P2",
        "start" => "in 2h",
        "duration" => "1h",
        "name" => "p1-alert",
        "user" | "commander" => "bob",
        "id" => "INC-1",
        "state" => "open",
        _ => "fine",
    }
}

fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Every command with each of its options (required ones filled sanely) set to each hostile
/// value, plus lines that are not commands at all.
fn corpus() -> Vec<String> {
    let huge = "x".repeat(10_000);
    let mut hostile: Vec<&str> = HOSTILE.to_vec();
    hostile.push(&huge);
    let mut lines = Vec::new();
    for spec in SPECS {
        lines.push(format!("/{}", spec.name));
        lines.push(format!("/{} {}", spec.name, huge));
        lines.push(format!("/{} nope:1", spec.name));
        for option in spec.options {
            for value in &hostile {
                let others = spec.options.iter().filter(|o| o.required && o.name != option.name);
                let mut line = format!("/{} {}:{}", spec.name, option.name, quoted(value));
                for other in others {
                    line.push_str(&format!(" {}:{}", other.name, sane(other.name)));
                }
                lines.push(line);
            }
        }
    }
    for value in &hostile {
        let one_line = value.replace(['\n', '\r'], " ");
        lines.push(format!("/{one_line}"));
        lines.push(format!("@{one_line} /health"));
        lines.push(format!("#{one_line} /incident ack"));
        lines.push(format!("react {one_line} ✅"));
        lines.push(format!("react 1 {one_line}"));
        lines.push(format!(":advance {one_line}"));
        lines.push(format!(":{one_line}"));
        lines.push(one_line);
    }
    lines
}

/// The messages one line printed: each starts `#N `, continuation lines are indented.
fn messages(output: &str) -> Vec<String> {
    let mut messages: Vec<String> = Vec::new();
    for line in output.lines() {
        match messages.last_mut() {
            Some(last) if !line.starts_with('#') && !line.starts_with("--") => {
                last.push('\n');
                last.push_str(line);
            }
            _ => messages.push(line.to_string()),
        }
    }
    messages
}

#[tokio::test]
async fn hundreds_of_hostile_lines_get_one_short_sentence_each_and_nothing_panics() {
    let platform = platform(Script::new(KEY)).await;
    let mut session = ShellSession::start(settings(&platform.url(), &["invite-user"])).await;
    // Something for `id:`, reactions and `:advance` to find.
    session.type_line("/incident declare severity:P1 title:\"Logins failing\"").await;
    session.type_line("/maintenance schedule start:\"in 2h\" duration:1h summary:\"db upgrade\"").await;
    let corpus = corpus();
    assert!(corpus.len() > 500, "a corpus of hundreds of lines, not {}", corpus.len());
    let mut refusals = 0;
    for line in &corpus {
        let output = session.type_line(line).await;
        assert!(!output.contains("went wrong on bellhop's side"), "an internal error for {line:?}:\n{output}");
        for message in messages(&output) {
            let Some((_, text)) = message.split_once(" ✗ ") else { continue };
            refusals += 1;
            let shown = shown_line(line);
            assert!(message.contains("(only @"), "a refusal only the typist sees, for {shown}:\n{message}");
            assert!(!text.contains('\n'), "one line, for {shown}:\n{message}");
            assert!(text.chars().count() < 300, "a short sentence, for {shown}: {} characters", text.chars().count());
        }
    }
    assert!(refusals > 300, "most of the corpus is refused; {refusals} were");
}

/// The line as a failure message shows it: enough to find it in the corpus.
fn shown_line(line: &str) -> String {
    format!("{:?}", line.chars().take(120).collect::<String>())
}

async fn session() -> (ShellSession, bellhop::simulated::SimulatedPlatform) {
    let platform = platform(Script::new(KEY)).await;
    (ShellSession::start(settings(&platform.url(), &["invite-user"])).await, platform)
}

#[tokio::test]
async fn a_start_centuries_away_is_refused_with_the_limit() {
    let (mut session, _platform) = session().await;
    for start in ["in 9999999y", "in 18446744073709551615s", "+262142-12-31 23:30"] {
        let answer = session.type_line(&format!("/maintenance schedule start:\"{start}\" duration:1h summary:x")).await;
        assert!(answer.contains("is more than a year away; bellhop schedules windows up to a year ahead."), "{start}: {answer}");
    }
    let answer = session.type_line("/maintenance list").await;
    assert!(answer.contains("none planned"), "nothing was half-written: {answer}");
}

#[tokio::test]
async fn advancing_the_clock_by_ages_is_refused_and_the_shell_goes_on() {
    let (mut session, _platform) = session().await;
    for by in ["999999y", "18446744073709551615s"] {
        let answer = session.type_line(&format!(":advance {by}")).await;
        assert!(answer.trim().ends_with("(only @alice) ✗ :advance moves the clock at most 366 days at a time."), "{answer}");
    }
    assert!(session.type_line(":advance 366days").await.contains("the clock is now 2027-01-06 09:00 UTC"));
}

#[tokio::test]
async fn a_reaction_on_a_reply_only_one_person_sees_is_refused() {
    let (mut session, _platform) = session().await;
    let reply = session.type_line("/template list").await;
    assert!(reply.starts_with("#1 (only @alice)"), "{reply}");
    let answer = session.type_line("@bob react 1 ✅").await;
    assert_eq!(answer.trim(), "#2 (only @bob) ✗ Message #1 is a reply only @alice sees; reactions go on messages in a channel.");
}

#[tokio::test]
async fn a_ten_thousand_character_word_is_quoted_short() {
    let (mut session, _platform) = session().await;
    let huge = "y".repeat(10_000);
    for line in [format!(":{huge}"), format!("react {huge} ✅"), format!("/template show name:x {huge}"), format!(":advance {huge}")] {
        let answer = session.type_line(&line).await;
        assert!(answer.contains('…') && answer.len() < 300, "{} bytes: {}", answer.len(), &answer[..answer.len().min(200)]);
    }
}
