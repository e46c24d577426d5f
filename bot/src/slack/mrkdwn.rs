//! A `Post` as a Slack message: mrkdwn blocks within Slack's limits, and a short text for
//! notifications. Everything bellhop shows is escaped (`&`, `<`, `>`), so text a person typed
//! never becomes a mention (`<!channel>`) or a link; bellhop's own markup is added after: times as
//! `<!date^…>`, which every reader sees in their own time zone, and its pages as `<!subteam^…>`.

use bellhop_commands::post::{Ping, Post};
use bellhop_commands::text::{render_times, utc, TimeStyle};
use bellhop_commands::Tone;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Slack's limits: a section's text, blocks per message, a message's text.
pub const SECTION: usize = 3000;
pub const BLOCKS: usize = 50;
pub const TEXT: usize = 3000;

/// Whom a page mentions in Slack, by the page's label, when Discord runs beside it and its own
/// ids are Discord's.
pub type Pages = BTreeMap<String, String>;

/// The message's `text` (what a notification shows) and its `blocks`.
pub fn render(post: &Post, pages: &Pages) -> (String, Value) {
    let mentions = mentions(post, pages);
    let heading = match post.title.is_empty() {
        true => String::new(),
        false => format!("{} *{}*", tone(post.tone), mrkdwn(&post.title)),
    };
    let mut blocks = Vec::new();
    let lead = [heading.as_str(), &mrkdwn(&post.body)].iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join("\n");
    if !lead.is_empty() {
        blocks.push(section(&lead));
    }
    let room = BLOCKS - 2;
    let shown = post.fields.len().min(room);
    for field in &post.fields[..shown] {
        blocks.push(section(&format!("*{}*\n{}", mrkdwn(&field.name), mrkdwn(&field.value))));
    }
    if post.fields.len() > shown {
        blocks.push(section(&format!("… {} more not shown", post.fields.len() - shown)));
    }
    let files = attachments(post);
    if !files.is_empty() && blocks.len() < BLOCKS - 1 {
        blocks.push(section(&files));
    }
    if !mentions.is_empty() {
        blocks.push(section(&mentions.join(" ")));
    }
    if blocks.is_empty() {
        blocks.push(section(" "));
    }
    let summary = [mentions.join(" "), strip(&heading_text(post))].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
    (cut(&summary, TEXT), Value::Array(blocks))
}

/// The user groups a post pages, as Slack mentions: `<!subteam^S0123>`. A page whose id is not a
/// Slack group (a Discord role) is named in text and pings nobody.
fn mentions(post: &Post, pages: &Pages) -> Vec<String> {
    post.pings
        .iter()
        .map(|Ping::Role { id, name }| match pages.get(name.as_str()).or(Some(id).filter(|id| crate::config::slack_id(id, &['S']))) {
            Some(group) => format!("<!subteam^{group}>"),
            None => format!("@{}", escape(name)),
        })
        .collect()
}

fn heading_text(post: &Post) -> String {
    if post.title.is_empty() {
        post.body.lines().next().unwrap_or_default().to_string()
    } else {
        post.title.clone()
    }
}

/// Files are not uploaded (that needs `files:write` and a second call): text is shown inline,
/// cut, and anything else is named.
fn attachments(post: &Post) -> String {
    post.attachments
        .iter()
        .map(|file| match file.text() {
            Some(text) => format!("*{}*\n```{}```", escape(&file.filename), escape(&cut(text, 1500))),
            None => format!("_{} ({} bytes) is not shown in Slack_", escape(&file.filename), file.bytes.len()),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, SECTION)}})
}

fn tone(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "🟢",
        Tone::Warning => "🟡",
        Tone::Bad => "🔴",
        Tone::Info => "🔵",
    }
}

/// bellhop's text as mrkdwn: escaped, `**bold**` as Slack's `*bold*`, times as Slack dates.
pub fn mrkdwn(text: &str) -> String {
    // Times are marked with characters no escaping touches (and no typed text keeps), then
    // turned into Slack's syntax.
    let text = text.replace(['\u{E000}', '\u{E001}'], "");
    let marked = render_times(&text, |at, style| {
        format!("\u{E000}{}:{}\u{E001}", at.timestamp(), if style == TimeStyle::Clock { 't' } else { 'f' })
    });
    let escaped = escape(&marked).replace("**", "*");
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped.as_str();
    while let Some(start) = rest.find('\u{E000}') {
        out.push_str(&rest[..start]);
        let after = &rest[start + '\u{E000}'.len_utf8()..];
        let Some(end) = after.find('\u{E001}') else { break };
        out.push_str(&date(&after[..end]));
        rest = &after[end + '\u{E001}'.len_utf8()..];
    }
    out.push_str(rest);
    slash_commands(&out.replace(['\u{E000}', '\u{E001}'], ""))
}

/// bellhop's commands as Slack spells them: what reads `/incident ack` elsewhere is
/// `/bellhop incident ack` here, the one slash command Slack knows.
fn slash_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('/') {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let boundary = out.chars().next_back().is_none_or(|c| c.is_whitespace() || "`(*_\"“'".contains(c));
        let word: String = from[1..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '-').collect();
        let known = bellhop_commands::command::spec::SPECS.iter().any(|spec| spec.name.split(' ').next() == Some(word.as_str()));
        if boundary && known && !word.is_empty() {
            out.push_str("/bellhop ");
        } else {
            out.push('/');
        }
        rest = &from[1..];
    }
    out.push_str(rest);
    out
}

/// `1767603900:t` → `<!date^1767603900^{time}|09:05 UTC>`.
fn date(token: &str) -> String {
    let parsed = token.split_once(':').and_then(|(seconds, style)| {
        let at = chrono::DateTime::from_timestamp(seconds.parse().ok()?, 0)?;
        Some((at, style == "t"))
    });
    match parsed {
        Some((at, true)) => format!("<!date^{}^{{time}}|{}>", at.timestamp(), utc(at, TimeStyle::Clock)),
        Some((at, false)) => format!("<!date^{}^{{date_short_pretty}} {{time}}|{}>", at.timestamp(), utc(at, TimeStyle::Full)),
        None => String::new(),
    }
}

/// Slack's three control characters, escaped as Slack asks.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Plain text for a notification: times as UTC, markup left out, escaped.
fn strip(text: &str) -> String {
    escape(&bellhop_commands::text::plain(text).replace("**", ""))
}

fn cut(text: &str, max: usize) -> String {
    bellhop_commands::text::ellipsize(text, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_text_never_mentions_anyone() {
        let post = Post::new(Tone::Info, "<!channel> & <@U1>").body("@here <!subteam^S1> <https://evil|x>");
        let (text, blocks) = render(&post, &Pages::new());
        let all = format!("{text}{blocks}");
        assert!(
            !all.contains("<!channel>") && !all.contains("<!subteam^S1>") && !all.contains("<@U1>") && !all.contains("<https"),
            "{all}"
        );
        assert!(all.contains("&lt;!channel&gt; &amp; &lt;@U1&gt;"), "{all}");
    }

    #[test]
    fn pages_mention_slack_groups_only() {
        let mut post = Post::new(Tone::Bad, "P1 declared");
        post.pings.push(Ping::Role { id: "S0ONCALL".into(), name: "on-call".into() });
        post.pings.push(Ping::Role { id: "777".into(), name: "sysadmin".into() });
        post.pings.push(Ping::Role { id: "888".into(), name: "infrastructure".into() });
        let pages = Pages::from([("infrastructure".to_string(), "S0INFRA".to_string())]);
        let (text, _) = render(&post, &pages);
        assert_eq!(text, "<!subteam^S0ONCALL> @sysadmin <!subteam^S0INFRA> P1 declared");
    }

    #[test]
    fn times_are_slack_dates_and_bold_is_slacks() {
        assert_eq!(
            mrkdwn("**Starts** <time:1767603900:f>, ends <time:1767607500:t>"),
            "*Starts* <!date^1767603900^{date_short_pretty} {time}|2026-01-05 09:05 UTC>, ends <!date^1767607500^{time}|10:05 UTC>"
        );
        assert_eq!(mrkdwn("\u{E000}99:t\u{E001} typed"), "99:t typed", "typed markers are dropped");
    }

    #[test]
    fn commands_read_as_slacks_one_slash_command() {
        assert_eq!(
            mrkdwn("acknowledge with /incident ack; `/help` lists them; see https://x.io/health or a/b"),
            "acknowledge with /bellhop incident ack; `/bellhop help` lists them; see https://x.io/health or a/b"
        );
    }

    #[test]
    fn long_posts_fit_slacks_limits() {
        let mut post = Post::new(Tone::Info, "t").body("x".repeat(10_000));
        for n in 0..80 {
            post = post.field(format!("f{n}"), "v");
        }
        let (text, blocks) = render(&post, &Pages::new());
        let blocks = blocks.as_array().unwrap();
        assert!(blocks.len() <= BLOCKS && text.chars().count() <= TEXT);
        assert!(blocks.iter().all(|b| b["text"]["text"].as_str().unwrap().chars().count() <= SECTION));
        assert!(blocks.last().unwrap()["text"]["text"].as_str().unwrap().contains("more not shown"));
    }
}
