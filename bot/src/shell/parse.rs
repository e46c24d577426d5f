//! The shell's line protocol: one line is one event.

use bellhop_commands::text::quote;
use bellhop_commands::Invocation;
use std::time::Duration;

/// How far one `:advance` may move the virtual clock: far enough for any runbook timer, near
/// enough that no time computed from it can overflow.
pub const LONGEST_ADVANCE: Duration = Duration::from_secs(366 * 24 * 3600);

#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Nothing,
    Meta(Meta),
    /// `[@user] [#channel] /command words name:value …`; the invocation carries the channel.
    Command {
        user: Option<String>,
        invocation: Invocation,
    },
    /// `[@user] react N emoji` or `unreact N emoji`
    Reaction {
        user: Option<String>,
        message: u64,
        emoji: String,
        added: bool,
    },
}

#[derive(Debug, PartialEq, Eq)]
pub enum Meta {
    Help,
    Users,
    Quit,
    Advance(Duration),
    /// Make a simulated endpoint fail every call (`:fail invite-user`) or recover (`:recover …`).
    Fault {
        endpoint: String,
        failing: bool,
    },
    /// A new version of a simulated function in the Management API (`:deploy invite-user`).
    Deploy(String),
}

pub fn parse_line(line: &str) -> Result<Line, String> {
    let line = line.trim();
    if line.is_empty() || line == "#" || line.starts_with("# ") {
        return Ok(Line::Nothing);
    }
    if let Some(meta) = line.strip_prefix(':') {
        return parse_meta(meta).map(Line::Meta);
    }
    let (user, rest) = match line.strip_prefix('@') {
        Some(after) => {
            let (name, rest) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
            (Some(name.to_string()), rest.trim_start())
        }
        None => (None, line),
    };
    let (channel, rest) = match rest.strip_prefix('#') {
        Some(after) => {
            let (name, rest) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
            (format!("#{name}"), rest.trim_start())
        }
        None => (super::CHANNEL.to_string(), rest),
    };
    if let Some(command) = rest.strip_prefix('/') {
        return parse_command(command).map(|invocation| Line::Command { user, invocation: invocation.in_channel(channel) });
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [verb @ ("react" | "unreact"), message, emoji] => {
            let message =
                message.trim_start_matches('#').parse().map_err(|_| format!("{} is not a message number like 3.", quote(message)))?;
            Ok(Line::Reaction { user, message, emoji: emoji.to_string(), added: *verb == "react" })
        }
        ["react" | "unreact", ..] => Err("Write a reaction as `react 3 ✅` (message number, then emoji).".into()),
        _ => Err("A line is a /command, `react N emoji`, or a :meta command; :help explains.".into()),
    }
}

fn parse_meta(meta: &str) -> Result<Meta, String> {
    let mut words = meta.split_whitespace();
    match (words.next(), words.next()) {
        (Some("help"), None) => Ok(Meta::Help),
        (Some("users"), None) => Ok(Meta::Users),
        (Some("quit" | "q" | "exit"), None) => Ok(Meta::Quit),
        (Some("advance"), Some(by)) => match humantime::parse_duration(by) {
            Ok(by) if by <= LONGEST_ADVANCE => Ok(Meta::Advance(by)),
            Ok(_) | Err(humantime::DurationError::NumberOverflow) => Err(":advance moves the clock at most 366 days at a time.".into()),
            Err(_) => Err(format!("{} is not a duration; try :advance 16m.", quote(by))),
        },
        (Some("advance"), None) => Err("Say how far: :advance 16m.".into()),
        (Some(verb @ ("fail" | "recover")), Some(endpoint)) => Ok(Meta::Fault { endpoint: endpoint.to_string(), failing: verb == "fail" }),
        (Some(verb @ ("fail" | "recover")), None) => Err(format!("Say which function: :{verb} invite-user.")),
        (Some("deploy"), Some(function)) => Ok(Meta::Deploy(function.to_string())),
        (Some("deploy"), None) => Err("Say which function: :deploy invite-user.".into()),
        _ => Err(format!(
            "There is no meta command {}; they are :help, :users, :advance, :fail, :recover, :quit.",
            quote(&format!(":{meta}"))
        )),
    }
}

/// `template show name:"two words"` → path `[template, show]`, options `[(name, two words)]`.
pub fn parse_command(text: &str) -> Result<Invocation, String> {
    let mut invocation = Invocation::default();
    for token in tokenize(text)? {
        match token {
            Token::Word(word) if invocation.options.is_empty() => invocation.path.push(word),
            Token::Word(word) => {
                return Err(format!("{} comes after the options; write options as name:value.", quote(&word)));
            }
            Token::Option(name, value) => invocation.options.push((name, bellhop_commands::Value::Text(value))),
        }
    }
    Ok(invocation)
}

enum Token {
    Word(String),
    Option(String, String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(tokens);
        }
        let mut name = String::new();
        let mut value: Option<String> = None;
        while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
            match (c, &mut value) {
                (':', None) if !name.is_empty() => value = Some(String::new()),
                ('"', Some(value)) => loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => value.extend(chars.next()),
                        Some(c) => value.push(c),
                        None => return Err("A quoted value is missing its closing \".".into()),
                    }
                },
                (c, Some(value)) => value.push(c),
                (c, None) => name.push(c),
            }
        }
        tokens.push(match value {
            Some(value) => Token::Option(name, value),
            None => Token::Word(name),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_take_quoted_options() {
        let line = parse_line(r#"@bob /template show name:"two \"quoted\" words" x:y"#).unwrap();
        let expected = Invocation::new("template show").option("name", r#"two "quoted" words"#).option("x", "y").in_channel("#ops");
        assert_eq!(line, Line::Command { user: Some("bob".into()), invocation: expected });
    }

    #[test]
    fn a_channel_before_the_command_is_where_it_was_typed() {
        let Line::Command { user, invocation } = parse_line("@bob #inc-2 /incident ack").unwrap() else { panic!("a command") };
        assert_eq!((user.as_deref(), invocation.channel.as_deref()), (Some("bob"), Some("#inc-2")));
    }

    #[test]
    fn reactions_and_meta() {
        assert_eq!(
            parse_line("@bob react 3 ✅").unwrap(),
            Line::Reaction { user: Some("bob".into()), message: 3, emoji: "✅".into(), added: true }
        );
        assert_eq!(parse_line(":advance 16m").unwrap(), Line::Meta(Meta::Advance(Duration::from_secs(960))));
        assert_eq!(parse_line("  # a comment").unwrap(), Line::Nothing);
    }

    #[test]
    fn bad_lines_say_what_to_write() {
        assert_eq!(parse_line("/incident update text:\"open").unwrap_err(), "A quoted value is missing its closing \".");
        assert_eq!(parse_line("hello").unwrap_err(), "A line is a /command, `react N emoji`, or a :meta command; :help explains.");
        assert_eq!(parse_line(":advance soon").unwrap_err(), "`soon` is not a duration; try :advance 16m.");
        assert_eq!(parse_line("/template show name:x extra").unwrap_err(), "`extra` comes after the options; write options as name:value.");
    }

    #[test]
    fn advancing_beyond_a_year_is_refused_not_overflowed() {
        for by in ["999999y", "18446744073709551615s", "367days"] {
            assert_eq!(parse_line(&format!(":advance {by}")).unwrap_err(), ":advance moves the clock at most 366 days at a time.");
        }
        assert_eq!(parse_line(":advance 366days").unwrap(), Line::Meta(Meta::Advance(LONGEST_ADVANCE)));
        let long = parse_line(&format!(":{}", "x".repeat(10_000))).unwrap_err();
        assert!(long.len() < 200, "{long}");
    }
}
