//! Small helpers for showing user-supplied text back safely and briefly.

/// Shortens `text` to at most `max` characters, marking the cut with `…`.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// User text quoted inside one of bellhop's sentences: one line, at most 60 characters, without
/// the invisible characters that would reorder or hide the sentence around it.
pub fn quote(text: &str) -> String {
    let one_line: String = text.chars().filter(|c| !is_invisible(*c)).map(|c| if c.is_control() || c == '`' { ' ' } else { c }).collect();
    format!("`{}`", ellipsize(&one_line, 60))
}

/// Text a person typed, made to read as a sentence in a template: trimmed, starting with a
/// capital, ending with a full stop unless it already ends like a sentence.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?', '…', ')', '"', '”']) {
        out.push('.');
    }
    out
}

/// Bidirectional overrides and zero-width characters: shown back, they would let typed text
/// reverse or hide the rest of bellhop's sentence.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

/// What typed text is stored without: bidirectional embeddings, overrides and isolates, which
/// reorder what follows them, and the zero-width characters that only hide. Joiners and
/// direction marks stay: emoji sequences (👩‍💻), Persian and Indic words and mixed-direction
/// text need them, and they reorder nothing around them.
pub(crate) fn is_disruptive(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// How much of a time a post shows: the clock alone on the day it is written, else the date too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeStyle {
    Clock,
    Full,
}

/// A time in a post, as a token each adapter renders: the shell as UTC text (`09:05 UTC`),
/// Discord as a timestamp every reader sees in their own time zone. `<time:UNIX:t>` shows the
/// clock only (the same day as `now`), `<time:UNIX:f>` the date too.
pub fn time(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let style = if at.date_naive() == now.date_naive() { 't' } else { 'f' };
    format!("<time:{}:{style}>", at.timestamp())
}

/// `text` with every time token replaced by what `show` makes of it; anything that only looks
/// like a token stays as it was.
pub fn render_times(text: &str, show: impl Fn(chrono::DateTime<chrono::Utc>, TimeStyle) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<time:") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        match after.find('>').and_then(|end| parse_token(&after[..=end]).map(|parsed| (end, parsed))) {
            Some((end, (at, style))) => {
                out.push_str(&show(at, style));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("<time:");
                rest = &after["<time:".len()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `<time:1767603900:t>` → the instant and its style.
fn parse_token(token: &str) -> Option<(chrono::DateTime<chrono::Utc>, TimeStyle)> {
    let (seconds, style) = token.strip_prefix("<time:")?.strip_suffix('>')?.split_once(':')?;
    let style = match style {
        "t" => TimeStyle::Clock,
        "f" => TimeStyle::Full,
        _ => return None,
    };
    Some((chrono::DateTime::from_timestamp(seconds.parse().ok()?, 0)?, style))
}

/// A time as UTC text: `09:05 UTC`, or `2026-01-05 09:05 UTC` for [`TimeStyle::Full`].
pub fn utc(at: chrono::DateTime<chrono::Utc>, style: TimeStyle) -> String {
    match style {
        TimeStyle::Clock => at.format("%H:%M UTC").to_string(),
        TimeStyle::Full => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// Text for places that render nothing (logs, files, the audit trail): times as UTC text.
pub fn plain(text: &str) -> String {
    render_times(text, utc)
}

/// A span as people say it: `15 min`, `2 h 5 min`, `1 day 3 h`.
pub fn span(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let parts: Vec<String> = [(days, if days == 1 { "day" } else { "days" }), (hours, "h"), (mins, "min")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .take(2)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect();
    if parts.is_empty() {
        "under a minute".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsize_counts_characters_not_bytes() {
        assert_eq!(ellipsize("héllo", 5), "héllo");
        assert_eq!(ellipsize("héllo wörld", 6), "héllo…");
        assert_eq!(quote(&"x".repeat(10_000)).chars().count(), 62);
        assert_eq!(quote("a\nb"), "`a b`");
    }

    #[test]
    fn typed_text_reads_as_a_sentence() {
        assert_eq!(sentence(" guests cannot sign in "), "Guests cannot sign in.");
        assert_eq!(sentence("Bookings fail!"), "Bookings fail!");
        assert_eq!(sentence("évasion"), "Évasion.");
        assert_eq!(sentence("   "), "");
    }

    #[test]
    fn quotes_cannot_reorder_hide_or_close_the_sentence_around_them() {
        assert_eq!(quote("abc\u{202E}fed\u{200B}"), "`abcfed`");
        assert_eq!(quote("a`b"), "`a b`");
    }

    #[test]
    fn time_tokens_render_per_adapter_and_lookalikes_stay() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let today = now + chrono::Duration::minutes(5);
        let tomorrow = now + chrono::Duration::days(1);
        let text = format!("due {}, then {} <time:x:t> <time:1:z> <time:", time(today, now), time(tomorrow, now));
        assert_eq!(text, "due <time:1767603900:t>, then <time:1767690000:f> <time:x:t> <time:1:z> <time:");
        assert_eq!(plain(&text), "due 09:05 UTC, then 2026-01-06 09:00 UTC <time:x:t> <time:1:z> <time:");
        let discord = render_times(&text, |at, _| format!("<t:{}:f>", at.timestamp()));
        assert_eq!(discord, "due <t:1767603900:f>, then <t:1767690000:f> <time:x:t> <time:1:z> <time:");
        assert_eq!(plain(&format!("<time:{}:t>", i64::MAX)), format!("<time:{}:t>", i64::MAX), "out of range stays text");
    }

    #[test]
    fn spans_read_like_speech() {
        let m = chrono::Duration::minutes;
        assert_eq!(span(m(15)), "15 min");
        assert_eq!(span(m(125)), "2 h 5 min");
        assert_eq!(span(m(1440 + 180 + 7)), "1 day 3 h");
        assert_eq!(span(chrono::Duration::seconds(20)), "under a minute");
    }
}
