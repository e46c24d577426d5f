//! `/incident evidence`: the runbook's "preserve evidence/logs" as one file — the incident, its
//! timeline, the audit trail of its window (the newest rows, when there are too many, saying how
//! many older ones are left out) and the plans alive during it — posted in its thread, with the
//! file's SHA-256 on the timeline so a copy can be checked against it later.

use super::{posts, Ctx, Incident, TimelineKind};
use crate::actor::Actor;
use crate::error::CommandError;
use crate::post::{Destination, Reply};
use chrono::{DateTime, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Audit rows in one evidence file, at most.
const MAX_AUDIT: i64 = 10_000;

pub(super) async fn attach(cx: &Ctx<'_>, actor: &Actor, now: DateTime<Utc>, incident: Incident) -> Result<Reply, CommandError> {
    let until = incident.resolved.unwrap_or(now);
    let timeline = cx.store.timeline(incident.id).await?;
    let audit = cx.store.audit_between(incident.declared, until, MAX_AUDIT).await?;
    // The newest rows are kept; how many older ones are not is said, in the file and the post.
    let left_out = usize::try_from(cx.store.count_audit_between(incident.declared, until).await?).unwrap_or(0).saturating_sub(audit.len());
    let plans = cx.store.plans_between(incident.declared, until).await?;
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let file = json!({
        "incident": {
            "id": incident.code(), "kind": incident.kind.as_str(), "severity": incident.severity.as_str(), "title": incident.title,
            "impact": incident.impact, "commander": incident.commander.id, "declared_by": incident.declared_by.id,
            "declared": at(incident.declared), "resolved": incident.resolved.map(at), "root_cause": incident.root_cause,
        },
        "window": {"from": at(incident.declared), "to": at(until)},
        "collected": {"at": at(now), "by": actor.id},
        "timeline": timeline.iter().map(|e| json!({"at": at(e.at), "actor": e.actor.id, "kind": e.kind.as_str(), "text": e.text})).collect::<Vec<_>>(),
        "audit_left_out": (left_out > 0).then(|| json!({
            "rows": left_out,
            "why": format!("the file keeps the newest {MAX_AUDIT} audit rows of the window; the older ones are in the audit table"),
        })),
        "audit": audit.iter().map(|e| json!({"at": at(e.at), "actor": e.actor_id, "name": e.actor_name, "command": e.command, "outcome": e.outcome})).collect::<Vec<_>>(),
        "plans": plans.iter().map(|p| json!({
            "plan": format!("PLAN-{}", p.id), "action": p.action, "params": p.params, "preview": p.preview,
            "requester": p.requester.id, "created": at(p.created), "started": p.started.map(at), "finished": p.finished.map(at),
            "state": p.state, "outcome": p.outcome, "hash": p.hash,
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec_pretty(&file).map_err(anyhow::Error::from)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let name = format!("{}-evidence-{}.json", incident.code(), now.format("%Y%m%dT%H%M%SZ"));
    let counts = posts::EvidenceCounts { timeline: timeline.len(), audit: audit.len(), audit_left_out: left_out, plans: plans.len() };
    let mut tx = cx.store.begin(now).await?;
    tx.timeline(incident.id, &actor.person(), TimelineKind::Evidence, &format!("evidence preserved: {name}, SHA-256 {sha256}")).await?;
    tx.post(Destination::Place { subject: incident.subject() }, posts::evidence(&incident, &name, bytes, &sha256, counts)).await?;
    tx.commit().await?;
    Ok(Reply::invoker(posts::evidence_attached(&incident, &name, &sha256)))
}
