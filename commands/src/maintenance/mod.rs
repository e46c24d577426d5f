//! `/maintenance …`: the runbook's scheduled and emergency maintenance, with its notices and the
//! health sweep that validates the end of every window.

mod posts;

use crate::actor::Actor;
use crate::context::Context;
use crate::error::CommandError;
use crate::health::sweep_post;
use crate::health::HealthChecker;
use crate::outbox::Op;
use crate::post::{ChannelName, Destination, Reply, Tone};
use crate::store::{Maintenance, MaintenanceKind};
use crate::subject::Subject;
use crate::text::{quote, span, time};
use crate::timers::{Job, Timer, TimerOutcome};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::Duration;

/// What maintenance works with: the core's context, the health checks that validate a window's
/// end, and how long before a scheduled window its notice goes out.
pub(crate) struct Ctx<'a> {
    pub ctx: &'a Context,
    pub health: &'a HealthChecker,
    pub notice_before: std::time::Duration,
}

impl std::ops::Deref for Ctx<'_> {
    type Target = Context;

    fn deref(&self) -> &Context {
        self.ctx
    }
}

/// The longest window bellhop schedules: longer is more likely a typo than a plan.
pub const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far ahead a window may start: a year, so every time bellhop computes from it is sane.
pub const FURTHEST: Duration = Duration::from_secs(366 * 24 * 3600);

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

pub(crate) async fn run(cx: &Ctx<'_>, actor: &Actor, command: MaintenanceCommand) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    match command {
        MaintenanceCommand::Schedule { start, duration, summary } => {
            let start = parse_start(&start, now)?;
            if start <= now {
                return Err(CommandError::user(format!(
                    "`start:` is in the past ({}); for maintenance starting now use /maintenance emergency.",
                    time(start, now)
                )));
            }
            open_window(cx, actor, MaintenanceKind::Scheduled, start, duration, summary).await
        }
        MaintenanceCommand::Emergency { summary, duration } => {
            open_window(cx, actor, MaintenanceKind::Emergency, now, duration, summary).await
        }
        MaintenanceCommand::List => {
            let windows = cx.store.upcoming_maintenance(now).await?;
            Ok(Reply::invoker(posts::windows(&windows, now)))
        }
        MaintenanceCommand::Cancel { id } => cancel(cx, actor, now, id).await,
    }
}

/// `2026-01-10 02:00` (UTC), an RFC 3339 time, or `in 2h`; at most a year from `now`.
fn parse_start(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    let text = text.trim();
    let too_far =
        || CommandError::user(format!("`start:` {} is more than a year away; bellhop schedules windows up to a year ahead.", quote(text)));
    if let Some(relative) = text.strip_prefix("in ").or_else(|| text.strip_prefix('+')) {
        match humantime::parse_duration(relative.trim()) {
            Ok(after) => return later(now, after).filter(|_| after <= FURTHEST).ok_or_else(too_far),
            Err(humantime::DurationError::NumberOverflow) => return Err(too_far()),
            Err(_) => {}
        }
    }
    let at = parse_absolute(text).ok_or_else(|| {
        CommandError::user(format!("`start:` {} is not a time bellhop reads; write 2026-01-10 02:00 (UTC) or in 2h.", quote(text)))
    })?;
    match later(now, FURTHEST) {
        Some(limit) if at <= limit => Ok(at),
        _ => Err(too_far()),
    }
}

fn parse_absolute(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M UTC"]
        .into_iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .map(|at| at.and_utc())
}

/// `at + by`, or `None` when that is beyond what a time can hold: input decides `by`, so it
/// must never overflow into a panic.
pub(crate) fn later(at: DateTime<Utc>, by: Duration) -> Option<DateTime<Utc>> {
    at.checked_add_signed(chrono::Duration::from_std(by).ok()?)
}

async fn open_window(
    cx: &Ctx<'_>,
    actor: &Actor,
    kind: MaintenanceKind,
    start: DateTime<Utc>,
    duration: Duration,
    summary: String,
) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    if duration > LONGEST {
        return Err(CommandError::user("`duration:` must be between 1 minute and 7 days."));
    }
    let end = later(start, duration).ok_or_else(|| CommandError::user("`start:` plus `duration:` is beyond any calendar."))?;
    let emergency = kind == MaintenanceKind::Emergency;
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
    let notice = cx.templates.render(template, &values).map_err(anyhow::Error::from)?;
    let mut tx = cx.store.begin(now).await?;
    let id = tx.insert_maintenance(kind.into(), &summary, start, end, &actor.person()).await?;
    let owner = Subject::maintenance(id);
    let window = Maintenance { id, kind, summary, start, end, created_by: actor.name.clone(), cancelled: false };
    let notice_before = chrono::Duration::from_std(cx.notice_before).map_err(anyhow::Error::from)?;
    if !emergency {
        if let Some(notice_at) = start.checked_sub_signed(notice_before).filter(|at| *at > now) {
            tx.schedule(owner, &Job::MaintenanceNotice, notice_at).await?;
        }
        tx.schedule(owner, &Job::MaintenanceStart, start).await?;
    }
    tx.schedule(owner, &Job::MaintenanceEnd, end).await?;
    tx.post(OPS, posts::announced(&window, &notice, now)).await?;
    tx.post(STATUS, posts::status_text(&window, posts::tone(kind), &notice)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_opened(&window, now)))
}

async fn cancel(cx: &Ctx<'_>, actor: &Actor, now: DateTime<Utc>, id: i64) -> Result<Reply, CommandError> {
    let Some(window) = cx.store.maintenance(id).await? else {
        return Err(CommandError::user(format!("There is no maintenance window MW-{id}; /maintenance list shows them.")));
    };
    let mut tx = cx.store.begin(now).await?;
    if !tx.cancel_maintenance(id).await? {
        return Err(CommandError::user(format!("{} has already ended or been cancelled.", window.code())));
    }
    tx.cancel_timers(Subject::maintenance(id), &[]).await?;
    tx.post(OPS, posts::cancelled(&window, &actor.name)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_cancelled(&window)))
}

pub(crate) async fn timer_posts(cx: &Ctx<'_>, timer: &Timer, id: i64, now: DateTime<Utc>) -> anyhow::Result<TimerOutcome> {
    let Some(window) = cx.store.maintenance(id).await? else { return Ok(TimerOutcome::default()) };
    if window.cancelled {
        return Ok(TimerOutcome::default());
    }
    let posts = match timer.job {
        Job::MaintenanceNotice => vec![(
            OPS,
            posts::notice(
                &window,
                now,
                "starts in 24 h",
                "Notify users, update the status page, prepare rollback scripts, verify backups.",
            ),
        )],
        Job::MaintenanceStart => {
            let values = crate::templates::values([
                ("summary", window.summary.clone()),
                ("end", window.end.format("%Y-%m-%d %H:%M UTC").to_string()),
            ]);
            let text = cx.templates.render("maintenance-started", &values)?;
            vec![
                (
                    OPS,
                    posts::notice(
                        &window,
                        now,
                        "has started",
                        "Enable maintenance mode; execute the changes with monitoring; validate each step.",
                    ),
                ),
                (STATUS, posts::status_text(&window, Tone::Info, &text)),
            ]
        }
        Job::MaintenanceEnd => {
            let sweep = cx.health.sweep().await;
            let verdict = if sweep.healthy {
                format!("all {} health checks up", sweep.targets.iter().filter(|t| t.status != crate::health::Status::Skipped).count())
            } else {
                sweep_post(&sweep).title.to_lowercase()
            };
            let values = crate::templates::values([("summary", window.summary.clone()), ("validation", verdict)]);
            let text = cx.templates.render("maintenance-completed", &values)?;
            let mut validation = sweep_post(&sweep);
            validation.title = format!("{} window over · validation: {}", window.code(), validation.title);
            validation.body = format!("{text}\n\n{}", validation.body);
            let mut posts = vec![(OPS, validation)];
            if sweep.healthy {
                posts.push((STATUS, posts::status_text(&window, Tone::Good, &text)));
            }
            posts
        }
        _ => vec![],
    };
    Ok(TimerOutcome { ops: posts.into_iter().map(|(to, post)| Op::post(to, post)).collect(), next: None })
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

    #[test]
    fn starts_beyond_a_year_or_any_calendar_are_refused_not_overflowed() {
        let now = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        for text in ["in 9999999y", "in 18446744073709551615s", "+262142-12-31 23:30", "in 367days", "2027-01-07 09:00"] {
            let error = parse_start(text, now).unwrap_err();
            assert!(matches!(error, CommandError::User(_)), "{text}: {error}");
            assert!(error.to_string().contains("more than a year away"), "{text}: {error}");
        }
        assert!(parse_start("in 365days", now).is_ok());
        assert_eq!(later(DateTime::<Utc>::MAX_UTC, Duration::from_secs(60)), None);
    }
}
