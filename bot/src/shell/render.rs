//! How a post reads in a terminal: the core's `**bold**` as ANSI bold on a terminal (plain in a
//! pipe or a file), its time tokens as UTC text.

use bellhop_commands::post::Ping;
use bellhop_commands::text::plain;
use bellhop_commands::{Post, Tone};
use std::fmt::Write as _;

/// How the terminal shows emphasis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Style {
    /// Markers removed: scripts, pipes and files get clean text.
    #[default]
    Plain,
    /// ANSI bold, for a person at a terminal.
    Ansi,
}

/// `#N [#channel] title` or `#N (only @name) title`, then the body and fields indented.
pub fn render(number: u64, place: &str, post: &Post, style: Style) -> String {
    let show = |text: &str| emphasis(&plain(text), style);
    let mut lines: Vec<String> = Vec::new();
    if !post.title.is_empty() {
        lines.push(show(&post.title));
    }
    lines.extend(post.body.lines().map(show));
    if lines.is_empty() {
        lines.push(String::new());
    }
    if post.tone == Tone::Bad && post.title.is_empty() {
        lines[0] = format!("✗ {}", lines[0]);
    }
    let width = post.fields.iter().map(|f| f.name.chars().count()).max().unwrap_or(0);
    for field in &post.fields {
        let pad = width - field.name.chars().count();
        let value = plain(&field.value);
        let mut value_lines = value.lines().map(|line| emphasis(line, style));
        lines.push(format!("{}{} {}", show(&field.name), " ".repeat(pad), value_lines.next().unwrap_or_default()));
        lines.extend(value_lines.map(|line| format!("{} {line}", " ".repeat(width))));
    }
    for attachment in &post.attachments {
        lines.push(format!("📎 {} ({} bytes)", attachment.filename, attachment.bytes.len()));
        // Text is shown in place; a terminal cannot show an image, so its size stands for it.
        if let Some(text) = attachment.text() {
            lines.extend(plain(text).lines().map(|line| format!("  {line}")));
        }
    }
    if !post.pings.is_empty() {
        let pinged: Vec<String> = post.pings.iter().map(|Ping::Role { name, .. }| format!("@{name}")).collect();
        lines.push(format!("(pings {})", pinged.join(", ")));
    }
    let mut text = format!("#{number} {place} {}", lines[0]);
    for line in &lines[1..] {
        let _ = write!(text, "\n    {line}");
    }
    text
}

/// `**bold**` pairs within one line as `style` shows them; an unpaired `**` stays as typed.
fn emphasis(line: &str, style: Style) -> String {
    let parts: Vec<&str> = line.split("**").collect();
    let markers = parts.len() - 1;
    let paired = markers - markers % 2;
    let mut out = String::with_capacity(line.len());
    for (index, part) in parts.iter().enumerate() {
        match (index, style) {
            (0, _) => {}
            (i, _) if i > paired => out.push_str("**"),
            (_, Style::Plain) => {}
            (i, Style::Ansi) => out.push_str(if i % 2 == 1 { "\x1b[1m" } else { "\x1b[22m" }),
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_is_plain_in_a_pipe_and_ansi_on_a_terminal() {
        assert_eq!(emphasis("open, **not acknowledged**", Style::Plain), "open, not acknowledged");
        assert_eq!(emphasis("open, **not acknowledged**", Style::Ansi), "open, \x1b[1mnot acknowledged\x1b[22m");
        assert_eq!(emphasis("a ** b **c** d", Style::Plain), "a  b c** d", "the last unpaired marker stays");
        assert_eq!(emphasis("2 ** 3", Style::Ansi), "2 ** 3");
    }

    #[test]
    fn times_read_as_utc_text() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let later = now + chrono::Duration::minutes(5);
        let post = Post::new(Tone::Info, format!("due {}", bellhop_commands::text::time(later, now)))
            .body("**Investigation**: logs")
            .field("At", bellhop_commands::text::time(later + chrono::Duration::days(1), now));
        assert_eq!(
            render(4, "[#ops]", &post, Style::Plain),
            "#4 [#ops] due 09:05 UTC\n    Investigation: logs\n    At 2026-01-06 09:05 UTC"
        );
    }
}
