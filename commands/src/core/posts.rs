//! What the loop itself says in the ops channel, when a post or a timer is given up.

use crate::post::{Post, Tone};

/// A chat operation given up for good, with what to do about it.
pub fn undeliverable(what: &str, reason: &str, id: i64) -> Post {
    Post::new(Tone::Bad, format!("📭 bellhop could not deliver {what}"))
        .body(format!(
            "{}\n`bellhop outbox` or /outbox list shows it; retry it once the cause is fixed.",
            crate::text::ellipsize(reason, 300)
        ))
        .field("Outbox id", id.to_string())
}

/// A timer that failed too often to be tried again.
pub fn timer_given_up(kind: &str, owner: &str, tries: i64, reason: &str) -> Post {
    Post::new(Tone::Bad, format!("⚠️ A {kind} timer of {owner} could not fire"))
        .body(format!("bellhop tried {tries} times and gave up: {}", crate::text::ellipsize(reason, 300)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_loop_says_when_it_gives_up() {
        insta::assert_snapshot!(undeliverable("a post to #incidents", "404 Unknown Channel", 12), @r#"
            [bad] 📭 bellhop could not deliver a post to #incidents
            404 Unknown Channel
            `bellhop outbox` or /outbox list shows it; retry it once the cause is fixed.
            Outbox id: 12
            "#);
        insta::assert_snapshot!(timer_given_up("escalate", "incident:3", 5, "the store is read-only"), @r#"
            [bad] ⚠️ A escalate timer of incident:3 could not fire
            bellhop tried 5 times and gave up: the store is read-only
            "#);
    }
}
