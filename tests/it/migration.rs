//! A store written by the previous bellhop upgrades in place: people get ids no chat user can
//! hold, incidents keep their threads, timers their owners, and undelivered posts their place in
//! line. Run on both backends.

use bellhop_commands::store::Store;
use bellhop_commands::{Actor, Invocation, ManualClock, Subject};
use bellhop_tests::on_both_stores;
use std::sync::Arc;

/// Applies only the migrations of the previous release, the way it left a store.
async fn previous_release(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands/migrations").join(backend);
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&all).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("20261125") {
            std::fs::copy(&path, old.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    let url = if backend == "sqlite" { format!("{url}?mode=rwc") } else { url.to_string() };
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(old.path()).await.unwrap().run(&pool).await.unwrap();
    pool
}

on_both_stores!(rows_from_the_previous_release_migrate_in_place);
async fn rows_from_the_previous_release_migrate_in_place(url: &str) {
    let old = previous_release(url).await;
    for sql in [
        "INSERT INTO incidents (severity, title, impact, commander, declared_by, declared_ms, acked_ms, acked_by, channel_key)
         VALUES ('P1', 'Invites failing', '', 'bob', 'alice', 1767603600000, 1767603700000, 'bob', '#inc-1')",
        "INSERT INTO timeline (incident_id, at_ms, actor, kind, text) VALUES (1, 1767603600000, 'alice', 'declared', 'P1')",
        "INSERT INTO timers (incident_id, kind, job, due_ms) VALUES (1, 'update_reminder', '{\"job\":\"update_reminder\"}', 1767605400000)",
        "INSERT INTO outbox (destination, post, created_ms, next_attempt_ms)
         VALUES ('{\"kind\":\"channel\",\"channel\":\"ops\"}', '{\"title\":\"Left over\",\"body\":\"\",\"fields\":[],\"tone\":\"info\",\"pings\":[]}', 1, 1)",
    ] {
        sqlx::query(sql).execute(&old).await.unwrap();
    }
    old.close().await;

    let store = Store::connect(url).await.unwrap();
    let backend = if url.starts_with("sqlite:") { "sqlite" } else { "postgres" };
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../commands/migrations").join(backend);
    let newer =
        std::fs::read_dir(all).unwrap().filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with("20261125")).count();
    assert_eq!(store.migrate().await.unwrap(), newer, "every migration since that release, once");
    let incident = store.incident(1).await.unwrap().expect("the incident survived");
    assert_eq!((incident.commander.id.as_str(), incident.commander.name.as_str()), ("legacy:bob", "bob"));
    assert_eq!(incident.acked.map(|(_, by)| by.id).as_deref(), Some("legacy:bob"));
    assert_eq!(incident.channel_key.as_deref(), Some("#inc-1"), "its thread is its place");
    assert_eq!(store.incident_in_channel("#inc-1").await.unwrap().map(|i| i.id), Some(1));
    assert_eq!(store.timeline(1).await.unwrap()[0].actor.id, "legacy:alice");
    let pending = store.pending_timers(Subject::incident(1)).await.unwrap();
    assert_eq!(pending.iter().map(|(kind, _)| kind.as_str()).collect::<Vec<_>>(), ["update_reminder"]);
    assert_eq!(store.pending_ops().await.unwrap(), 1, "the undelivered post still waits");

    // Nobody inherits the old commander's rights by taking the name `bob`.
    let clock = Arc::new(ManualClock::new(bellhop::shell::virtual_start()));
    let core = bellhop_tests::core_on(url, clock).await;
    let namesake = Actor::new("shell:bob", "bob", []);
    let reply = core.handle(&namesake, &Invocation::new("incident update").option("id", "INC-1").option("text", "x")).await;
    assert_eq!(reply.post.body, "`/incident update` is for a responder; ask an admin for the role.");
    let port = std::sync::Arc::new(bellhop_tests::CollectingPort::default());
    core.deliver_outbox(&port).await.unwrap();
    assert_eq!(port.titles(), ["Left over"]);
}
