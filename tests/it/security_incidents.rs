//! The runbook's *Security Incident Response*: a security incident's data breach clock, and the
//! evidence file `/incident evidence` preserves — its audit rows capped at the newest, the plans
//! run during the incident in it.

use crate::deploys::{alice, clock, core, field, posts_titled, run, tick};
use bellhop_commands::incident::TimelineKind;
use bellhop_commands::store::{AuditEntry, NewPlan, Store};
use bellhop_commands::{Clock, Invocation};
use bellhop_tests::{on_both_stores, CollectingPort};
use chrono::Duration;
use serde_json::json;
use std::sync::Arc;

/// `kind:security` runs the data breach response: the security team paged (here, said not to be:
/// no role is configured), /rls lockdown offered for data exposure, a nudge per phase at 0, 1, 24 and 72 h; `/incident evidence` attaches one
/// file whose SHA-256 is on the timeline.
#[tokio::test]
async fn a_security_incident_runs_the_data_breach_clock_and_preserves_its_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let clock = clock();
    let core = core(&url, clock.clone(), None, None).await;
    let port = Arc::new(CollectingPort::default());
    let declared = Invocation::new("incident declare")
        .option("severity", "P0")
        .option("kind", "security")
        .option("title", "Guest data exposed")
        .option("impact", "Anon could read bookings");
    run(&core, &alice(), declared).await;
    tick(&core, &port).await;
    let kickoff = posts_titled(&port, "🔐 INC-1 · P0 · Guest data exposed · security").pop().expect("the kickoff");
    assert_eq!(
        field(&kickoff, "Security team"),
        "not paged: no security role is configured (DISCORD_SECURITY_ROLE, or SLACK_PAGE_SECURITY in Slack) — tell the security team yourself"
    );
    assert!(!kickoff.pings.iter().any(|p| p.label() == "@security"), "a name alone pings nobody: {:?}", kickoff.pings);
    assert!(field(&kickoff, "Data exposure").starts_with("/rls lockdown revokes anon's access"));
    let thread = "thread-inc-1";
    assert_eq!(port.titles_in(thread), ["⏱ INC-1 · under a minute in: Immediate actions (0–1 h)"]);
    clock.advance(Duration::minutes(61));
    tick(&core, &port).await;
    clock.advance(Duration::hours(23));
    tick(&core, &port).await;
    clock.advance(Duration::hours(48));
    tick(&core, &port).await;
    let phases: Vec<String> = port.titles_in(thread).into_iter().filter(|t| t.starts_with("⏱")).collect();
    assert_eq!(
        phases,
        [
            "⏱ INC-1 · under a minute in: Immediate actions (0–1 h)",
            "⏱ INC-1 · 1 h in: Investigation (1–24 h)",
            "⏱ INC-1 · 1 day in: Recovery (24–72 h)",
            "⏱ INC-1 · 3 days in: the recovery window has closed"
        ],
        "no P0 phase of the service clock"
    );
    let answer = run(&core, &alice(), Invocation::new("incident evidence").option("id", "INC-1")).await;
    tick(&core, &port).await;
    let evidence = posts_titled(&port, "🗄 Evidence preserved for INC-1").pop().expect("the evidence post");
    let file = &evidence.attachments[0];
    assert!(file.filename.starts_with("INC-1-evidence-") && file.filename.ends_with(".json"), "{}", file.filename);
    use sha2::Digest as _;
    let sha256 = hex::encode(sha2::Sha256::digest(&file.bytes));
    assert_eq!(field(&evidence, "SHA-256"), sha256);
    assert!(answer.body.contains(&sha256));
    let json: serde_json::Value = serde_json::from_slice(&file.bytes).unwrap();
    assert_eq!(json["incident"]["kind"], "security");
    assert!(json["timeline"].as_array().unwrap().iter().any(|e| e["text"] == "P0 security incident Guest data exposed (commander @alice)"));
    assert!(json["audit"].as_array().unwrap().iter().any(|e| e["command"] == "/incident declare"));
    let timeline = core.store().timeline(1).await.unwrap();
    let preserved = timeline.iter().find(|e| e.kind == TimelineKind::Evidence).expect("on the timeline");
    assert_eq!(preserved.text, format!("evidence preserved: {}, SHA-256 {sha256}", file.filename));
}

/// A plan with the given life: asked for at `created`, run and finished at `ran` when given.
async fn plan(store: &Store, action: &str, created: chrono::DateTime<chrono::Utc>, ran: Option<chrono::DateTime<chrono::Utc>>) -> i64 {
    let requester = alice().person();
    let mut tx = store.begin(created).await.unwrap();
    let new = NewPlan {
        action,
        params: "{}",
        preview: "preview",
        requester: &requester,
        created,
        expires: created + Duration::hours(1),
        hash: "h",
        incident: None,
    };
    let id = tx.insert_plan(&new).await.unwrap();
    tx.commit().await.unwrap();
    if let Some(at) = ran {
        let mut tx = store.begin(at).await.unwrap();
        assert!(tx.claim_plan(id, at, at + Duration::minutes(5)).await.unwrap());
        assert!(tx.finish_plan(id, "done", "ran", at).await.unwrap());
        tx.commit().await.unwrap();
    }
    id
}

/// The evidence file keeps the newest audit rows when the window holds more than it takes, and
/// says how many older ones are left out; a plan asked for before the incident but run during it
/// is in the file, one finished before it is not.
async fn evidence_keeps_the_newest_audit_rows_and_the_plans_run_during_the_incident(url: &str) {
    let clock = clock();
    let core = core(url, clock.clone(), None, None).await;
    let port = Arc::new(CollectingPort::default());
    let store = core.store();
    plan(store, "flags disable", clock.now(), Some(clock.now() + Duration::minutes(1))).await;
    let waiting = plan(store, "rls lockdown", clock.now() + Duration::minutes(2), None).await;
    clock.advance(Duration::minutes(5));
    let declared = Invocation::new("incident declare").option("severity", "P1").option("title", "Guest data exposed");
    run(&core, &alice(), declared).await;
    let declared_at = clock.now();
    clock.advance(Duration::minutes(1));
    {
        let mut tx = store.begin(clock.now()).await.unwrap();
        assert!(tx.claim_plan(waiting, clock.now(), clock.now() + Duration::minutes(5)).await.unwrap());
        assert!(tx.finish_plan(waiting, "done", "anon revoked", clock.now()).await.unwrap());
        tx.commit().await.unwrap();
    }
    let before = store.recent_audit(100).await.unwrap().iter().filter(|e| e.at >= declared_at).count();
    let mut tx = store.begin(clock.now()).await.unwrap();
    for n in 0..10_005 {
        let entry = AuditEntry {
            at: clock.now(),
            actor_id: "shell:bob".into(),
            actor_name: "bob".into(),
            command: "/audit test".into(),
            outcome: format!("row {n}"),
        };
        tx.audit(&entry).await.unwrap();
    }
    tx.commit().await.unwrap();
    clock.advance(Duration::minutes(1));
    run(&core, &alice(), Invocation::new("incident evidence").option("id", "INC-1")).await;
    tick(&core, &port).await;
    let evidence = posts_titled(&port, "🗄 Evidence preserved for INC-1").pop().expect("the evidence post");
    let left_out = before + 5;
    assert_eq!(
        evidence.body,
        format!(
            "The timeline (1 entry), the audit trail of its window (the newest 10000 rows; {left_out} older rows are left out of the file \
             and stay in the audit table) and the plans run or decided during it (1), as one file."
        )
    );
    let json: serde_json::Value = serde_json::from_slice(&evidence.attachments[0].bytes).unwrap();
    assert_eq!(json["audit_left_out"]["rows"], left_out);
    let audit = json["audit"].as_array().unwrap();
    assert_eq!((audit.len(), &audit[0]["outcome"], &audit[9_999]["outcome"]), (10_000, &json!("row 5"), &json!("row 10004")));
    let plans: Vec<&serde_json::Value> = json["plans"].as_array().unwrap().iter().map(|p| &p["action"]).collect();
    assert_eq!(plans, [&json!("rls lockdown")], "asked for before, run during; the one finished before is not");
}
on_both_stores!(evidence_keeps_the_newest_audit_rows_and_the_plans_run_during_the_incident);
