//! How a post reads in a terminal.

use bellhop_commands::post::Ping;
use bellhop_commands::{Post, Tone};
use std::fmt::Write as _;

/// `#N [#channel] title` or `#N (only @name) title`, then the body and fields indented.
pub fn render(number: u64, place: &str, post: &Post) -> String {
    let mut lines: Vec<String> = Vec::new();
    if !post.title.is_empty() {
        lines.push(post.title.clone());
    }
    lines.extend(post.body.lines().map(str::to_string));
    if lines.is_empty() {
        lines.push(String::new());
    }
    if post.tone == Tone::Bad && post.title.is_empty() {
        lines[0] = format!("✗ {}", lines[0]);
    }
    let width = post.fields.iter().map(|f| f.name.chars().count()).max().unwrap_or(0);
    for field in &post.fields {
        let pad = width - field.name.chars().count();
        let mut value_lines = field.value.lines();
        lines.push(format!("{}{} {}", field.name, " ".repeat(pad), value_lines.next().unwrap_or_default()));
        lines.extend(value_lines.map(|line| format!("{} {line}", " ".repeat(width))));
    }
    for attachment in &post.attachments {
        lines.push(format!("📎 {} ({} bytes)", attachment.filename, attachment.bytes.len()));
        // Text is shown in place; a terminal cannot show an image, so its size stands for it.
        if let Some(text) = attachment.text() {
            lines.extend(text.lines().map(|line| format!("  {line}")));
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
