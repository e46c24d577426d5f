//! Alerts end to end: samples in, one post when an alert fires, edited as it changes, a resolve
//! notice when it recovers; restart-safe, and posted once between two replicas. Both stores.

use bellhop_commands::alerts::{AlertSettings, RuleKind, Sample};
use bellhop_commands::store::Store;
use bellhop_commands::templates::Templates;
use bellhop_commands::{Core, ManualClock};
use bellhop_tests::{on_both_stores, settings, CollectingPort};
use chrono::Duration;
use std::sync::Arc;

/// A core with only the runbook's error-rate rule (5 % over 5 min, 20 samples, held 1 min).
async fn core(url: &str, clock: Arc<ManualClock>) -> Arc<Core> {
    let store = Store::connect(url).await.expect("the store opens");
    store.migrate().await.expect("the store migrates");
    let mut alerts = AlertSettings::default();
    alerts.rules.retain(|r| r.kind == RuleKind::ErrorRate);
    let health = settings("http://127.0.0.1:9", &[]);
    let core = Core::new(health, Templates::load(None).expect("templates"), store, clock)
        .expect("the core builds")
        .with_alerts(alerts, std::time::Duration::from_secs(300));
    core.restore_alerts().await.expect("the firing alerts read back");
    Arc::new(core)
}

/// `total` samples of invite-user now, `failing` of them failed.
fn feed(core: &Core, total: u64, failing: u64) {
    let now = core.clock().now();
    let samples: Vec<Sample> =
        (0..total).map(|i| Sample::new("invite-user", i >= failing, 120, now).for_tenant(format!("hotel-{}", i % 3))).collect();
    core.alert_engine().ingest_all(&samples).expect("the samples are valid");
}

async fn minute(core: &Core, clock: &ManualClock, port: &CollectingPort, total: u64, failing: u64) {
    clock.advance(Duration::minutes(1));
    feed(core, total, failing);
    core.evaluate_alerts().await.expect("the alerts evaluate");
    core.deliver_outbox(port).await.expect("the outbox delivers");
}

fn alert_posts(port: &CollectingPort) -> Vec<String> {
    port.titles().into_iter().filter(|t| t.contains("invite-user")).collect()
}

async fn fire(core: &Core, clock: &ManualClock, port: &CollectingPort) {
    for _ in 0..3 {
        minute(core, clock, port, 20, 4).await;
    }
}

/// Fires once with the figures, is edited when they change, and resolves with a notice.
async fn an_alert_fires_once_is_edited_and_resolves(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = core(url, clock.clone()).await;
    let port = CollectingPort::default();
    fire(&core, &clock, &port).await;
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: Error Rate of invite-user (alert 1)"]);
    let body = port.posts.lock().unwrap()[0].1.body.clone();
    assert!(body.contains("Error Rate: 20% (threshold: 5%)"), "{body}");
    assert!(body.contains("most affected: hotel-0"), "{body}");
    minute(&core, &clock, &port, 20, 10).await;
    assert_eq!(alert_posts(&port).len(), 1, "a change is an edit, never a new post");
    assert!(!port.edits.lock().unwrap().is_empty(), "the post was edited with the new figures");
    for _ in 0..12 {
        minute(&core, &clock, &port, 40, 0).await;
    }
    assert_eq!(
        alert_posts(&port),
        ["🚨 P1 alert: Error Rate of invite-user (alert 1)", "✅ Error Rate of invite-user is back within its threshold (alert 1)"]
    );
    let last_edit = port.edits.lock().unwrap().last().cloned().expect("an edit").1;
    assert_eq!(last_edit, "✅ Resolved: Error Rate of invite-user (alert 1)");
}
on_both_stores!(an_alert_fires_once_is_edited_and_resolves);

/// A restart with an alert firing posts nothing new; the recovery is said once.
async fn a_restart_neither_repeats_nor_forgets_an_alert(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let port = CollectingPort::default();
    let before = core(url, clock.clone()).await;
    fire(&before, &clock, &port).await;
    drop(before);
    let after = core(url, clock.clone()).await;
    minute(&after, &clock, &port, 20, 4).await;
    minute(&after, &clock, &port, 20, 4).await;
    assert_eq!(alert_posts(&port).len(), 1, "the alert announced before the restart is not announced again");
    drop(after);
    // It recovered while bellhop was down: the first bellhop back resolves it once.
    clock.advance(Duration::minutes(20));
    let again = core(url, clock.clone()).await;
    for _ in 0..12 {
        minute(&again, &clock, &port, 40, 0).await;
    }
    let resolved = alert_posts(&port).into_iter().filter(|t| t.contains("back within")).count();
    assert_eq!(resolved, 1, "{:?}", port.titles());
}
on_both_stores!(a_restart_neither_repeats_nor_forgets_an_alert);

/// Two bellhops on one store, judging the same samples: one post between them.
async fn two_replicas_post_an_alert_once(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let (one, two) = (core(url, clock.clone()).await, core(url, clock.clone()).await);
    let port = CollectingPort::default();
    for _ in 0..3 {
        clock.advance(Duration::minutes(1));
        for core in [&one, &two] {
            feed(core, 20, 4);
        }
        let (a, b) = tokio::join!(one.evaluate_alerts(), two.evaluate_alerts());
        a.expect("one evaluates");
        b.expect("two evaluates");
        let (a, b) = tokio::join!(one.deliver_outbox(&port), two.deliver_outbox(&port));
        a.expect("one delivers");
        b.expect("two delivers");
    }
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: Error Rate of invite-user (alert 1)"]);
}
on_both_stores!(two_replicas_post_an_alert_once);

/// 🚨 on an alert's post declares a P1 with the alert's figures on its timeline, and the
/// runbook's escalation is filled from them; a person without the role declares nothing.
async fn a_siren_on_the_alert_declares_an_incident_with_its_figures(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = core(url, clock.clone()).await;
    let port = CollectingPort::default();
    fire(&core, &clock, &port).await;
    let alert = bellhop_commands::MessageRef::new("#ops", "1");
    let dave = bellhop_commands::Actor::new("shell:dave", "dave", []);
    core.reaction(&dave, &alert, "🚨", true).await;
    assert!(core.store().incident(1).await.unwrap().is_none(), "dave holds no role");
    let alice = bellhop_commands::Actor::new("shell:alice", "alice", [bellhop_commands::Role::Responder]);
    core.reaction(&alice, &alert, "🚨", true).await;
    core.reaction(&alice, &alert, "🚨", true).await;
    let incident = core.store().incident(1).await.unwrap().expect("declared from the alert");
    assert!(core.store().incident(2).await.unwrap().is_none(), "a repeated event declares nothing more");
    assert_eq!(
        (incident.title.as_str(), incident.alert_id, incident.declared_by.id.as_str()),
        ("invite-user Error Rate", Some(1), "shell:alice")
    );
    let timeline = core.store().timeline(1).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == "alert" && e.text.starts_with("alert 1: Error Rate of invite-user 20%")), "{timeline:?}");
    let draft = core.handle(&alice, &bellhop_commands::Invocation::new("incident escalate").option("id", "INC-1")).await.post;
    assert!(draft.body.contains("invite-user") && draft.body.contains("20%"), "{}", draft.body);
    assert!(!draft.body.contains("[function]") && !draft.body.contains("[error rate]"), "filled, not blank: {}", draft.body);
    let unknown = core
        .handle(
            &alice,
            &bellhop_commands::Invocation::new("incident declare").option("severity", "P1").option("title", "x").option("from_alert", "99"),
        )
        .await;
    assert_eq!(unknown.post.body, "There is no alert 99; its post names it as (alert N).");
}
on_both_stores!(a_siren_on_the_alert_declares_an_incident_with_its_figures);

/// During a maintenance window an alert is said once, marked held, pings nobody and is not
/// edited as its figures move.
async fn an_alert_during_maintenance_is_held_and_said_once(url: &str) {
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = core(url, clock.clone()).await;
    let port = CollectingPort::default();
    let alice = bellhop_commands::Actor::new("shell:alice", "alice", [bellhop_commands::Role::Responder]);
    let window = bellhop_commands::Invocation::new("maintenance emergency").option("summary", "database upgrade").option("duration", "2h");
    core.handle(&alice, &window).await;
    core.deliver_outbox(&port).await.unwrap();
    let before = port.titles().len();
    fire(&core, &clock, &port).await;
    minute(&core, &clock, &port, 20, 10).await;
    let said: Vec<String> = port.titles().into_iter().skip(before).collect();
    assert_eq!(said, ["🔧 Held during MW-1: Error Rate of invite-user (alert 1)"]);
    let held = port.posts.lock().unwrap()[before].1.clone();
    assert!(held.pings.is_empty(), "not paged: {:?}", held.pings);
    assert!(port.edits.lock().unwrap().is_empty(), "not edited while held");
}
on_both_stores!(an_alert_during_maintenance_is_held_and_said_once);
