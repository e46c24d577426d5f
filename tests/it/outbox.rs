//! The outbox and the timers are isolated: one operation or timer that fails never holds back
//! another, order holds within a lane, and a claim left by a vanished bellhop runs out.
//! Each contract runs on SQLite and on PostgreSQL.

use bellhop_commands::{Actor, Clock, Core, Invocation, ManualClock, Role};
use bellhop_tests::{core_on, metric, on_both_stores, CollectingPort};
use chrono::Duration;
use std::sync::Arc;

fn alice() -> Actor {
    Actor::new("shell:alice", "alice", [Role::Responder])
}

fn admin() -> Actor {
    Actor::new("shell:ada", "ada", [Role::Admin])
}

fn declare(severity: &str, title: &str) -> Invocation {
    Invocation::new("incident declare").option("severity", severity).option("title", title)
}

fn resolve(id: &str) -> Invocation {
    Invocation::new("incident resolve").option("id", id).option("root_cause", "a bad deploy")
}

async fn core(url: &str) -> (Arc<Core>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    (core_on(url, clock.clone()).await, clock)
}

on_both_stores!(a_dead_status_channel_holds_back_nothing);
/// The status channel is deleted: its post dies at once, with one notice to the ops channel,
/// and the incident's thread and the next incident go on as if nothing happened.
async fn a_dead_status_channel_holds_back_nothing(url: &str) {
    let (core, _clock) = core(url).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    let dead_before = metric("bellhop_outbox_dead_total");
    port.kill("#status-updates");
    core.handle(&alice(), &declare("P2", "Reports slow")).await;
    core.handle(&alice(), &resolve("INC-1")).await;
    core.handle(&alice(), &declare("P1", "Invites failing")).await;
    core.deliver_outbox(&port).await.unwrap();
    let titles = port.titles();
    assert!(titles.iter().any(|t| t.starts_with("✅ INC-1 resolved")), "the resolve summary reached the thread: {titles:?}");
    assert!(titles.iter().any(|t| t.starts_with("🚨 INC-2 · P1")), "the next kickoff went out: {titles:?}");
    let notices: Vec<&String> = titles.iter().filter(|t| t.starts_with("📭")).collect();
    assert_eq!(notices, ["📭 bellhop could not deliver the post “Status page text for INC-1 (resolved)”"]);
    assert_eq!(core.store().pending_ops().await.unwrap(), 0, "nothing waits for the dead channel");
    assert!(metric("bellhop_outbox_dead_total") > dead_before, "/metrics counts the operation given up");
    let listed = core.handle(&admin(), &Invocation::new("outbox list")).await.post;
    assert_eq!(listed.title, "Outbox: 0 waiting, 1 given up");
    assert!(listed.fields[0].value.contains("Unknown Channel #status-updates"), "{:?}", listed.fields);
}

on_both_stores!(a_flaky_channel_waits_alone_and_is_given_up_then_retried);
/// A channel that keeps timing out holds back only its own lane, and is given up after its
/// retries with one notice; an admin sends it again once the channel is back.
async fn a_flaky_channel_waits_alone_and_is_given_up_then_retried(url: &str) {
    let (core, clock) = core(url).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    port.flaky.lock().unwrap().insert("#status-updates".into());
    core.handle(&alice(), &declare("P2", "Reports slow")).await;
    core.handle(&alice(), &Invocation::new("incident status-post").option("id", "INC-1")).await;
    core.handle(&alice(), &Invocation::new("incident update").option("id", "INC-1").option("text", "looking")).await;
    core.handle(&alice(), &resolve("INC-1")).await;
    core.deliver_outbox(&port).await.unwrap();
    assert_eq!(port.titles_in("#status-updates"), Vec::<String>::new());
    assert!(port.titles().iter().any(|t| t.starts_with("✅ INC-1 resolved")), "the incident's own lane went on");
    // Two posts wait in the status lane, in order; the first is retried with backoff.
    let mut attempts = 0;
    while core.store().outbox_entries(10).await.unwrap().iter().all(|e| e.dead.is_none()) {
        clock.advance(Duration::minutes(5));
        core.deliver_outbox(&port).await.unwrap();
        attempts += 1;
        assert!(attempts < 40, "never given up");
    }
    let entries = core.store().outbox_entries(10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0].dead.is_some() && entries[0].attempts == 19, "{entries:?}");
    assert!(entries[1].dead.is_none(), "the next in its lane gets its own chances: {entries:?}");
    let notices = port.titles().into_iter().filter(|t| t.starts_with("📭")).count();
    assert_eq!(notices, 1, "one notice for the dead post");

    port.flaky.lock().unwrap().clear();
    let id = entries[0].id.to_string();
    let retried = core.handle(&admin(), &Invocation::new("outbox retry").option("id", &id)).await.post;
    assert_eq!(retried.title, format!("Outbox {id} goes again now."));
    clock.advance(Duration::minutes(5));
    core.deliver_outbox(&port).await.unwrap();
    assert_eq!(
        port.titles_in("#status-updates"),
        ["Status page text for INC-1", "Status page text for INC-1 (resolved)"],
        "in the order they were made"
    );
    let refused = core.handle(&alice(), &Invocation::new("outbox drop").option("id", &id)).await.post;
    assert_eq!(refused.body, "`/outbox drop` is for an admin; ask an admin for the role.");
}

on_both_stores!(an_abandoned_claim_runs_out);
/// A claim left by a bellhop that died mid-delivery runs out after its lease, then the
/// operation goes, once.
async fn an_abandoned_claim_runs_out(url: &str) {
    let (core, clock) = core(url).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    core.handle(&alice(), &declare("P3", "Logo blurry")).await;
    let first = core.store().outbox_entries(1).await.unwrap()[0].id;
    assert!(core.store().claim_op(first, clock.now()).await.unwrap(), "a replica claims it, then vanishes");
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 0, "claimed: nobody else touches it");
    clock.advance(Duration::seconds(61));
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 2, "the kickoff, then its thread");
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 0);
}

on_both_stores!(a_poisoned_timer_does_not_stop_the_next_escalation);
/// An incident whose stored row no longer reads poisons its timers: they fail and are given up
/// on their own, while another incident's escalation fires on time.
async fn a_poisoned_timer_does_not_stop_the_next_escalation(url: &str) {
    sqlx::any::install_default_drivers();
    let (core, clock) = core(url).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    core.handle(&alice(), &declare("P1", "Invites failing")).await;
    core.handle(&alice(), &declare("P1", "Checkout slow")).await;
    let raw = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE incidents SET severity = 'P9' WHERE id = 1").execute(&raw).await.unwrap();
    sqlx::query("INSERT INTO timers (owner, kind, job, due_ms) VALUES ('incident:2', 'phase', '{\"job\":\"unheard_of\"}', 0)")
        .execute(&raw)
        .await
        .unwrap();
    clock.advance(Duration::minutes(6));
    core.run_due().await.expect("the loop goes on");
    core.deliver_outbox(&port).await.unwrap();
    let titles = port.titles();
    assert!(titles.iter().any(|t| t == "📟 INC-2 is not acknowledged after 5 min"), "INC-2 escalated on time: {titles:?}");
    for _ in 0..6 {
        clock.advance(Duration::minutes(20));
        core.run_due().await.expect("the loop goes on");
    }
    core.deliver_outbox(&port).await.unwrap();
    let given_up: Vec<String> = port.titles().into_iter().filter(|t| t.starts_with("⚠️")).collect();
    assert!(given_up.contains(&"⚠️ A escalate timer of incident:1 could not fire".to_string()), "{given_up:?}");
    let unreadable: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM timers WHERE job LIKE '%unheard_of%'").fetch_one(&raw).await.unwrap();
    assert!(unreadable.unwrap_or_default().starts_with("given up: timer"), "the unreadable timer says why");
    assert_eq!(core.store().next_due().await.unwrap().map(|d| d > clock.now()), Some(true), "nothing due spins the loop");
}

/// Once a day the retention job prunes what is older than the retention, and keeps the audit.
async fn old_events_operations_and_reactions_are_pruned_and_the_audit_kept(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = bellhop_tests::core_on(url, clock.clone()).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    core.handle(&bellhop_commands::Actor::new("shell:alice", "alice", [bellhop_commands::Role::Responder]), &declare("P2", "Reports slow"))
        .await;
    core.deliver_outbox(&port).await.unwrap();
    assert!(core.store().claim_event("interaction:1", clock.now()).await.unwrap());
    let kickoff = bellhop_commands::MessageRef::new("#incidents", "1");
    core.store().add_reaction(&kickoff, &bellhop_commands::Person::new("shell:bob", "bob"), "👀", clock.now()).await.unwrap();
    assert_eq!(core.prune_when_due().await.unwrap(), 0, "nothing is 30 days old yet");
    clock.advance(chrono::Duration::days(31));
    assert!(core.prune_when_due().await.unwrap() >= 4, "the event, the two delivered operations and the reaction");
    assert_eq!(core.prune_when_due().await.unwrap(), 0, "once a day");
    assert!(core.store().claim_event("interaction:1", clock.now()).await.unwrap(), "the old event is forgotten");
    assert!(!core.store().recent_audit(10).await.unwrap().is_empty(), "the audit trail stays");
}
on_both_stores!(old_events_operations_and_reactions_are_pruned_and_the_audit_kept);
