//! Every timer in the store fires exactly once: across a restart, with two bellhops on one
//! PostgreSQL store, and with the chat unreachable for a while. Run on both store backends.

use bellhop_commands::{Actor, Invocation, ManualClock, Place, Role};
use bellhop_tests::{core_on, CollectingPort};
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use std::sync::atomic::Ordering;
use std::sync::Arc;

fn alice() -> Actor {
    Actor::new("shell:alice", "alice", [Role::Responder])
}

fn start() -> chrono::DateTime<chrono::Utc> {
    bellhop::shell::virtual_start()
}

fn declare(severity: &str, title: &str) -> Invocation {
    Invocation::new("incident declare").option("severity", severity).option("title", title)
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())
}

/// Declares a P0 on one bellhop, stops it, lets 12 minutes pass, and starts another on the
/// same store: the two timers that fell due while it was down fire once, marked late.
async fn restart_contract(url: &str) {
    let clock = Arc::new(ManualClock::new(start()));
    let port = std::sync::Arc::new(CollectingPort::default());
    {
        let before = core_on(url, clock.clone()).await;
        before.handle(&alice(), &declare("P0", "Logins failing")).await;
        assert_eq!(before.deliver_outbox(&port).await.unwrap(), 2, "the kickoff and its thread, before the stop");
    }
    clock.advance(chrono::Duration::minutes(12));
    let after = core_on(url, clock.clone()).await;
    assert_eq!(after.run_due().await.unwrap(), 2, "the 5-minute phase nudge and the first escalation");
    assert_eq!(after.deliver_outbox(&port).await.unwrap(), 2);
    let posts = port.posts.lock().unwrap().clone();
    for (place, post) in &posts[1..] {
        assert_eq!(place, &Place::Key("thread-inc-1".into()), "in the incident's thread");
        let body = bellhop_commands::text::plain(&post.body);
        assert!(body.contains("(late: due 09:05 UTC, sent 09:12 UTC"), "{body}");
    }
    assert_eq!(after.run_due().await.unwrap(), 0, "nothing fires twice");
    let again = core_on(url, clock.clone()).await;
    assert_eq!(again.run_due().await.unwrap(), 0, "nor after another restart");
    clock.advance(chrono::Duration::minutes(3));
    assert_eq!(again.run_due().await.unwrap(), 2, "09:15: the mitigation nudge and the update reminder, on time");
    again.deliver_outbox(&port).await.unwrap();
    assert!(port.posts.lock().unwrap()[3..].iter().all(|(_, post)| !post.body.contains("late")));
}

#[tokio::test]
async fn due_timers_fire_once_after_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    restart_contract(&sqlite_url(&dir)).await;
}

#[sqlx::test(migrations = false)]
async fn due_timers_fire_once_after_a_restart_on_postgres(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    restart_contract(options.to_url_lossy().as_str()).await;
}

#[sqlx::test(migrations = false)]
async fn two_bellhops_on_one_postgres_store_fire_each_timer_once(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let url = options.to_url_lossy().to_string();
    let clock = Arc::new(ManualClock::new(start()));
    let (one, two) = (core_on(&url, clock.clone()).await, core_on(&url, clock.clone()).await);
    for n in 0..4 {
        let declaring = if n % 2 == 0 { &one } else { &two };
        declaring.handle(&alice(), &declare("P0", &format!("Outage {n}"))).await;
    }
    // Each P0 owes, by 31 minutes: three phase nudges, one update reminder, two escalations.
    clock.advance(chrono::Duration::minutes(31));
    let (fired_one, fired_two) = tokio::join!(one.run_due(), two.run_due());
    assert_eq!(fired_one.unwrap() + fired_two.unwrap(), 4 * 6, "every due timer fired, none twice");
    let port = std::sync::Arc::new(CollectingPort::default());
    let (sent_one, sent_two) = tokio::join!(one.deliver_outbox(&port), two.deliver_outbox(&port));
    assert_eq!(sent_one.unwrap() + sent_two.unwrap(), 4 * 8, "kickoffs, threads and nudges, each done once");
    let mut titles = port.titles();
    let total = titles.len();
    titles.sort();
    titles.dedup();
    assert_eq!((total, titles.len()), (28, 28), "no post arrived twice");
}

/// The chat is down when posts are due: they wait, in order, and go once when it is back.
async fn outbox_contract(url: &str) {
    let clock = Arc::new(ManualClock::new(start()));
    let core = core_on(url, clock.clone()).await;
    let port = std::sync::Arc::new(CollectingPort::default());
    port.down.store(true, Ordering::SeqCst);
    core.handle(&alice(), &declare("P1", "Invites failing")).await;
    core.handle(&alice(), &Invocation::new("incident update").option("id", "INC-1").option("text", "looking")).await;
    core.handle(&alice(), &Invocation::new("maintenance emergency").option("summary", "hotfix")).await;
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 0);
    let waiting =
        "the kickoff, its thread, the update (typed outside the thread, so posted there too) and the two maintenance notices wait";
    assert_eq!(core.store().pending_ops().await.unwrap(), 5, "{waiting}");
    port.down.store(false, Ordering::SeqCst);
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 0, "not before the retry is due");
    clock.advance(chrono::Duration::seconds(6));
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 5);
    assert_eq!(core.deliver_outbox(&port).await.unwrap(), 0, "and only once");
    let titles = port.titles();
    assert!(titles[0].starts_with("🚨 INC-1 · P1"), "the oldest post first: {titles:?}");
}

#[tokio::test]
async fn posts_wait_for_an_unreachable_chat_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    outbox_contract(&sqlite_url(&dir)).await;
}

#[sqlx::test(migrations = false)]
async fn posts_wait_for_an_unreachable_chat_on_postgres(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    outbox_contract(options.to_url_lossy().as_str()).await;
}

#[tokio::test]
async fn the_scheduler_fires_what_falls_due_and_delivers_it_without_anyone_typing() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let core = core_on(&sqlite_url(&dir), clock.clone()).await;
    let port = Arc::new(CollectingPort::default());
    let scheduler = tokio::spawn(bellhop::scheduler::run(core.clone(), port.clone()));
    core.handle(&alice(), &declare("P2", "Reports slow")).await;
    core.wake();
    port.wait_for("the kickoff", |titles| titles.len() == 1).await;
    clock.advance(chrono::Duration::minutes(30));
    core.wake();
    port.wait_for("the 30-minute phase nudge", |titles| titles.iter().any(|t| t == "⏱ INC-1 · 30 min in: Common issues")).await;
    scheduler.abort();
    assert_eq!(port.titles().len(), 2, "the kickoff and the nudge, once each: {:?}", port.titles());
}

/// What nobody typed (an alert, a webhook) runs as bellhop itself, audited under its source.
#[tokio::test]
async fn the_system_path_runs_as_bellhop_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let core = core_on(&sqlite_url(&dir), Arc::new(ManualClock::new(start()))).await;
    let reply = core.system("alerts", &declare("P1", "invite-user failing")).await;
    assert_eq!(reply.post.title, "Declared INC-1 · P1 · invite-user failing");
    let incident = core.store().incident(1).await.unwrap().unwrap();
    assert_eq!(incident.declared_by.id, "system:alerts");
    let audit = core.store().recent_audit(1).await.unwrap();
    assert_eq!((audit[0].actor_id.as_str(), audit[0].outcome.as_str()), ("system:alerts", "ok"));
}
