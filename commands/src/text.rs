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

/// Bidirectional overrides and zero-width characters: shown back, they would let typed text
/// reverse or hide the rest of bellhop's sentence.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
}

/// A time as posts show it: `09:05 UTC`, with the date when it is not the day of `now`.
pub fn time(at: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M UTC").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }
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
    fn quotes_cannot_reorder_hide_or_close_the_sentence_around_them() {
        assert_eq!(quote("abc\u{202E}fed\u{200B}"), "`abcfed`");
        assert_eq!(quote("a`b"), "`a b`");
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
