//! The rest of the runbook end to end, through the core's loop into a chat, against the fake
//! Management API on 127.0.0.1 and the Supabase-shaped fixture: deploys recorded once and named
//! by the alert that follows them, the daily backup check, the pre-deploy checklist's own ticks
//! and flags (each check passing and failing), and `/deploy validate`. The security incident's
//! clock and its evidence file are in `security_incidents.rs`.

use crate::management::{start, Fake};
use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::alerts::{AlertSettings, ManagementSettings, RuleKind, Sample};
use bellhop_commands::incident::TimelineKind;
use bellhop_commands::remediation::RemediationSettings;
use bellhop_commands::store::Store;
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use bellhop_commands::templates::Templates;
use bellhop_commands::{Actor, ChatPort, Clock, Core, Invocation, ManualClock, MessageRef, Post, Role};
use bellhop_tests::{on_both_stores, settings, CollectingPort};
use chrono::Duration;
use secrecy::SecretString;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;
use std::sync::Arc;

pub(crate) fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(bellhop::shell::virtual_start()))
}

pub(crate) fn alice() -> Actor {
    Actor::new("shell:alice", "alice", [Role::Responder])
}

/// A core on the store at `url` with the runbook's error-rate rule, the Management API at
/// `base` (none: not configured), and the target with its rollbacks folder when given.
pub(crate) async fn core(
    url: &str,
    clock: Arc<ManualClock>,
    base: Option<&str>,
    target: Option<(TargetDb, std::path::PathBuf)>,
) -> Arc<Core> {
    let store = Store::connect(url).await.expect("the store opens");
    store.migrate().await.expect("the store migrates");
    let mut alerts = AlertSettings::default();
    alerts.rules.retain(|r| r.kind == RuleKind::ErrorRate);
    let management = base.map(|base| {
        let settings = ManagementSettings {
            token: SecretString::from("sbp_test"),
            project_ref: "abcdefghijklmnopqrst".into(),
            base: base.into(),
            functions: Vec::new(),
        };
        (settings, std::time::Duration::from_secs(60))
    });
    let (target, rollbacks_dir) = match target {
        Some((target, dir)) => (Some(target), Some(dir)),
        None => (None, None),
    };
    let core = Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).expect("templates"), store, clock)
        .expect("the core builds")
        .with_alerts(alerts, std::time::Duration::from_secs(24 * 3600))
        .with_target(target)
        .with_remediation(RemediationSettings { rollbacks_dir, ..Default::default() })
        .with_management(management)
        .expect("the Management API client builds");
    Arc::new(core)
}

pub(crate) async fn tick(core: &Arc<Core>, port: &Arc<CollectingPort>) {
    let port: Arc<dyn ChatPort> = port.clone();
    let report = core.tick(&port).await;
    assert!(report.failed.is_empty(), "{report:?}");
}

fn feed(core: &Core, function: &str, total: u64, failing: u64) {
    let now = core.clock().now();
    let samples: Vec<Sample> = (0..total).map(|i| Sample::new(function, i >= failing, 120, now)).collect();
    core.alert_engine().ingest_all(&samples).expect("the samples are valid");
}

pub(crate) async fn run(core: &Core, actor: &Actor, invocation: Invocation) -> Post {
    core.handle(actor, &invocation).await.post
}

/// The fields of a post, as `name: value` lines.
pub(crate) fn field(post: &Post, name: &str) -> String {
    post.fields.iter().find(|f| f.name == name).map(|f| f.value.clone()).unwrap_or_else(|| panic!("no field {name} in {post:?}"))
}

pub(crate) fn posts_titled(port: &CollectingPort, start: &str) -> Vec<Post> {
    port.posts.lock().unwrap().iter().filter(|(_, p)| p.title.starts_with(start)).map(|(_, p)| p.clone()).collect()
}

fn function(version: i64, deployed: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    json!([{"id": "f-1", "slug": "invite-user", "status": "ACTIVE", "version": version, "updated_at": deployed.timestamp_millis()},
           {"id": "f-2", "slug": "gone", "status": "REMOVED", "version": 3, "updated_at": deployed.timestamp_millis()}])
}

/// Two replicas poll the functions; each version is recorded once. A new version minutes before
/// invite-user starts failing is named by its alert, and by the incident declared from it.
async fn a_deploy_is_recorded_once_and_the_alert_after_it_names_it(url: &str) {
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = clock();
    let (a, b) = (core(url, clock.clone(), Some(&base), None).await, core(url, clock.clone(), Some(&base), None).await);
    let port = Arc::new(CollectingPort::default());
    *fake.functions.lock().unwrap() = Some(function(41, clock.now() - Duration::days(3)));
    *fake.backups.lock().unwrap() = backups(&[6], clock.now());
    tick(&a, &port).await;
    tick(&b, &port).await;
    clock.advance(Duration::minutes(1));
    *fake.functions.lock().unwrap() = Some(function(42, clock.now()));
    tick(&b, &port).await;
    tick(&a, &port).await;
    let recent = run(&a, &alice(), Invocation::new("functions recent")).await;
    assert_eq!(
        bellhop_commands::text::plain(&recent.body),
        "• invite-user v42 — deployed 09:01 UTC (under a minute ago)\n• invite-user v41 — deployed 2026-01-02 09:00 UTC (3 days 1 min ago)",
        "each version once, the removed function not at all"
    );
    for _ in 0..3 {
        clock.advance(Duration::minutes(1));
        feed(&a, "invite-user", 20, 4);
        tick(&a, &port).await;
    }
    let alert = posts_titled(&port, "🚨 P1 alert: invite-user").pop().expect("the alert fired");
    assert_eq!(
        field(&alert, "Deploy"),
        "invite-user v42 was deployed 1 min before this alert started — /functions recent lists the last deploys"
    );
    let declared =
        Invocation::new("incident declare").option("severity", "P1").option("title", "Invites failing").option("from_alert", "1");
    run(&a, &alice(), declared).await;
    tick(&a, &port).await;
    let kickoff = posts_titled(&port, "🚨 INC-1").pop().expect("the kickoff");
    assert!(field(&kickoff, "Deploy").starts_with("invite-user v42 was deployed 1 min before its alert started"), "{kickoff:?}");
    let timeline = a.store().timeline(1).await.unwrap();
    assert!(timeline.iter().any(|e| e.kind == TimelineKind::Deploy && e.text.starts_with("invite-user v42 was deployed")));
}
on_both_stores!(a_deploy_is_recorded_once_and_the_alert_after_it_names_it);

/// v42 goes out, invite-user starts failing, v43 (the fix) goes out: the alert's next edit and
/// the incident declared from it still name v42, the deploy before the alert started.
async fn a_redeploy_after_the_alert_started_does_not_hide_the_deploy_that_broke_it(url: &str) {
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = clock();
    let core = core(url, clock.clone(), Some(&base), None).await;
    let port = Arc::new(CollectingPort::default());
    *fake.backups.lock().unwrap() = backups(&[6], clock.now());
    *fake.functions.lock().unwrap() = Some(function(41, clock.now() - Duration::days(3)));
    tick(&core, &port).await;
    clock.advance(Duration::minutes(1));
    *fake.functions.lock().unwrap() = Some(function(42, clock.now()));
    tick(&core, &port).await;
    for _ in 0..3 {
        clock.advance(Duration::minutes(1));
        feed(&core, "invite-user", 20, 4);
        tick(&core, &port).await;
    }
    assert_eq!(posts_titled(&port, "🚨 P1 alert: invite-user").len(), 1, "the alert fired");
    clock.advance(Duration::minutes(1));
    *fake.functions.lock().unwrap() = Some(function(43, clock.now()));
    tick(&core, &port).await;
    let recent = run(&core, &alice(), Invocation::new("functions recent")).await;
    assert!(recent.body.starts_with("• invite-user v43 — deployed"), "the fix is recorded: {}", recent.body);
    clock.advance(Duration::minutes(1));
    feed(&core, "invite-user", 20, 8);
    tick(&core, &port).await;
    let edited = port.edited.lock().unwrap().iter().rev().find(|(_, p)| p.title.starts_with("🚨 P1 alert: invite-user")).cloned();
    let (_, edited) = edited.expect("the alert was edited after the fix went out");
    assert_eq!(
        field(&edited, "Deploy"),
        "invite-user v42 was deployed 1 min before this alert started — /functions recent lists the last deploys"
    );
    let declared =
        Invocation::new("incident declare").option("severity", "P1").option("title", "Invites failing").option("from_alert", "1");
    run(&core, &alice(), declared).await;
    tick(&core, &port).await;
    let kickoff = posts_titled(&port, "🚨 INC-1").pop().expect("the kickoff");
    assert!(field(&kickoff, "Deploy").starts_with("invite-user v42 was deployed 1 min before its alert started"), "{kickoff:?}");
}
on_both_stores!(a_redeploy_after_the_alert_started_does_not_hide_the_deploy_that_broke_it);

fn backups(ages_hours: &[i64], now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let list: Vec<serde_json::Value> = ages_hours
        .iter()
        .map(|h| json!({"is_physical_backup": true, "status": "COMPLETED", "inserted_at": (now - Duration::hours(*h)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()}))
        .collect();
    json!({"region": "eu-central-1", "pitr_enabled": false, "walg_enabled": true, "backups": list, "physical_backup_data": {}})
}

/// The daily check posts once a day, between replicas, while the newest backup is over 26 h;
/// `/backups` says so; the checklist's backup item is flagged, then ticked once a backup is fresh.
#[tokio::test]
async fn backups_are_checked_once_a_day_and_flagged_when_older_than_26_hours() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = clock();
    let (a, b) = (core(&url, clock.clone(), Some(&base), None).await, core(&url, clock.clone(), Some(&base), None).await);
    let port = Arc::new(CollectingPort::default());
    *fake.backups.lock().unwrap() = backups(&[30, 54], clock.now());
    tick(&a, &port).await;
    tick(&b, &port).await;
    clock.advance(Duration::hours(2));
    tick(&a, &port).await;
    let overdue = posts_titled(&port, "⚠️ Database backup overdue");
    assert_eq!(overdue.len(), 1, "once a day, by one replica");
    assert_eq!(
        bellhop_commands::text::plain(&overdue[0].body),
        "The newest backup is 1 day 6 h old (2026-01-04 03:00 UTC), over the 26 h a daily backup allows. PITR is off. \
         Check Database → Backups in the Supabase dashboard; /backups shows the list."
    );
    let listed = run(&a, &alice(), Invocation::new("backups")).await;
    assert!(listed.body.starts_with("The newest restore point is 1 day 8 h old"), "{}", listed.body);
    assert!(listed.body.ends_with("That is over 26 h: check the project's backups in the Supabase dashboard."), "{}", listed.body);
    clock.advance(Duration::days(1));
    tick(&b, &port).await;
    tick(&a, &port).await;
    assert_eq!(posts_titled(&port, "⚠️ Database backup overdue").len(), 2, "the next day, again once");

    run(&a, &alice(), Invocation::new("deploy checklist").option("what", "v2.3")).await;
    tick(&a, &port).await;
    let flagged = posts_titled(&port, "📋 Pre-deploy checklist DC-1").pop().unwrap();
    assert!(
        flagged
            .body
            .contains("⚠️ 5. Validate backup/restore procedures — bellhop flagged: newest backup 2 days 8 h old, over 26 h (PITR off)"),
        "{}",
        flagged.body
    );
    *fake.backups.lock().unwrap() = backups(&[2, 26], clock.now());
    run(&a, &alice(), Invocation::new("deploy checklist").option("what", "v2.3")).await;
    tick(&a, &port).await;
    let ticked = posts_titled(&port, "📋 Pre-deploy checklist DC-2").pop().unwrap();
    assert!(
        ticked.body.contains("✅ 5. Validate backup/restore procedures — bellhop: newest backup 2 h old (PITR off)"),
        "{}",
        ticked.body
    );
}

/// The target's checks against the fixture: RLS flagged for the table without it, then ticked;
/// performance ticked within the thresholds, then flagged; the rollback item ticked with the down
/// file, then flagged without it. People tick the rest (a command, a keycap); a person without
/// the role is not counted; an open P1 is a reason to wait; all six ticked make it ready, on the
/// audit trail.
#[sqlx::test(migrations = false)]
async fn the_checklist_ticks_and_flags_what_it_checks_and_people_tick_the_rest(_: PgPoolOptions, admin: PgConnectOptions) {
    fixture::load(&admin, Scale::TEST).await.expect("the fixture loads");
    let url = SecretString::from(fixture::as_bellhop(&admin).to_url_lossy().to_string());
    let settings =
        TargetSettings { url, statement_timeout: std::time::Duration::from_secs(5), write_timeout: std::time::Duration::from_secs(5) };
    let target = TargetDb::new(&settings).expect("a valid target URL");
    let dir = tempfile::tempdir().unwrap();
    let rollbacks = dir.path().join("rollbacks");
    fixture::write_rollbacks(&rollbacks).unwrap();
    let store = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let clock = clock();
    let core = core(&store, clock.clone(), None, Some((target, rollbacks.clone()))).await;
    let port = Arc::new(CollectingPort::default());
    feed(&core, "invite-user", 100, 1);
    let answer = run(&core, &alice(), Invocation::new("deploy checklist").option("what", "v2.3")).await;
    assert_eq!(answer.body, "Posted in the ops channel. bellhop ticked items 4, 6 itself, flagged item 3, could not check item 5.");
    tick(&core, &port).await;
    let first = posts_titled(&port, "📋 Pre-deploy checklist DC-1").pop().unwrap();
    let lines: Vec<&str> = first.body.lines().collect();
    assert_eq!(lines[2], "⚠️ 3. Verify RLS policies with test users — bellhop flagged: public tables without RLS: import_staging; react 3️⃣ or /deploy check item:3");
    assert_eq!(
        lines[3],
        "✅ 4. Check edge function performance — bellhop: last 15 min within thresholds: invite-user error rate 1% of 100, 120 ms"
    );
    assert_eq!(
        lines[4],
        "❔ 5. Validate backup/restore procedures — bellhop could not check: no Management API (SUPABASE_ACCESS_TOKEN, SUPABASE_PROJECT_REF); react 5️⃣ or /deploy check item:5"
    );
    assert!(lines[5].starts_with("✅ 6. Test rollback procedures — bellhop: 20250922140000.down.sql ("), "{}", lines[5]);
    assert!(lines[5].ends_with(") passes the down-file checks"), "{}", lines[5]);
    assert_eq!(port.reacted.lock().unwrap().iter().filter(|(_, e)| e.ends_with('\u{20e3}')).count(), 6, "a keycap per item");

    let mut conn = admin.connect().await.unwrap();
    sqlx::raw_sql("ALTER TABLE public.import_staging ENABLE ROW LEVEL SECURITY").execute(&mut conn).await.unwrap();
    std::fs::remove_file(rollbacks.join("20250922140000.down.sql")).unwrap();
    feed(&core, "invite-user", 100, 100);
    run(&core, &alice(), Invocation::new("incident declare").option("severity", "P1").option("title", "Logins failing")).await;
    run(&core, &alice(), Invocation::new("deploy checklist").option("what", "v2.4")).await;
    tick(&core, &port).await;
    let (index, second) = {
        let posts = port.posts.lock().unwrap();
        let index = posts.iter().position(|(_, p)| p.title.starts_with("📋 Pre-deploy checklist DC-2")).unwrap();
        (index, posts[index].1.clone())
    };
    let lines: Vec<&str> = second.body.lines().collect();
    assert_eq!(lines[0], "⏸ Reason to wait: INC-1 (P1) is open: Logins failing");
    assert!(
        lines[3].starts_with("✅ 3. Verify RLS policies with test users — bellhop: every public table has RLS; anon probe: "),
        "{}",
        lines[3]
    );
    assert!(lines[4].starts_with("⚠️ 4. Check edge function performance — bellhop flagged: over the runbook's thresholds in the last 15 min: invite-user error rate 50.5% of 200"), "{}", lines[4]);
    assert_eq!(
        lines[6],
        "⚠️ 6. Test rollback procedures — bellhop flagged: There is no rollback file `20250922140000.down.sql` in the rollbacks folder (BELLHOP_ROLLBACKS_DIR); react 6️⃣ or /deploy check item:6"
    );

    let message = MessageRef::new("#ops", (index + 1).to_string());
    let bob = Actor::new("shell:bob", "bob", [Role::Responder, Role::Approver]);
    let dave = Actor::new("shell:dave", "dave", []);
    core.reaction(&dave, &message, "1️⃣", true).await;
    core.reaction(&bob, &message, "2️⃣", true).await;
    core.reaction(&bob, &message, "2️⃣", true).await;
    let ticked = run(&core, &alice(), Invocation::new("deploy check").option("item", "1")).await;
    assert_eq!(ticked.title, "Ticked item 1 of DC-2");
    let again = run(&core, &bob, Invocation::new("deploy check").option("item", "1")).await;
    assert_eq!(again.body, "Item 1 of DC-2 is ticked already, by @alice.");
    for item in ["4", "5", "6"] {
        run(&core, &alice(), Invocation::new("deploy check").option("item", item)).await;
    }
    tick(&core, &port).await;
    let edited = port.edited.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(edited.title, "✅ Ready to deploy: DC-2 v2.4");
    let lines: Vec<&str> = edited.body.lines().collect();
    assert!(lines[1].starts_with("✅ 1. Run full Postman collection — @alice at "), "{}", lines[1]);
    assert!(lines[2].starts_with("✅ 2. Execute security test suite — @bob at "), "{}", lines[2]);
    assert!(lines[4].contains("(bellhop flagged: over the runbook's thresholds"), "a person's tick keeps bellhop's evidence: {}", lines[4]);
    assert_eq!(posts_titled(&port, "✅ DC-2 ready to deploy: v2.4").len(), 1);
    let audit = core.store().recent_audit(50).await.unwrap();
    let said: Vec<&str> = audit.iter().map(|e| e.outcome.as_str()).collect();
    assert!(said.contains(&"DC-2 item 2 (Execute security test suite) ticked by @bob"), "{said:?}");
    assert!(!said.iter().any(|s| s.contains("ticked by @dave")), "dave holds no role: {said:?}");
    let ready = said.iter().find(|s| s.starts_with("ready: DC-2 v2.4: 1. ticked by @alice")).expect("the ready entry");
    assert!(ready.contains("3. ticked by bellhop (bellhop ticked: every public table has RLS"), "{ready}");
    let late = run(&core, &alice(), Invocation::new("deploy check").option("item", "2")).await;
    assert_eq!(late.body, "DC-2 is ready already; /deploy checklist starts a new one.");
}

/// The reason to wait is read again at each edit of the checklist's post: resolved, it goes at
/// the next tick (a keycap); a new P0 appears at the one after (a command).
#[tokio::test]
async fn the_reason_to_wait_is_read_again_at_each_edit_of_the_checklist() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let clock = clock();
    let core = core(&url, clock.clone(), None, None).await;
    let port = Arc::new(CollectingPort::default());
    run(&core, &alice(), Invocation::new("incident declare").option("severity", "P1").option("title", "Logins failing")).await;
    run(&core, &alice(), Invocation::new("deploy checklist").option("what", "v2.4")).await;
    tick(&core, &port).await;
    let index = port.posts.lock().unwrap().iter().position(|(_, p)| p.title.starts_with("📋 Pre-deploy checklist DC-1")).unwrap();
    let first = port.posts.lock().unwrap()[index].1.body.clone();
    assert!(first.starts_with("⏸ Reason to wait: INC-1 (P1) is open: Logins failing\n"), "{first}");

    run(&core, &alice(), Invocation::new("incident resolve").option("id", "INC-1").option("root_cause", "A bad deploy")).await;
    core.reaction(&alice(), &MessageRef::new("#ops", (index + 1).to_string()), "1️⃣", true).await;
    tick(&core, &port).await;
    let edited = port.edited.lock().unwrap().last().unwrap().1.body.clone();
    assert!(edited.starts_with("✅ 1. Run full Postman collection — @alice at "), "resolved, no reason to wait: {edited}");

    run(&core, &alice(), Invocation::new("incident declare").option("severity", "P0").option("title", "Checkout down")).await;
    run(&core, &alice(), Invocation::new("deploy check").option("item", "2")).await;
    tick(&core, &port).await;
    let edited = port.edited.lock().unwrap().last().unwrap().1.body.clone();
    assert!(edited.starts_with("⏸ Reason to wait: INC-2 (P0) is open: Checkout down\n✅ 1."), "{edited}");
}

/// `/deploy done` keeps the figures before it; `/deploy validate` compares the minutes since,
/// and worse beyond the thresholds offers the rollback paths.
#[tokio::test]
async fn validation_compares_each_function_with_the_minutes_before_the_deploy() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let clock = clock();
    let core = core(&url, clock.clone(), None, None).await;
    let nothing = run(&core, &alice(), Invocation::new("deploy validate")).await;
    assert!(nothing.body.starts_with("There is no deploy to compare with: mark one with /deploy done"), "{}", nothing.body);
    for _ in 0..5 {
        clock.advance(Duration::minutes(1));
        feed(&core, "invite-user", 20, 0);
        feed(&core, "trial-signup", 20, 1);
    }
    let marked = run(&core, &alice(), Invocation::new("deploy done").option("what", "v2.3")).await;
    assert_eq!(marked.title, "🚀 Deploy marked: v2.3");
    for _ in 0..5 {
        clock.advance(Duration::minutes(1));
        feed(&core, "invite-user", 20, 10);
        feed(&core, "trial-signup", 20, 1);
    }
    let post = run(&core, &alice(), Invocation::new("deploy validate").option("minutes", "5")).await;
    assert_eq!(post.title, "Post-deployment validation: v2.3 (marked by @alice 5 min ago)");
    assert_eq!(
        post.body,
        "The last 5 min against the 5 min before the deploy.\n\
         • invite-user: worse — error rate 0% of 100, 120 ms → error rate 50% of 100, 120 ms — over the runbook's thresholds\n\
         • trial-signup: same — error rate 5% of 100, 120 ms → error rate 5% of 100, 120 ms"
    );
    let paths = field(&post, "Worse beyond the runbook's thresholds — rollback paths");
    assert_eq!(
        paths,
        "Feature flag rollback: /flags disable names:… reason:\"post-deploy validation\"\n\
         Migration rollback: /migrations rollback version:…\n\
         Edge function rollback: redeploy the previous version of invite-user with the Supabase CLI"
    );
}

/// Right after `/deploy done` there is no minute after the deploy: validation says when to try
/// again rather than compare the minute before the mark with itself. A function with no samples
/// before the mark is still shown, with its figures since, and flagged over the thresholds.
#[tokio::test]
async fn validation_right_after_the_mark_is_too_early_and_a_function_without_a_baseline_is_still_judged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
    let clock = clock();
    let core = core(&url, clock.clone(), None, None).await;
    clock.advance(Duration::minutes(15));
    feed(&core, "trial-signup", 20, 1);
    run(&core, &alice(), Invocation::new("deploy done").option("what", "v2")).await;
    let early = run(&core, &alice(), Invocation::new("deploy validate")).await;
    assert_eq!(early.title, "Too early to validate: v2 (marked by @alice just now)");
    assert!(early.body.ends_with("Try /deploy validate again in 60 s."), "{}", early.body);
    clock.advance(Duration::seconds(45));
    let still = run(&core, &alice(), Invocation::new("deploy validate")).await;
    assert!(still.body.ends_with("Try /deploy validate again in 15 s."), "{}", still.body);

    clock.advance(Duration::seconds(15));
    feed(&core, "invite-user", 20, 10);
    let post = run(&core, &alice(), Invocation::new("deploy validate")).await;
    assert_eq!(post.title, "Post-deployment validation: v2 (marked by @alice 1 min ago)");
    assert_eq!(
        post.body,
        "The last 1 min against the 1 min before the deploy.\n\
         • invite-user: cannot compare — no samples in the 1 min before the deploy; now error rate 50% of 20, 120 ms — over the runbook's thresholds\n\
         • trial-signup: cannot compare — no samples in the last 1 min; before the deploy error rate 5% of 20, 120 ms"
    );
    let paths = field(&post, "Worse beyond the runbook's thresholds — rollback paths");
    assert!(paths.ends_with("redeploy the previous version of invite-user with the Supabase CLI"), "{paths}");
}
