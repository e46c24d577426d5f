//! Alerts end to end, through the core's loop into a chat: one post per failing function, edited
//! as its rules fire and recover, resolved with a notice; a store that fails once silences
//! nothing; replicas share their counts and post once; a dead evaluator is replaced; incidents
//! declared from an alert hear it resolve. Both stores.

use bellhop_commands::alerts::{AlertSettings, RuleKind, Sample};
use bellhop_commands::incident::TimelineKind;
use bellhop_commands::store::Store;
use bellhop_commands::templates::Templates;
use bellhop_commands::{Actor, ChatPort, Clock, Core, Invocation, ManualClock, MessageRef, Role};
use bellhop_tests::{on_both_stores, settings, CollectingPort};
use chrono::Duration;
use std::sync::Arc;

/// A core with the runbook's error-rate rule (5 % over 5 min, 20 samples, held 1 min), and, with
/// `all_rules`, the other three as well.
async fn core_with(url: &str, clock: Arc<ManualClock>, all_rules: bool) -> Arc<Core> {
    let store = Store::connect(url).await.expect("the store opens");
    store.migrate().await.expect("the store migrates");
    let mut alerts = AlertSettings::default();
    if !all_rules {
        alerts.rules.retain(|r| r.kind == RuleKind::ErrorRate);
    }
    let health = settings("http://127.0.0.1:9", &[]);
    let core = Core::new(health, Templates::load(None).expect("templates"), store, clock)
        .expect("the core builds")
        .with_alerts(alerts, std::time::Duration::from_secs(24 * 3600));
    Arc::new(core)
}

async fn core(url: &str, clock: Arc<ManualClock>) -> Arc<Core> {
    core_with(url, clock, false).await
}

/// `total` samples of invite-user now, `failing` of them failed.
fn feed(core: &Core, total: u64, failing: u64) {
    feed_function(core, "invite-user", total, failing);
}

fn feed_function(core: &Core, function: &str, total: u64, failing: u64) {
    let now = core.clock().now();
    let samples: Vec<Sample> =
        (0..total).map(|i| Sample::new(function, i >= failing, 120, now).for_tenant(format!("hotel-{}", i % 3))).collect();
    core.alert_engine().ingest_all(&samples).expect("the samples are valid");
}

async fn tick(core: &Arc<Core>, port: &Arc<CollectingPort>) {
    let port: Arc<dyn ChatPort> = port.clone();
    let report = core.tick(&port).await;
    assert!(report.failed.is_empty(), "{report:?}");
}

async fn minute(core: &Arc<Core>, clock: &ManualClock, port: &Arc<CollectingPort>, total: u64, failing: u64) {
    clock.advance(Duration::minutes(1));
    feed(core, total, failing);
    tick(core, port).await;
}

fn alert_posts(port: &CollectingPort) -> Vec<String> {
    port.titles().into_iter().filter(|t| t.contains("invite-user")).collect()
}

async fn fire(core: &Arc<Core>, clock: &ManualClock, port: &Arc<CollectingPort>) {
    for _ in 0..3 {
        minute(core, clock, port, 20, 4).await;
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(bellhop::shell::virtual_start()))
}

/// Fires once naming its figures, is edited when they change, and resolves with a notice.
async fn an_alert_fires_once_is_edited_and_resolves(url: &str) {
    let clock = clock();
    let core = core(url, clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    fire(&core, &clock, &port).await;
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: invite-user (alert 1)"]);
    let post = port.posts.lock().unwrap()[0].1.clone();
    assert!(post.body.starts_with("Error rate 20% (8 of 40 calls failed in the last 5 min)."), "{}", post.body);
    assert!(post.body.contains("• Error Rate 20% (threshold 5%, 5 min)"), "{}", post.body);
    assert!(!post.body.contains('['), "figures, not the template's blanks: {}", post.body);
    assert!(post.fields.iter().any(|f| f.name == "Most affected" && f.value.starts_with("hotel-0")), "{:?}", post.fields);
    assert_eq!(post.pings.iter().map(|p| p.label()).collect::<Vec<_>>(), ["@on-call"]);
    minute(&core, &clock, &port, 20, 10).await;
    assert_eq!(alert_posts(&port).len(), 1, "a change is an edit, never a new post");
    assert!(!port.edits.lock().unwrap().is_empty(), "the post was edited with the new figures");
    for _ in 0..12 {
        minute(&core, &clock, &port, 40, 0).await;
    }
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: invite-user (alert 1)", "✅ invite-user is back within its thresholds (alert 1)"]);
    let notice = port.posts.lock().unwrap().last().unwrap().1.clone();
    assert!(notice.body.contains("Worst: error rate 27.5%"), "the peak of the episode: {}", notice.body);
    let last_edit = port.edits.lock().unwrap().last().cloned().expect("an edit").1;
    assert_eq!(last_edit, "✅ Resolved: invite-user (alert 1)");
}
on_both_stores!(an_alert_fires_once_is_edited_and_resolves);

/// 20 % failures cross the error rate, failures per minute and success rate: one post says all three.
async fn three_rules_breached_by_one_function_are_one_post(url: &str) {
    let clock = clock();
    let core = core_with(url, clock.clone(), true).await;
    let port = Arc::new(CollectingPort::default());
    for _ in 0..3 {
        clock.advance(Duration::minutes(1));
        feed(&core, 200, 40);
        tick(&core, &port).await;
    }
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: invite-user (alert 1)"]);
    let state = core.alert_engine().state("invite-user");
    let shown = state.open.expect("firing").shown;
    for line in
        ["Error Rate 20% (threshold 5%, 5 min)", "Failures 40/min (threshold 10/min, 1 min)", "Success Rate 80% (threshold 95%, 15 min)"]
    {
        assert!(shown.contains(&format!("!{line}")), "{line} is shown breached: {shown}");
    }
}
on_both_stores!(three_rules_breached_by_one_function_are_one_post);

/// The store fails when the alert would be announced: nothing is lost, the next evaluation posts it.
async fn a_store_failing_once_silences_no_alert(url: &str) {
    a_table_away_once_silences_no_alert(url, "alerts").await;
}
on_both_stores!(a_store_failing_once_silences_no_alert);

/// The maintenance lookup (is anyone to be paged?) fails: the same, the next evaluation posts it.
async fn a_failed_maintenance_lookup_silences_no_alert(url: &str) {
    a_table_away_once_silences_no_alert(url, "maintenance").await;
}
on_both_stores!(a_failed_maintenance_lookup_silences_no_alert);

async fn a_table_away_once_silences_no_alert(url: &str, table: &str) {
    let clock = clock();
    let core = core(url, clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    minute(&core, &clock, &port, 20, 4).await;
    let pool = bellhop_tests::raw_pool(url).await;
    sqlx::query(&format!("ALTER TABLE {table} RENAME TO {table}_away")).execute(&pool).await.unwrap();
    clock.advance(Duration::minutes(1));
    feed(&core, 20, 4);
    let dyn_port: Arc<dyn ChatPort> = port.clone();
    let report = core.tick(&dyn_port).await;
    assert!(alert_posts(&port).is_empty(), "the {table} table is away: nothing announced, {report:?}");
    sqlx::query(&format!("ALTER TABLE {table}_away RENAME TO {table}")).execute(&pool).await.unwrap();
    clock.advance(Duration::seconds(5));
    tick(&core, &port).await;
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: invite-user (alert 1)"], "announced at the next evaluation, once");
}

/// A restart with an alert firing posts nothing new; the recovery is said once.
async fn a_restart_neither_repeats_nor_forgets_an_alert(url: &str) {
    let clock = clock();
    let port = Arc::new(CollectingPort::default());
    let before = core(url, clock.clone()).await;
    fire(&before, &clock, &port).await;
    before.release_alerts().await;
    drop(before);
    let after = core(url, clock.clone()).await;
    minute(&after, &clock, &port, 20, 4).await;
    minute(&after, &clock, &port, 20, 4).await;
    assert_eq!(alert_posts(&port).len(), 1, "the alert announced before the restart is not announced again");
    after.release_alerts().await;
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

/// A minute of two replicas' loops, each ticking every 2 s as a running bellhop does (a second).
async fn a_minute_of(replicas: &[&Arc<Core>], clock: &ManualClock, port: &Arc<CollectingPort>) {
    for _ in 0..30 {
        clock.advance(Duration::seconds(2));
        for core in replicas {
            tick(core, port).await;
        }
    }
}

/// Two bellhops on one store, each seeing half the samples: together they fire what one would,
/// posted once; when the one judging dies, the other takes over and posts the next alert.
async fn replicas_share_their_counts_and_take_over(url: &str) {
    let clock = clock();
    let (one, two) = (core(url, clock.clone()).await, core(url, clock.clone()).await);
    let port = Arc::new(CollectingPort::default());
    for _ in 0..3 {
        // 10 samples each, 2 of them failing: 20 with 4 failing together, as one replica fires.
        feed(&one, 10, 2);
        feed(&two, 10, 2);
        a_minute_of(&[&one, &two], &clock, &port).await;
    }
    assert_eq!(alert_posts(&port), ["🚨 P1 alert: invite-user (alert 1)"]);
    let post = port.posts.lock().unwrap()[0].1.clone();
    assert!(post.body.contains("8 of 40 calls failed"), "both replicas' samples are counted: {}", post.body);
    let judge = one.store().lease_holder("alerts", clock.now()).await.unwrap().expect("someone judges");
    let (dead, alive) = if judge == one.replica() { (one, two) } else { (two, one) };
    drop(dead); // stops without giving its lease up, as a killed process would
    for _ in 0..3 {
        feed_function(&alive, "trial-signup", 20, 10);
        a_minute_of(&[&alive], &clock, &port).await;
    }
    assert_eq!(port.titles().iter().filter(|t| t.contains("trial-signup")).count(), 1, "{:?}", port.titles());
    assert_eq!(alive.store().lease_holder("alerts", clock.now()).await.unwrap().as_deref(), Some(alive.replica()));
}
on_both_stores!(replicas_share_their_counts_and_take_over);

/// 🚨 on an alert's post declares a P1 with the alert's figures on its timeline; the incident's
/// thread hears the alert resolve, and its escalation says the figures at declaration and the peak.
async fn an_incident_declared_from_an_alert_hears_it_and_escalates_with_its_figures(url: &str) {
    let clock = clock();
    let core = core(url, clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    fire(&core, &clock, &port).await;
    let alert = MessageRef::new("#ops", "1");
    let dave = Actor::new("shell:dave", "dave", []);
    core.reaction(&dave, &alert, "🚨", true).await;
    assert!(core.store().incident(1).await.unwrap().is_none(), "dave holds no role");
    let alice = Actor::new("shell:alice", "alice", [Role::Responder]);
    core.reaction(&alice, &alert, "🚨", true).await;
    core.reaction(&alice, &alert, "🚨", true).await;
    let incident = core.store().incident(1).await.unwrap().expect("declared from the alert");
    assert!(core.store().incident(2).await.unwrap().is_none(), "a repeated event declares nothing more");
    assert_eq!(
        (incident.title.as_str(), incident.alert_id, incident.declared_by.id.as_str()),
        ("invite-user failing", Some(1), "shell:alice")
    );
    let timeline = core.store().timeline(1).await.unwrap();
    assert!(
        timeline.iter().any(|e| e.kind == TimelineKind::Alert && e.text.starts_with("alert 1: invite-user error rate 20%")),
        "{timeline:?}"
    );
    tick(&core, &port).await;
    // Worse after the declaration: the escalation tells the peak.
    minute(&core, &clock, &port, 20, 12).await;
    clock.advance(Duration::seconds(20));
    tick(&core, &port).await;
    for _ in 0..12 {
        minute(&core, &clock, &port, 40, 0).await;
    }
    let thread = port.titles_in("thread-inc-1");
    assert!(thread.iter().any(|t| t.starts_with("✅ alert 1 resolved after")), "the thread hears it resolve: {thread:?}");
    let draft = core.handle(&alice, &Invocation::new("incident escalate").option("id", "INC-1")).await.post;
    assert!(draft.body.contains("Error Rate: 20% when declared, peak 30% (threshold: 5%)"), "{}", draft.body);
    assert!(!draft.body.contains("[function]") && !draft.body.contains("[error rate]"), "filled, not blank: {}", draft.body);
    let unknown = core
        .handle(&alice, &Invocation::new("incident declare").option("severity", "P1").option("title", "x").option("from_alert", "99"))
        .await;
    assert_eq!(unknown.post.body, "There is no alert 99; its post names it as (alert N).");
}
on_both_stores!(an_incident_declared_from_an_alert_hears_it_and_escalates_with_its_figures);

/// During a maintenance window an alert is said once, marked held, pings nobody and is not
/// edited as its figures move.
async fn an_alert_during_maintenance_is_held_and_said_once(url: &str) {
    let clock = clock();
    let core = core(url, clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    let alice = Actor::new("shell:alice", "alice", [Role::Responder]);
    let window = Invocation::new("maintenance emergency").option("summary", "database upgrade").option("duration", "2h");
    core.handle(&alice, &window).await;
    tick(&core, &port).await;
    let before = port.titles().len();
    fire(&core, &clock, &port).await;
    minute(&core, &clock, &port, 20, 10).await;
    let said: Vec<String> = port.titles().into_iter().skip(before).collect();
    assert_eq!(said, ["🔧 Held during MW-1: invite-user (alert 1)"]);
    let held = port.posts.lock().unwrap()[before].1.clone();
    assert!(held.pings.is_empty(), "not paged: {:?}", held.pings);
    assert!(port.edits.lock().unwrap().is_empty(), "not edited while held");
}
on_both_stores!(an_alert_during_maintenance_is_held_and_said_once);

/// A webhook group becomes one post on the next tick, and 🚨 on it declares an incident.
async fn a_webhook_group_is_posted_and_declares_an_incident(url: &str) {
    let clock = clock();
    let core = core(url, clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    let body = br#"{"version":"4","groupKey":"{}:{alertname=\"DiskFull\"}","receiver":"bellhop","status":"firing",
        "commonLabels":{"alertname":"DiskFull"},"alerts":[{"status":"firing","labels":{"alertname":"DiskFull","severity":"critical"},
        "annotations":{"summary":"db disk 95%"},"startsAt":"2026-01-05T08:55:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"d1"}]}"#;
    let notification = bellhop_commands::alerts::parse_webhook(bellhop_commands::alerts::Source::Alertmanager, body).unwrap();
    assert!(core.receive_webhook(&notification).await.unwrap().changed);
    tick(&core, &port).await;
    assert_eq!(port.titles(), ["🚨 Alertmanager: DiskFull (alert 1)"]);
    let alice = Actor::new("shell:alice", "alice", [Role::Responder]);
    core.reaction(&alice, &MessageRef::new("#ops", "1"), "🚨", true).await;
    let incident = core.store().incident(1).await.unwrap().expect("declared from the group's post");
    assert_eq!((incident.title.as_str(), incident.alert_id), ("DiskFull", Some(1)));
    tick(&core, &port).await;
    let resolved = String::from_utf8_lossy(body)
        .replace(r#""status":"firing""#, r#""status":"resolved""#)
        .replace("0001-01-01T00:00:00Z", "2026-01-05T09:10:00Z");
    let notification =
        bellhop_commands::alerts::parse_webhook(bellhop_commands::alerts::Source::Alertmanager, resolved.as_bytes()).unwrap();
    core.receive_webhook(&notification).await.unwrap();
    tick(&core, &port).await;
    assert!(port.titles_in("thread-inc-1").iter().any(|t| t.starts_with("✅ alert 1 resolved after")), "{:?}", port.titles());
}
on_both_stores!(a_webhook_group_is_posted_and_declares_an_incident);

/// A notification stored just before a stop is posted by the next bellhop, once, even when two
/// replicas race to post it; one stored after the post changes it once.
async fn a_webhook_stored_before_a_stop_is_posted_once_after_it(url: &str) {
    let clock = clock();
    let port = Arc::new(CollectingPort::default());
    let body = br#"{"version":"1","groupKey":"{}:{alertname=\"Latency\"}","receiver":"bellhop","status":"firing",
        "alerts":[{"status":"firing","labels":{"alertname":"Latency","severity":"warning"},"annotations":{"description":"p95 12 s"},
        "startsAt":"2026-01-05T08:55:00Z","fingerprint":"l1","panelURL":"http://grafana/d/1?viewPanel=2"}]}"#;
    let notification = bellhop_commands::alerts::parse_webhook(bellhop_commands::alerts::Source::Grafana, body).unwrap();
    let before = core(url, clock.clone()).await;
    before.receive_webhook(&notification).await.unwrap();
    drop(before);
    let (one, two) = (core(url, clock.clone()).await, core(url, clock.clone()).await);
    let (a, b) = (one.clone(), two.clone());
    let (port_a, port_b): (Arc<dyn ChatPort>, Arc<dyn ChatPort>) = (port.clone(), port.clone());
    let _ = tokio::join!(a.tick(&port_a), b.tick(&port_b));
    assert_eq!(port.titles(), ["⚠️ Grafana: Latency (alert 1)"]);
    let post = port.posts.lock().unwrap()[0].1.clone();
    assert!(post.body.contains("http://grafana/d/1?viewPanel=2") && post.pings.is_empty(), "{post:?}");
    let resolved = String::from_utf8_lossy(body).replace(r#""status":"firing""#, r#""status":"resolved""#);
    let notification = bellhop_commands::alerts::parse_webhook(bellhop_commands::alerts::Source::Grafana, resolved.as_bytes()).unwrap();
    two.receive_webhook(&notification).await.unwrap();
    let _ = tokio::join!(a.tick(&port_a), b.tick(&port_b));
    assert_eq!(port.titles(), ["⚠️ Grafana: Latency (alert 1)", "✅ Grafana Latency resolved (alert 1)"]);
    assert_eq!(port.edits.lock().unwrap().len(), 1, "one edit to say it resolved");
}
on_both_stores!(a_webhook_stored_before_a_stop_is_posted_once_after_it);

/// The scheduled sweep is claimed per interval: of two replicas, one sweeps.
async fn one_replica_sweeps_each_interval(url: &str) {
    let clock = clock();
    let (one, two) = (core(url, clock.clone()).await, core(url, clock.clone()).await);
    let mut swept = Vec::new();
    for _ in 0..3 {
        clock.set(one.next_sweep());
        let (a, b) = tokio::join!(one.run_sweeps(), two.run_sweeps());
        swept.push(a.unwrap() + b.unwrap());
    }
    assert_eq!(swept, [1, 1, 1], "each interval swept once between the two");
}
on_both_stores!(one_replica_sweeps_each_interval);
