//! How a sweep reads: a post with one field per target, and the `--json` shape.

use super::{ProbeResult, Status, Sweep};
use crate::post::{Post, Tone};
use serde::Serializer;
use std::time::Duration;

pub(super) fn millis<S: Serializer>(latency: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match latency {
        Some(latency) => s.serialize_u64(latency.as_millis() as u64),
        None => s.serialize_none(),
    }
}

fn marker(status: Status) -> &'static str {
    match status {
        Status::Up => "🟢",
        Status::Slow => "🟡",
        Status::Down => "🔴",
        Status::Misconfigured => "🟠",
        Status::Skipped => "⚪",
    }
}

fn line(result: &ProbeResult) -> String {
    let latency = result.latency.map(|l| format!(" · {} ms", l.as_millis())).unwrap_or_default();
    format!("{} {}{latency} · {}", marker(result.status), result.status.as_str(), result.detail)
}

/// The `/health` reply: a summary title, then the targets that need attention first.
pub fn sweep_post(sweep: &Sweep) -> Post {
    let attention = sweep.targets.iter().filter(|t| t.status.needs_attention()).count();
    let tone = if sweep.count(Status::Down) > 0 {
        Tone::Bad
    } else if attention > 0 {
        Tone::Warning
    } else {
        Tone::Good
    };
    let title = if attention == 0 {
        "Health: all probed targets are up".to_string()
    } else {
        format!("Health: {attention} of {} targets need attention", sweep.targets.len())
    };
    let counts: Vec<String> = [Status::Up, Status::Slow, Status::Down, Status::Misconfigured, Status::Skipped]
        .into_iter()
        .filter_map(|s| match sweep.count(s) {
            0 => None,
            n => Some(format!("{n} {}", s.as_str())),
        })
        .collect();
    let mut ordered: Vec<&ProbeResult> = sweep.targets.iter().collect();
    ordered.sort_by_key(|t| !t.status.needs_attention());
    ordered.into_iter().fold(Post::new(tone, title).body(counts.join(", ")), |post, t| post.field(&t.name, line(t)))
}
