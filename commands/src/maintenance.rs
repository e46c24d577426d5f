//! `/maintenance …`: the runbook's scheduled and emergency maintenance, with its notices and the
//! health sweep that validates the end of every window.

use crate::actor::Actor;
use crate::core::Core;
use crate::error::CommandError;
use crate::health::sweep_post;
use crate::outbox::Op;
use crate::post::{ChannelName, Destination, Post, Reply, Tone};
use crate::store::Maintenance;
use crate::subject::Subject;
use crate::text::{quote, span, time};
use crate::timers::{Job, Timer, TimerOutcome};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::Duration;

/// The longest window bellhop schedules: longer is more likely a typo than a plan.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MaintenanceCommand {
    /// `start` stays text until run, because `in 2h` needs the clock.
    Schedule {
        start: String,
        duration: Duration,
        summary: String,
    },
    Emergency {
        summary: String,
        duration: Duration,
    },
    List,
    Cancel {
        id: i64,
    },
}

const OPS: Destination = Destination::Channel { channel: ChannelName::Ops };
const STATUS: Destination = Destination::Channel { channel: ChannelName::StatusUpdates };

pub(crate) async fn run(core: &Core, actor: &Actor, command: MaintenanceCommand) -> Result<Reply, CommandError> {
    let now = core.clock.now();
    match command {
        MaintenanceCommand::Schedule { start, duration, summary } => {
            let start = parse_start(&start, now)?;
            if start <= now {
                return Err(CommandError::user(format!(
                    "`start:` is in the past ({}); for maintenance starting now use /maintenance emergency.",
                    time(start, now)
                )));
            }
            open_window(core, actor, false, start, duration, summary).await
        }
        MaintenanceCommand::Emergency { summary, duration } => open_window(core, actor, true, now, duration, summary).await,
        MaintenanceCommand::List => {
            let windows = core.store.upcoming_maintenance(now).await?;
            if windows.is_empty() {
                return Ok(Reply::invoker(Post::new(Tone::Good, "Maintenance windows: none planned")));
            }
            let mut post = Post::new(Tone::Info, format!("Maintenance windows: {}", windows.len()));
            for window in &windows {
                let state = if window.start <= now { "in progress" } else { "scheduled" };
                post = post.field(
                    window.code(),
                    format!("{} · {} → {} · {state}", window.summary, time(window.start, now), time(window.end, now)),
                );
            }
            Ok(Reply::invoker(post))
        }
        MaintenanceCommand::Cancel { id } => cancel(core, actor, now, id).await,
    }
}

/// `2026-01-10 02:00` (UTC), an RFC 3339 time, or `in 2h`.
fn parse_start(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    let text = text.trim();
    if let Some(relative) = text.strip_prefix("in ").or_else(|| text.strip_prefix('+')) {
        if let Ok(after) = humantime::parse_duration(relative.trim()) {
            return Ok(now + chrono::Duration::from_std(after).map_err(anyhow::Error::from)?);
        }
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.to_utc());
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M UTC"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(at.and_utc());
        }
    }
    Err(CommandError::user(format!("`start:` {} is not a time bellhop reads; write 2026-01-10 02:00 (UTC) or in 2h.", quote(text))))
}

async fn open_window(
    core: &Core,
    actor: &Actor,
    emergency: bool,
    start: DateTime<Utc>,
    duration: Duration,
    summary: String,
) -> Result<Reply, CommandError> {
    let now = core.clock.now();
    let end = start + chrono::Duration::from_std(duration).map_err(anyhow::Error::from)?;
    let kind = if emergency { "emergency" } else { "scheduled" };
    let length = span(end - start);
    let (template, values) = if emergency {
        ("maintenance-emergency", crate::templates::values([("summary", summary.clone()), ("duration", length.clone())]))
    } else {
        let start_text = start.format("%Y-%m-%d %H:%M UTC").to_string();
        (
            "maintenance-scheduled",
            crate::templates::values([("summary", summary.clone()), ("start", start_text), ("duration", length.clone())]),
        )
    };
    let notice = core.templates.render(template, &values).map_err(anyhow::Error::from)?;
    let mut tx = core.store.begin(now).await?;
    let id = tx.insert_maintenance(kind, &summary, start, end, &actor.person()).await?;
    let owner = Subject::maintenance(id);
    let code = format!("MW-{id}");
    let notice_before = chrono::Duration::from_std(core.incidents.maintenance_notice).map_err(anyhow::Error::from)?;
    if !emergency {
        if start - now > notice_before {
            tx.schedule(owner, &Job::MaintenanceNotice, start - notice_before).await?;
        }
        tx.schedule(owner, &Job::MaintenanceStart, start).await?;
    }
    tx.schedule(owner, &Job::MaintenanceEnd, end).await?;
    let tone = if emergency { Tone::Bad } else { Tone::Info };
    let title = format!("{code} · {kind} maintenance · {summary}");
    tx.post(OPS, Post::new(tone, title.clone()).body(notice.clone()).field("Window", format!("{} → {}", time(start, now), time(end, now))))
        .await?;
    tx.post(STATUS, Post::new(tone, format!("Status page text for {code}")).body(notice)).await?;
    tx.commit().await?;
    let next = if emergency {
        "The health sweep at its end validates it."
    } else {
        "Reminders follow: 24 h before, at the start, and a validating health sweep at the end."
    };
    Ok(Reply::invoker(Post::new(Tone::Good, format!("{code} {kind}: {length} from {}", time(start, now))).body(next)))
}

async fn cancel(core: &Core, actor: &Actor, now: DateTime<Utc>, id: i64) -> Result<Reply, CommandError> {
    let Some(window) = core.store.maintenance(id).await? else {
        return Err(CommandError::user(format!("There is no maintenance window MW-{id}; /maintenance list shows them.")));
    };
    let mut tx = core.store.begin(now).await?;
    if !tx.cancel_maintenance(id).await? {
        return Err(CommandError::user(format!("{} has already ended or been cancelled.", window.code())));
    }
    tx.cancel_timers(Subject::maintenance(id), &[]).await?;
    let post = Post::new(Tone::Info, format!("{} cancelled by @{}", window.code(), actor.name)).body(window.summary.clone());
    tx.post(OPS, post).await?;
    tx.commit().await?;
    Ok(Reply::invoker(Post::new(Tone::Good, format!("Cancelled {}.", window.code()))))
}

pub(crate) async fn timer_posts(core: &Core, timer: &Timer, id: i64, now: DateTime<Utc>) -> anyhow::Result<TimerOutcome> {
    let Some(window) = core.store.maintenance(id).await? else { return Ok(TimerOutcome::default()) };
    if window.cancelled {
        return Ok(TimerOutcome::default());
    }
    let posts = match timer.job {
        Job::MaintenanceNotice => vec![(
            OPS,
            notice(&window, now, "starts in 24 h", "Notify users, update the status page, prepare rollback scripts, verify backups."),
        )],
        Job::MaintenanceStart => {
            let values = crate::templates::values([
                ("summary", window.summary.clone()),
                ("end", window.end.format("%Y-%m-%d %H:%M UTC").to_string()),
            ]);
            let text = core.templates.render("maintenance-started", &values)?;
            vec![
                (
                    OPS,
                    notice(
                        &window,
                        now,
                        "has started",
                        "Enable maintenance mode; execute the changes with monitoring; validate each step.",
                    ),
                ),
                (STATUS, Post::new(Tone::Info, format!("Status page text for {}", window.code())).body(text)),
            ]
        }
        Job::MaintenanceEnd => {
            let sweep = core.sweep().await;
            let verdict = if sweep.healthy {
                format!("all {} health checks up", sweep.targets.iter().filter(|t| t.status != crate::health::Status::Skipped).count())
            } else {
                sweep_post(&sweep).title.to_lowercase()
            };
            let values = crate::templates::values([("summary", window.summary.clone()), ("validation", verdict)]);
            let text = core.templates.render("maintenance-completed", &values)?;
            let mut validation = sweep_post(&sweep);
            validation.title = format!("{} window over · validation: {}", window.code(), validation.title);
            validation.body = format!("{text}\n\n{}", validation.body);
            let mut posts = vec![(OPS, validation)];
            if sweep.healthy {
                posts.push((STATUS, Post::new(Tone::Good, format!("Status page text for {}", window.code())).body(text)));
            }
            posts
        }
        _ => vec![],
    };
    Ok(TimerOutcome { ops: posts.into_iter().map(|(to, post)| Op::post(to, post)).collect(), next: None })
}

fn notice(window: &Maintenance, now: DateTime<Utc>, what: &str, checklist: &str) -> Post {
    Post::new(Tone::Info, format!("🛠️ {} {what}: {}", window.code(), window.summary))
        .body(checklist)
        .field("Window", format!("{} → {}", time(window.start, now), time(window.end, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_times_read_as_people_write_them() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        assert_eq!(parse_start("in 2h", now).unwrap(), now + chrono::Duration::hours(2));
        assert_eq!(parse_start("2026-01-10 02:00", now).unwrap().to_rfc3339(), "2026-01-10T02:00:00+00:00");
        assert_eq!(parse_start("2026-01-10T02:00:00+01:00", now).unwrap().to_rfc3339(), "2026-01-10T01:00:00+00:00");
        let error = parse_start("next tuesday", now).unwrap_err().to_string();
        assert_eq!(error, "`start:` `next tuesday` is not a time bellhop reads; write 2026-01-10 02:00 (UTC) or in 2h.");
    }
}
