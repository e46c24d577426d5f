//! `/audit recent [limit:…]`: the newest entries of the append-only audit trail — every command,
//! every reaction counted or refused, every plan's request, votes and outcome.

use super::{Args, Command};
use crate::context::Context;
use crate::error::{CommandError, UserError};
use crate::post::{Post, Reply, Tone};
use crate::store::AuditEntry;
use crate::text::{ellipsize, time};

pub(super) fn parse(args: &Args) -> Result<Command, UserError> {
    Ok(Command::AuditRecent { limit: args.number("limit").unwrap_or(15) })
}

pub(crate) async fn run(cx: &Context, limit: i64) -> Result<Reply, CommandError> {
    let entries = cx.store().recent_audit(limit).await?;
    Ok(Reply::invoker(post(&entries, cx.clock().now())))
}

/// Newest first: when, who (by name, with their id), what, and how it ended.
pub fn post(entries: &[AuditEntry], now: chrono::DateTime<chrono::Utc>) -> Post {
    if entries.is_empty() {
        return Post::new(Tone::Info, "Audit: nothing recorded yet");
    }
    entries.iter().fold(Post::new(Tone::Info, format!("Audit: the newest {}", entries.len())), |post, entry| {
        post.field(
            format!("{} · @{} · {}", time(entry.at, now), entry.actor_name, ellipsize(&entry.command, 60)),
            format!("{} ({})", ellipsize(&entry.outcome, 200), entry.actor_id),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_read_newest_first_with_who_by_name_and_id() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-05T09:30:00Z").unwrap().to_utc();
        let entry = AuditEntry {
            at: now - chrono::Duration::minutes(5),
            actor_id: "discord:55".into(),
            actor_name: "bob".into(),
            command: "/plan PLAN-1".into(),
            outcome: "✅ given, counted".into(),
        };
        let post = post(&[entry], now);
        assert_eq!(post.title, "Audit: the newest 1");
        assert_eq!(crate::text::plain(&post.fields[0].name), "09:25 UTC · @bob · /plan PLAN-1");
        assert_eq!(post.fields[0].value, "✅ given, counted (discord:55)");
        assert_eq!(super::post(&[], now).title, "Audit: nothing recorded yet");
    }
}
