//! `/deploy done` and `/deploy validate`: a deploy marked with every function's figures before
//! it, then a fresh sweep and each function's error rate and latency since, against the same
//! span before — better, same or worse — with the runbook's rollback paths when it is worse
//! beyond its thresholds. Without a mark, each function's last deploy seen in the Management API
//! is the baseline.

use super::figures::{self, Before, Figures, Verdict};
use super::posts::{self, Compared};
use super::Ctx;
use crate::actor::Actor;
use crate::error::CommandError;
use crate::health::{Status, Sweep};
use crate::post::Reply;
use chrono::{DateTime, Duration, Utc};

/// A deploy older than this is no baseline for a validation.
const BASELINE_WITHIN: Duration = Duration::hours(24);

pub(super) async fn mark(cx: &Ctx<'_>, actor: &Actor, what: String) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let functions = cx.engine.functions();
    let before = figures::snapshot(cx.engine, &functions, now);
    let mut tx = cx.store.begin(now).await?;
    tx.insert_mark(&what, &actor.person(), &serde_json::to_string(&before).map_err(anyhow::Error::from)?).await?;
    tx.commit().await?;
    Ok(Reply::channel(posts::marked(&what, &actor.name, functions.len())))
}

/// One function's baseline: since when, and its counts in the minutes before.
struct Baseline {
    function: String,
    at: DateTime<Utc>,
    counts: Vec<crate::alerts::Counts>,
}

pub(super) async fn validate(cx: &Ctx<'_>, minutes: usize) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let (label, baselines) = baselines(cx, now).await?;
    let sweep = cx.health.sweep().await;
    let elapsed = baselines.iter().map(|b| (now - b.at).num_minutes()).min().unwrap_or(0);
    let minutes = minutes.min(usize::try_from(elapsed).unwrap_or(0)).clamp(1, figures::MINUTES);
    let compared: Vec<Compared> = baselines
        .iter()
        .map(|b| {
            let before = Figures::of_minutes(&b.counts, minutes);
            let after = Figures::now(cx.engine, &b.function, now, minutes);
            Compared { function: b.function.clone(), verdict: figures::compare(&before, &after), before, after }
        })
        .collect();
    let worse: Vec<&str> =
        compared.iter().filter(|c| c.verdict == Verdict::Worse && c.after.breaches()).map(|c| c.function.as_str()).collect();
    let rollback = if worse.is_empty() { Vec::new() } else { rollback_paths(cx, &worse).await };
    Ok(Reply::channel(posts::validation(&label, minutes, &sweep_line(&sweep), &compared, &rollback)))
}

/// The newest deploy marked in the last 24 h, else each function's last deploy in that time.
async fn baselines(cx: &Ctx<'_>, now: DateTime<Utc>) -> Result<(String, Vec<Baseline>), CommandError> {
    let since = now - BASELINE_WITHIN;
    if let Some(mark) = cx.store.latest_mark(since).await? {
        let before: Before = serde_json::from_str(&mark.figures_before).map_err(anyhow::Error::from)?;
        let label = format!("{} (marked by @{} {})", mark.what, mark.by.name, posts::ago(mark.at, now));
        let baselines = before.into_iter().map(|(function, counts)| Baseline { function, at: mark.at, counts }).collect();
        return Ok((label, baselines));
    }
    let deploys = cx.store.deploys_since(since).await?;
    if deploys.is_empty() {
        return Err(CommandError::user(
            "There is no deploy to compare with: mark one with /deploy done (bellhop also sees function deploys in the last 24 h through the Management API).",
        ));
    }
    let names: Vec<String> = deploys.iter().map(|d| format!("{} {}", d.name(), posts::ago(d.deployed, now))).collect();
    let mut baselines = Vec::new();
    for deploy in deploys {
        let mut before: Before = serde_json::from_str(&deploy.figures_before).map_err(anyhow::Error::from)?;
        let counts = before.remove(&deploy.function).unwrap_or_default();
        baselines.push(Baseline { function: deploy.function, at: deploy.seen, counts });
    }
    Ok((format!("deploys seen in the last 24 h: {}", names.join(", ")), baselines))
}

/// "9 up; down: invite-user".
fn sweep_line(sweep: &Sweep) -> String {
    let up = sweep.count(Status::Up) + sweep.count(Status::Slow);
    let mut parts = vec![format!("{up} up")];
    for (status, word) in [(Status::Down, "down"), (Status::Misconfigured, "misconfigured")] {
        let names: Vec<&str> = sweep.targets.iter().filter(|t| t.status == status).map(|t| t.name.as_str()).collect();
        if !names.is_empty() {
            parts.push(format!("{word}: {}", names.join(", ")));
        }
    }
    parts.join("; ")
}

/// The runbook's rollback paths as next commands: the feature flags still on, the newest
/// migration, and redeploying the function (which bellhop does not do).
async fn rollback_paths(cx: &Ctx<'_>, worse: &[&str]) -> Vec<String> {
    let mut paths = Vec::new();
    let (flags, newest) = match cx.target() {
        Some(target) => {
            let flags = crate::diagnostics::flags_list::run(target).await.ok();
            let newest =
                crate::diagnostics::migrations_status::run(target).await.ok().and_then(|s| s.latest.first().map(|(v, _)| v.clone()));
            (flags, newest)
        }
        None => (None, None),
    };
    let on: Vec<String> = flags.unwrap_or_default().into_iter().filter(|f| f.enabled).map(|f| f.name).collect();
    let names = if on.is_empty() { "…".to_string() } else { on.join(",") };
    paths.push(format!("Feature flag rollback: /flags disable names:{names} reason:\"post-deploy validation\""));
    paths.push(format!("Migration rollback: /migrations rollback version:{}", newest.unwrap_or_else(|| "…".into())));
    paths.push(format!("Edge function rollback: redeploy the previous version of {} with the Supabase CLI", worse.join(", ")));
    paths
}
