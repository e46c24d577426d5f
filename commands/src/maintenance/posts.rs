//! What maintenance says in chat: the announcement, the reminders, the status-page texts.

use crate::post::{Post, Tone};
use crate::store::{Maintenance, MaintenanceKind};
use crate::text::time;
use chrono::{DateTime, Utc};

pub(super) fn tone(kind: MaintenanceKind) -> Tone {
    match kind {
        MaintenanceKind::Scheduled => Tone::Info,
        MaintenanceKind::Emergency => Tone::Bad,
    }
}

/// `/maintenance list`.
pub fn windows(windows: &[Maintenance], now: DateTime<Utc>) -> Post {
    if windows.is_empty() {
        return Post::new(Tone::Good, "Maintenance windows: none planned");
    }
    let mut post = Post::new(Tone::Info, format!("Maintenance windows: {}", windows.len()));
    for window in windows {
        let state = if window.start <= now { "in progress" } else { "scheduled" };
        post = post.field(window.code(), format!("{} · {} → {} · {state}", window.summary, time(window.start, now), time(window.end, now)));
    }
    post
}

/// The announcement in the ops channel when a window is opened; `notice` is the runbook's text.
pub fn announced(window: &Maintenance, notice: &str, now: DateTime<Utc>) -> Post {
    Post::new(tone(window.kind), format!("{} · {} maintenance · {}", window.code(), window.kind, window.summary))
        .body(notice)
        .field("Window", format!("{} → {}", time(window.start, now), time(window.end, now)))
}

/// The runbook's text for the status page, in the status channel, ready to copy.
pub fn status_text(window: &Maintenance, tone: Tone, text: &str) -> Post {
    Post::new(tone, format!("Status page text for {}", window.code())).body(text)
}

/// The answer to whoever opened the window: what happens next.
pub fn you_opened(window: &Maintenance, now: DateTime<Utc>) -> Post {
    let next = match window.kind {
        MaintenanceKind::Emergency => "The health sweep at its end validates it.",
        MaintenanceKind::Scheduled => "Reminders follow: 24 h before, at the start, and a validating health sweep at the end.",
    };
    let length = crate::text::span(window.end - window.start);
    Post::new(Tone::Good, format!("{} {}: {length} from {}", window.code(), window.kind, time(window.start, now))).body(next)
}

pub fn cancelled(window: &Maintenance, by: &str) -> Post {
    Post::new(Tone::Info, format!("{} cancelled by @{by}", window.code())).body(window.summary.clone())
}

pub fn you_cancelled(window: &Maintenance) -> Post {
    Post::new(Tone::Good, format!("Cancelled {}.", window.code()))
}

/// A reminder in the ops channel: `what` happens, with the runbook's checklist for it.
pub fn notice(window: &Maintenance, now: DateTime<Utc>, what: &str, checklist: &str) -> Post {
    Post::new(Tone::Info, format!("🛠️ {} {what}: {}", window.code(), window.summary))
        .body(checklist)
        .field("Window", format!("{} → {}", time(window.start, now), time(window.end, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn window(kind: MaintenanceKind) -> Maintenance {
        Maintenance {
            id: 3,
            kind,
            summary: "Upgrade PostgreSQL".into(),
            start: Utc.with_ymd_and_hms(2026, 12, 5, 2, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 5, 4, 0, 0).unwrap(),
            created_by: "alice".into(),
            cancelled: false,
        }
    }

    #[test]
    fn opening_a_window() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        let scheduled = window(MaintenanceKind::Scheduled);
        insta::assert_snapshot!(announced(&scheduled, "Scheduled maintenance on …", now), @r#"
            [info] MW-3 · scheduled maintenance · Upgrade PostgreSQL
            Scheduled maintenance on …
            Window: <time:1796436000:f> → <time:1796443200:f>
            "#);
        insta::assert_snapshot!(you_opened(&scheduled, now), @r#"
            [good] MW-3 scheduled: 2 h from <time:1796436000:f>
            Reminders follow: 24 h before, at the start, and a validating health sweep at the end.
            "#);
        let emergency = window(MaintenanceKind::Emergency);
        insta::assert_snapshot!(announced(&emergency, "Emergency maintenance …", emergency.start), @r#"
            [bad] MW-3 · emergency maintenance · Upgrade PostgreSQL
            Emergency maintenance …
            Window: <time:1796436000:t> → <time:1796443200:t>
            "#);
        insta::assert_snapshot!(you_opened(&emergency, emergency.start), @r#"
            [good] MW-3 emergency: 2 h from <time:1796436000:t>
            The health sweep at its end validates it.
            "#);
        insta::assert_snapshot!(status_text(&emergency, Tone::Bad, "We are performing emergency maintenance."), @r#"
            [bad] Status page text for MW-3
            We are performing emergency maintenance.
            "#);
    }

    #[test]
    fn listing_cancelling_and_reminding() {
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 3, 0, 0).unwrap();
        insta::assert_snapshot!(windows(&[], now), @"[good] Maintenance windows: none planned");
        insta::assert_snapshot!(windows(&[window(MaintenanceKind::Scheduled)], now), @r#"
            [info] Maintenance windows: 1
            MW-3: Upgrade PostgreSQL · <time:1796436000:t> → <time:1796443200:t> · in progress
            "#);
        insta::assert_snapshot!(cancelled(&window(MaintenanceKind::Scheduled), "bob"), @r#"
            [info] MW-3 cancelled by @bob
            Upgrade PostgreSQL
            "#);
        insta::assert_snapshot!(you_cancelled(&window(MaintenanceKind::Scheduled)), @"[good] Cancelled MW-3.");
        insta::assert_snapshot!(notice(&window(MaintenanceKind::Scheduled), now, "has started", "Enable maintenance mode."), @r#"
            [info] 🛠️ MW-3 has started: Upgrade PostgreSQL
            Enable maintenance mode.
            Window: <time:1796436000:t> → <time:1796443200:t>
            "#);
    }
}
