//! `/deploy done` and `/deploy validate`: a deploy marked with every function's figures before
//! it, then a fresh sweep and each function's error rate and latency since, against the same
//! span before — better, same or worse — with the runbook's rollback paths when it is worse
//! beyond its thresholds. Without a mark, each function's last deploy seen in the Management API
//! is the baseline.

use super::figures::{self, Before, Figures};
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
    counts: Vec<crate::alerts::Counts>,
}

/// What a validation compares with: the deploy (or deploys) as named in the post, the newest of
/// their times, and each function's counts before it.
struct Baselines {
    label: String,
    newest: DateTime<Utc>,
    functions: Vec<Baseline>,
}

pub(super) async fn validate(cx: &Ctx<'_>, minutes: usize) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let Baselines { label, newest, functions } = baselines(cx, now).await?;
    // The minutes after the deploy never reach back before it: under a minute, there are none.
    let elapsed = now - newest;
    if elapsed < Duration::minutes(1) {
        return Ok(Reply::invoker(posts::too_early(&label, Duration::minutes(1) - elapsed)));
    }
    let sweep = cx.health.sweep().await;
    let minutes = minutes.min(usize::try_from(elapsed.num_minutes()).unwrap_or(0)).clamp(1, figures::MINUTES);
    let compared: Vec<Compared> = functions
        .iter()
        .map(|b| {
            let before = Figures::of_minutes(&b.counts, minutes);
            let after = Figures::now(cx.engine, &b.function, now, minutes);
            Compared { function: b.function.clone(), verdict: figures::compare(&before, &after), before, after }
        })
        .collect();
    let worse: Vec<&str> = compared.iter().filter(|c| c.beyond_thresholds()).map(|c| c.function.as_str()).collect();
    let rollback = if worse.is_empty() { Vec::new() } else { rollback_paths(cx, &worse).await };
    Ok(Reply::channel(posts::validation(&label, minutes, &sweep_line(&sweep), &compared, &rollback)))
}

/// The newest deploy marked in the last 24 h, else each function's last deploy in that time.
/// A mark names every function with samples now, those without any before it included: they
/// cannot be compared, but their figures since are shown.
async fn baselines(cx: &Ctx<'_>, now: DateTime<Utc>) -> Result<Baselines, CommandError> {
    let since = now - BASELINE_WITHIN;
    if let Some(mark) = cx.store.latest_mark(since).await? {
        let mut before: Before = serde_json::from_str(&mark.figures_before).map_err(anyhow::Error::from)?;
        for function in cx.engine.functions() {
            before.entry(function).or_default();
        }
        let label = format!("{} (marked by @{} {})", mark.what, mark.by.name, posts::ago(mark.at, now));
        let functions = before.into_iter().map(|(function, counts)| Baseline { function, counts }).collect();
        return Ok(Baselines { label, newest: mark.at, functions });
    }
    let deploys = cx.store.deploys_since(since).await?;
    let Some(newest) = deploys.iter().map(|d| d.seen).max() else {
        return Err(CommandError::user(
            "There is no deploy to compare with: mark one with /deploy done (bellhop also sees function deploys in the last 24 h through the Management API).",
        ));
    };
    let names: Vec<String> = deploys.iter().map(|d| format!("{} {}", d.name(), posts::ago(d.deployed, now))).collect();
    let mut functions = Vec::new();
    for deploy in deploys {
        let mut before: Before = serde_json::from_str(&deploy.figures_before).map_err(anyhow::Error::from)?;
        let counts = before.remove(&deploy.function).unwrap_or_default();
        functions.push(Baseline { function: deploy.function, counts });
    }
    Ok(Baselines { label: format!("deploys seen in the last 24 h: {}", names.join(", ")), newest, functions })
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
