//! Small helpers for showing user-supplied text back safely and briefly.

/// Shortens `text` to at most `max` characters, marking the cut with `…`.
pub fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// User text quoted inside one of bellhop's sentences: one line, at most 60 characters.
pub fn quote(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    format!("`{}`", ellipsize(&one_line, 60))
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
}
