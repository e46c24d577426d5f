//! A `Post` as a Discord embed, within Discord's limits: longer content is cut with a marker,
//! so Discord never rejects a reply for its size. The core's `**bold**` is Discord's own; its
//! time tokens become Discord timestamps, which every reader sees in their own time zone.

use bellhop_commands::text::{plain, render_times};
use bellhop_commands::{Post, Reply, Tone, Visibility};
use poise::serenity_prelude as serenity;

pub const TITLE: usize = 256;
pub const DESCRIPTION: usize = 4096;
pub const FIELDS: usize = 25;
pub const FIELD_NAME: usize = 256;
pub const FIELD_VALUE: usize = 1024;
/// Title, description and every field name and value together.
pub const TOTAL: usize = 6000;
const MARKER: char = '…';

/// The text of an embed after fitting it into the limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fitted {
    pub title: String,
    pub description: String,
    pub fields: Vec<(String, String)>,
}

impl Fitted {
    fn size(&self) -> usize {
        count(&self.title) + count(&self.description) + self.fields.iter().map(|(n, v)| count(n) + count(v)).sum::<usize>()
    }
}

/// Cuts the post to fit: each part to its own limit, at most 25 fields (the last says how many
/// are not shown), then fields from the end and finally the description until the total fits.
pub fn fit(post: &Post) -> Fitted {
    let mut fields: Vec<(String, String)> =
        post.fields.iter().map(|f| (non_empty(cut(&plain(&f.name), FIELD_NAME)), non_empty(cut(&local(&f.value), FIELD_VALUE)))).collect();
    let mut hidden = 0;
    if fields.len() > FIELDS {
        hidden = fields.len() - (FIELDS - 1);
        fields.truncate(FIELDS - 1);
    }
    let mut fitted = Fitted { title: cut(&plain(&post.title), TITLE), description: cut(&local(&post.body), DESCRIPTION), fields };
    loop {
        let mut candidate = fitted.clone();
        if hidden > 0 {
            candidate.fields.push((MARKER.to_string(), format!("{hidden} more not shown")));
        }
        let size = candidate.size();
        if size <= TOTAL {
            return candidate;
        }
        if fitted.fields.pop().is_some() {
            hidden += 1;
        } else {
            let keep = count(&fitted.description).saturating_sub(size - TOTAL);
            fitted.description = cut(&fitted.description, keep);
        }
    }
}

pub fn colour(tone: Tone) -> serenity::Colour {
    serenity::Colour::new(match tone {
        Tone::Good => 0x2E7D32,
        Tone::Warning => 0xF9A825,
        Tone::Bad => 0xC62828,
        Tone::Info => 0x1565C0,
    })
}

pub fn embed(post: &Post) -> serenity::CreateEmbed {
    let fitted = fit(post);
    let mut embed = serenity::CreateEmbed::new().colour(colour(post.tone));
    if !fitted.title.is_empty() {
        embed = embed.title(fitted.title);
    }
    if !fitted.description.is_empty() {
        embed = embed.description(fitted.description);
    }
    embed.fields(fitted.fields.into_iter().map(|(name, value)| (name, value, false)))
}

/// A reply to a slash command: the embed, its pings, and ephemeral when only the invoker may see it.
pub fn reply(reply: &Reply) -> poise::CreateReply {
    let mut builder = poise::CreateReply::default()
        .embed(embed(&reply.post))
        .allowed_mentions(super::mentions::allowed(&reply.post))
        .ephemeral(reply.visibility == Visibility::Invoker);
    if let Some(content) = super::mentions::content(&reply.post) {
        builder = builder.content(content);
    }
    for file in files(&reply.post) {
        builder = builder.attachment(file);
    }
    builder
}

/// A post bellhop makes on its own, into a channel or thread.
pub fn message(post: &Post) -> serenity::CreateMessage {
    let mut message = serenity::CreateMessage::new().embed(embed(post)).allowed_mentions(super::mentions::allowed(post));
    if let Some(content) = super::mentions::content(post) {
        message = message.content(content);
    }
    message.add_files(files(post))
}

/// A post bellhop made, replaced in place (figures that changed, an outcome).
pub fn edit(post: &Post) -> serenity::EditMessage {
    serenity::EditMessage::new()
        .embed(embed(post))
        .allowed_mentions(super::mentions::allowed(post))
        .content(super::mentions::content(post).unwrap_or_default())
}

/// A post's attachments (a postmortem skeleton, a chart) as files on the message.
fn files(post: &Post) -> Vec<serenity::CreateAttachment> {
    // A text file (a postmortem) gets its times as UTC text; a picture goes as it is.
    let bytes = |a: &bellhop_commands::post::Attachment| a.text().map(|t| plain(t).into_bytes()).unwrap_or_else(|| a.bytes.clone());
    post.attachments.iter().map(|a| serenity::CreateAttachment::bytes(bytes(a), a.filename.clone())).collect()
}

/// Times as Discord timestamps (`<t:UNIX:f>`), shown in each reader's time zone. Titles and
/// field names do not render them, so those get UTC text instead.
fn local(text: &str) -> String {
    render_times(text, |at, _| format!("<t:{}:f>", at.timestamp()))
}

fn count(text: &str) -> usize {
    text.chars().count()
}

/// At most `max` characters; a cut text ends with the marker.
fn cut(text: &str, max: usize) -> String {
    if count(text) <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    if max > 0 {
        cut.push(MARKER);
    }
    cut
}

/// Discord rejects empty field names and values.
fn non_empty(text: String) -> String {
    if text.trim().is_empty() {
        "—".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_posts_pass_unchanged() {
        let post = Post::new(Tone::Good, "All up").body("8 targets").field("auth", "up, 12 ms").field("", "");
        let fitted = fit(&post);
        assert_eq!(fitted.title, "All up");
        assert_eq!(fitted.fields, [("auth".to_string(), "up, 12 ms".to_string()), ("—".to_string(), "—".to_string())]);
    }

    #[test]
    fn times_are_discord_timestamps_where_discord_renders_them_and_utc_text_elsewhere() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let at = bellhop_commands::text::time(now + chrono::Duration::minutes(5), now);
        let post = Post::new(Tone::Info, format!("MW-1 from {at}")).body(format!("**Starts** {at}")).field(format!("At {at}"), &at);
        let fitted = fit(&post);
        assert_eq!(fitted.title, "MW-1 from 09:05 UTC");
        assert_eq!(fitted.description, "**Starts** <t:1767603900:f>");
        assert_eq!(fitted.fields, [("At 09:05 UTC".to_string(), "<t:1767603900:f>".to_string())]);
    }

    #[test]
    fn every_part_is_cut_to_its_limit_with_a_marker() {
        let long = "x".repeat(5000);
        let post = Post::new(Tone::Bad, &long).body(&long).field(&long, &long);
        let fitted = fit(&post);
        assert_eq!(count(&fitted.title), TITLE);
        assert!(fitted.title.ends_with(MARKER));
        assert_eq!(count(&fitted.fields[0].0), FIELD_NAME);
        assert_eq!(count(&fitted.fields[0].1), FIELD_VALUE);
        assert!(fitted.size() <= TOTAL, "{} > {TOTAL}", fitted.size());
        assert!(fitted.description.ends_with(MARKER));
    }

    #[test]
    fn too_many_fields_end_with_how_many_are_not_shown() {
        let post = (0..40).fold(Post::new(Tone::Info, "many"), |p, i| p.field(format!("f{i}"), "v"));
        let fitted = fit(&post);
        assert_eq!(fitted.fields.len(), FIELDS);
        assert_eq!(fitted.fields.last().unwrap(), &("…".to_string(), "16 more not shown".to_string()));
    }

    #[test]
    fn the_total_is_kept_by_dropping_fields_from_the_end() {
        let value = "v".repeat(FIELD_VALUE);
        let post = (0..25).fold(Post::new(Tone::Info, "big").body("b".repeat(4000)), |p, i| p.field(format!("f{i}"), &value));
        let fitted = fit(&post);
        assert!(fitted.size() <= TOTAL);
        assert_eq!(fitted.description.len(), 4000);
        let last = fitted.fields.last().unwrap();
        assert_eq!(last.0, "…");
        assert_eq!(fitted.fields.len() - 1 + last.1.split(' ').next().unwrap().parse::<usize>().unwrap(), 25);
    }
}
