//! `/deploy checklist`: the runbook's pre-deployment checklist as one post in the ops channel.
//! People tick items (a keycap reaction, or `/deploy check item:N`); bellhop ticks or flags the
//! four it can verify itself and says how. The post is edited as items change; the checklist is
//! ready when all six are ticked, and the audit trail keeps who ticked what and bellhop's evidence.

pub use super::model::{code, Checklist, Evidence, ItemState, Verified, BACKUP_MAX_AGE, ITEMS, KEYCAPS};
use super::{posts, Ctx};
use crate::actor::{Actor, Role};
use crate::diagnostics::auth_diagnose::{self, AnonProbe};
use crate::diagnostics::{db_health, migrations_status};
use crate::error::CommandError;
use crate::outbox::{Binding, Op, Part};
use crate::post::{ChannelName, Destination, Reply};
use crate::store::{AuditEntry, Tx};
use crate::subject::{Subject, SubjectKind};
use chrono::{DateTime, Utc};

pub fn subject(id: i64) -> Subject {
    Subject { kind: SubjectKind::Checklist, id }
}

pub fn binding(id: i64) -> Binding {
    Binding::new(subject(id), Part::Checklist)
}

/// Why a deploy should wait: an open P0 or P1, a maintenance window in progress.
pub(crate) async fn reasons_to_wait(cx: &Ctx<'_>, now: DateTime<Utc>) -> anyhow::Result<Vec<String>> {
    let mut reasons = Vec::new();
    for incident in cx.store.incidents(crate::incident::ListState::Open, 100).await? {
        if incident.severity.pages() {
            reasons.push(format!("{} ({}) is open: {}", incident.code(), incident.severity, incident.title));
        }
    }
    for window in cx.store.upcoming_maintenance(now).await?.into_iter().filter(|w| w.start <= now) {
        reasons.push(format!("{} is in progress until {}: {}", window.code(), crate::text::time(window.end, now), window.summary));
    }
    Ok(reasons)
}

/// bellhop's own checks of items 3–6, run together.
pub(crate) async fn verify(cx: &Ctx<'_>, now: DateTime<Utc>) -> [Option<Evidence>; 6] {
    let (rls, backups, rollback) = tokio::join!(rls(cx), backups(cx, now), rollback(cx));
    [None, None, Some(rls), Some(performance(cx, now)), Some(backups), Some(rollback)]
}

/// Every public table has row-level security, and anon is refused or sees no rows (`/db health`
/// and `/auth diagnose`).
pub(crate) async fn rls(cx: &Ctx<'_>) -> Evidence {
    let Some(target) = cx.target() else { return Evidence::new(Verified::Unknown, "no target database (SUPABASE_DB_URL)") };
    let health = match db_health::run(target).await {
        Ok(health) => health,
        Err(error) => return Evidence::new(Verified::Unknown, error.to_string()),
    };
    let diagnosis = match auth_diagnose::run(target).await {
        Ok(diagnosis) => diagnosis,
        Err(error) => return Evidence::new(Verified::Unknown, error.to_string()),
    };
    let leaks: Vec<String> = diagnosis
        .anon
        .iter()
        .filter_map(|(table, probe)| match probe {
            AnonProbe::RowsVisible(rows) => Some(format!("anon sees {rows} rows of {table}")),
            _ => None,
        })
        .collect();
    let failed: Vec<String> = diagnosis
        .anon
        .iter()
        .filter_map(|(table, probe)| match probe {
            AnonProbe::Failed(why) => Some(format!("the anon probe of {table} failed: {why}")),
            _ => None,
        })
        .collect();
    let anon: Vec<String> = diagnosis
        .anon
        .iter()
        .map(|(table, probe)| match probe {
            AnonProbe::Refused => format!("{table} refused"),
            AnonProbe::NoRows => format!("{table} no rows"),
            AnonProbe::Missing => format!("{table} missing"),
            AnonProbe::RowsVisible(rows) => format!("{table} {rows} rows"),
            AnonProbe::Failed(_) => format!("{table} failed"),
        })
        .collect();
    if !health.tables_without_rls.is_empty() || !leaks.is_empty() {
        let mut problems = leaks;
        if !health.tables_without_rls.is_empty() {
            problems.insert(0, format!("public tables without RLS: {}", health.tables_without_rls.join(", ")));
        }
        return Evidence::new(Verified::Flagged, problems.join("; "));
    }
    if !failed.is_empty() {
        return Evidence::new(Verified::Unknown, failed.join("; "));
    }
    Evidence::new(Verified::Ticked, format!("every public table has RLS; anon probe: {}", anon.join(", ")))
}

/// Each function's error rate and latency over the last 15 minutes, against the runbook's
/// thresholds (error rate 5 %, average latency 10 s). A function with fewer samples than the
/// alert rules judge cannot be told yet: then neither can the item, unless another is over.
pub(crate) fn performance(cx: &Ctx<'_>, now: DateTime<Utc>) -> Evidence {
    let minimum = super::figures::min_samples(cx.engine);
    let figures: Vec<(String, super::figures::Figures)> = cx
        .engine
        .functions()
        .into_iter()
        .map(|function| {
            let figures = super::figures::Figures::now(cx.engine, &function, now, 15);
            (function, figures)
        })
        .filter(|(_, figures)| figures.samples > 0)
        .collect();
    judge_performance(&figures, minimum)
}

/// The performance item's verdict on each function's figures of the last 15 minutes.
fn judge_performance(figures: &[(String, super::figures::Figures)], minimum: u64) -> Evidence {
    let (mut within, mut over, mut few) = (Vec::new(), Vec::new(), Vec::new());
    for (function, figures) in figures {
        if figures.samples < minimum {
            few.push(format!("{function} {}", figures.samples));
        } else if figures.breaches() {
            over.push(format!("{function} {}", figures.line()));
        } else {
            within.push(format!("{function} {}", figures.line()));
        }
    }
    if !over.is_empty() {
        return Evidence::new(Verified::Flagged, format!("over the runbook's thresholds in the last 15 min: {}", over.join("; ")));
    }
    if !few.is_empty() {
        let mut text = format!("too few samples to tell yet (under {minimum} in the last 15 min): {}", few.join(", "));
        if !within.is_empty() {
            text.push_str(&format!("; within thresholds: {}", within.join("; ")));
        }
        return Evidence::new(Verified::Unknown, text);
    }
    match within.is_empty() {
        true => Evidence::new(Verified::Unknown, "no samples of any function in the last 15 min"),
        false => Evidence::new(Verified::Ticked, format!("last 15 min within thresholds: {}", within.join("; "))),
    }
}

/// The newest backup's age from the Management API: flagged when older than 26 h.
pub(crate) async fn backups(cx: &Ctx<'_>, now: DateTime<Utc>) -> Evidence {
    let Some(api) = &cx.duty.api else {
        return Evidence::new(Verified::Unknown, "no Management API (SUPABASE_ACCESS_TOKEN, SUPABASE_PROJECT_REF)");
    };
    match api.backups(now).await {
        Ok(backups) => {
            let pitr = if backups.pitr_enabled { "PITR on" } else { "PITR off" };
            match backups.newest() {
                Some(at) if now - at <= BACKUP_MAX_AGE => {
                    Evidence::new(Verified::Ticked, format!("newest backup {} old ({pitr})", crate::text::span(now - at)))
                }
                Some(at) => {
                    Evidence::new(Verified::Flagged, format!("newest backup {} old, over 26 h ({pitr})", crate::text::span(now - at)))
                }
                None => Evidence::new(Verified::Flagged, format!("no completed backup ({pitr})")),
            }
        }
        Err(error) => Evidence::new(Verified::Unknown, error.to_string()),
    }
}

/// The newest applied migration has a down file in `BELLHOP_ROLLBACKS_DIR` that passes the
/// down-file checks.
pub(crate) async fn rollback(cx: &Ctx<'_>) -> Evidence {
    let Some(target) = cx.target() else { return Evidence::new(Verified::Unknown, "no target database (SUPABASE_DB_URL)") };
    let Some(dir) = cx.rollbacks_dir else { return Evidence::new(Verified::Unknown, "no rollbacks folder (BELLHOP_ROLLBACKS_DIR)") };
    let status = match migrations_status::run(target).await {
        Ok(status) => status,
        Err(error) => return Evidence::new(Verified::Unknown, error.to_string()),
    };
    let Some((version, _)) = status.latest.first() else {
        return Evidence::new(Verified::Unknown, "no migration is recorded in supabase_migrations.schema_migrations");
    };
    if !version.chars().all(|c| c.is_ascii_digit()) {
        return Evidence::new(
            Verified::Flagged,
            format!("the newest migration `{}` is not a version of digits", crate::text::ellipsize(version, 40)),
        );
    }
    let file = crate::remediation::rollback_file::read(dir, version).await.and_then(|file| {
        crate::remediation::rollback_file::check(&file)?;
        Ok(file)
    });
    match file {
        Ok(file) => Evidence::new(
            Verified::Ticked,
            format!("{} ({} bytes, SHA-256 {}…) passes the down-file checks", file.name, file.bytes, &file.sha256[..12]),
        ),
        Err(error) => Evidence::new(Verified::Flagged, error.message().to_string()),
    }
}

/// `/deploy checklist`: verifies what bellhop can, then posts the checklist in the ops channel
/// with a reaction per item, and audits bellhop's evidence.
pub(crate) async fn start(cx: &Ctx<'_>, actor: &Actor, what: String) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let waits = reasons_to_wait(cx, now).await?;
    let evidence = verify(cx, now).await;
    let mut tx = cx.store.begin(now).await?;
    let id = tx.insert_checklist(&what, &actor.person(), &evidence).await?;
    let checklist = tx.checklist(id).await?.ok_or_else(|| anyhow::anyhow!("checklist {id} vanished"))?;
    let to = Destination::Channel { channel: ChannelName::Ops };
    tx.enqueue(&Op::Post { to, post: posts::checklist(&checklist, &waits, now), bind: Some(binding(id)) }).await?;
    for emoji in KEYCAPS {
        tx.enqueue(&Op::React { on: binding(id), emoji: emoji.to_string() }).await?;
    }
    tx.audit(&audit(cx, "/deploy checklist", format!("bellhop's evidence: {}", checklist.account()))).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::checklist_started(&checklist, &waits)))
}

/// `/deploy check item:N`: ticks an item of the newest checklist.
pub(crate) async fn check(cx: &Ctx<'_>, actor: &Actor, item: usize) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    let Some(id) = cx.store.newest_checklist().await? else {
        return Err(CommandError::user("There is no checklist yet; /deploy checklist starts one."));
    };
    let waits = reasons_to_wait(cx, now).await?;
    let mut tx = cx.store.begin(now).await?;
    let Some(said) = tick(cx, &mut tx, id, item, actor, &waits).await? else {
        return Err(CommandError::user(refusal(&mut tx, id, item).await?));
    };
    tx.commit().await?;
    Ok(Reply::invoker(posts::you_ticked(id, item, &said)))
}

/// Why a tick did not change anything, in a sentence.
async fn refusal(tx: &mut Tx<'_>, id: i64, item: usize) -> anyhow::Result<String> {
    let Some(checklist) = tx.checklist(id).await? else { return Ok(format!("There is no checklist {}.", code(id))) };
    if checklist.ready.is_some() {
        return Ok(format!("{} is ready already; /deploy checklist starts a new one.", code(id)));
    }
    Ok(match checklist.items.get(item - 1).and_then(|i| i.ticked.clone()) {
        Some((person, _)) => format!("Item {item} of {} is ticked already, by @{}.", code(id), person.name),
        None => format!("Item {item} of {} cannot be ticked now.", code(id)),
    })
}

/// Ticks `item` for `actor` in `tx`: the edit of the post, the audit entry, and when all six are
/// ticked, the ready notice. None when nothing changed (ticked already, or the list is ready).
async fn tick(cx: &Ctx<'_>, tx: &mut Tx<'_>, id: i64, item: usize, actor: &Actor, waits: &[String]) -> anyhow::Result<Option<String>> {
    let Some(before) = tx.checklist(id).await? else { return Ok(None) };
    if before.ready.is_some() || !tx.tick_item(id, item, &actor.person()).await? {
        return Ok(None);
    }
    let said = format!("{} item {item} ({}) ticked by @{}", code(id), ITEMS[item - 1], actor.name);
    tx.audit(&audit(cx, "/deploy check", said.clone())).await?;
    changed(cx, tx, id, waits).await?;
    Ok(Some(said))
}

/// After a change: the post edited, and the ready notice and audit once all six are ticked.
async fn changed(cx: &Ctx<'_>, tx: &mut Tx<'_>, id: i64, waits: &[String]) -> anyhow::Result<()> {
    let now = tx.now();
    let Some(mut checklist) = tx.checklist(id).await? else { return Ok(()) };
    if checklist.all_done() && tx.mark_checklist_ready(id).await? {
        checklist.ready = Some(now);
        tx.audit(&audit(cx, "/deploy checklist", format!("ready: {}", checklist.account()))).await?;
        tx.post(Destination::Channel { channel: ChannelName::Ops }, posts::checklist_ready(&checklist, waits)).await?;
    }
    tx.enqueue(&Op::Edit { of: binding(id), post: posts::checklist(&checklist, waits, now) }).await?;
    Ok(())
}

/// A keycap on a checklist's post ticks (or, taken back, unticks) that item for a responder.
/// Returns what the audit should say, when it changed something.
pub(crate) async fn on_reaction(
    cx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    id: i64,
    actor: &Actor,
    emoji: &str,
    added: bool,
    waits: &[String],
) -> anyhow::Result<Option<String>> {
    let Some(item) = KEYCAPS.iter().position(|k| *k == emoji).map(|i| i + 1) else { return Ok(None) };
    if !actor.has(Role::Responder) {
        return Ok(Some(format!("{} item {item}: not counted, @{} is not a responder", code(id), actor.name)));
    }
    if added {
        return tick(cx, tx, id, item, actor, waits).await;
    }
    let Some(checklist) = tx.checklist(id).await? else { return Ok(None) };
    if checklist.ready.is_some() || !tx.untick_item(id, item, &actor.person()).await? {
        return Ok(None);
    }
    let said = format!("{} item {item} ({}) unticked by @{}", code(id), ITEMS[item - 1], actor.name);
    tx.audit(&audit(cx, "/deploy check", said.clone())).await?;
    changed(cx, tx, id, waits).await?;
    Ok(Some(said))
}

fn audit(cx: &Ctx<'_>, command: &str, outcome: String) -> AuditEntry {
    AuditEntry {
        at: cx.clock.now(),
        actor_id: "system:checklist".into(),
        actor_name: cx.audit_name("bellhop (checklist)"),
        command: command.into(),
        outcome: crate::text::ellipsize(&outcome, 4000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::figures::Figures;

    fn function(name: &str, samples: u64, failures: u64) -> (String, Figures) {
        (name.to_string(), Figures { samples, failures, latency_sum_ms: 120 * samples })
    }

    #[test]
    fn performance_cannot_tell_from_fewer_samples_than_the_alert_rules_judge() {
        let few = judge_performance(&[function("invite-user", 3, 1)], 20);
        assert_eq!(few, Evidence::new(Verified::Unknown, "too few samples to tell yet (under 20 in the last 15 min): invite-user 3"));
        let mixed = judge_performance(&[function("invite-user", 3, 1), function("trial-signup", 100, 1)], 20);
        assert_eq!(
            mixed.text,
            "too few samples to tell yet (under 20 in the last 15 min): invite-user 3; within thresholds: trial-signup error rate 1% of 100, 120 ms"
        );
        assert_eq!(mixed.verified, Verified::Unknown);
        let over = judge_performance(&[function("invite-user", 3, 1), function("trial-signup", 20, 10)], 20);
        assert_eq!(
            over,
            Evidence::new(Verified::Flagged, "over the runbook's thresholds in the last 15 min: trial-signup error rate 50% of 20, 120 ms")
        );
        let enough = judge_performance(&[function("invite-user", 20, 1)], 20);
        assert_eq!(enough, Evidence::new(Verified::Ticked, "last 15 min within thresholds: invite-user error rate 5% of 20, 120 ms"));
    }

    #[test]
    fn the_minimum_is_the_configured_error_rate_rules() {
        let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::ManualClock::new(DateTime::UNIX_EPOCH));
        let runbook = crate::alerts::AlertEngine::new(crate::alerts::AlertSettings::default(), clock.clone());
        assert_eq!(crate::deploy::figures::min_samples(&runbook), 20);
        let mut settings = crate::alerts::AlertSettings::default();
        settings.rules.iter_mut().for_each(|r| r.min_samples = 10);
        assert_eq!(crate::deploy::figures::min_samples(&crate::alerts::AlertEngine::new(settings, clock)), 10);
    }
}
