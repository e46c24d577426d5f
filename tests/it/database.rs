//! The database probe and the PostgreSQL store, against the real PostgreSQL server.

use bellhop_commands::health::{HealthChecker, HealthSettings, Status};
use bellhop_commands::store::{AuditEntry, Backend, Store};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::ConnectOptions;
use std::time::Duration;

fn database_only(url: &str) -> HealthSettings {
    HealthSettings {
        frontend_url: None,
        supabase_url: None,
        anon_key: None,
        db_url: Some(SecretString::from(url.to_string())),
        functions: vec![],
        rest_table: "plans".into(),
        timeout: Duration::from_secs(5),
        slow_after: Duration::from_secs(4),
    }
}

async fn probe(url: &str) -> (Status, String) {
    let sweep = HealthChecker::new(database_only(url)).sweep().await;
    let db = sweep.targets.into_iter().find(|t| t.name == "database").unwrap();
    (db.status, db.detail)
}

#[sqlx::test(migrations = false)]
async fn the_database_probe_selects_one(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let (status, detail) = probe(options.to_url_lossy().as_str()).await;
    assert_eq!((status, detail.as_str()), (Status::Up, "SELECT 1 answered"));
}

#[sqlx::test(migrations = false)]
async fn an_unknown_role_is_misconfigured_and_its_password_stays_hidden(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let url = options.username("no_such_role_bellhop").password("hunter2").to_url_lossy();
    let (status, detail) = probe(url.as_str()).await;
    assert_eq!(status, Status::Misconfigured, "{detail}");
    assert!(!detail.contains("hunter2"));
}

#[tokio::test]
async fn a_refused_database_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (status, detail) = probe(&format!("postgres://bellhop:hunter2@127.0.0.1:{port}/x")).await;
    assert_eq!((status, detail.as_str()), (Status::Down, "connection refused"));
}

#[sqlx::test(migrations = false)]
async fn the_postgres_store_migrates_once_and_keeps_the_audit_trail(_: sqlx::postgres::PgPoolOptions, options: PgConnectOptions) {
    let store = Store::connect(options.to_url_lossy().as_str()).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    store_contract(store).await;
}

#[tokio::test]
async fn the_sqlite_store_migrates_once_and_keeps_the_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("state.sqlite").display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store_contract(store).await;
}

/// What every backend must do alike.
async fn store_contract(store: Store) {
    assert!(store.migrate().await.unwrap() >= 1);
    assert_eq!(store.migrate().await.unwrap(), 0, "a second migrate applies nothing");
    let at = chrono::DateTime::from_timestamp_millis(1_767_600_000_123).unwrap();
    for (n, command) in ["/health", "/template show name:'; DROP TABLE audit; --", "/health 🚨"].iter().enumerate() {
        let entry =
            AuditEntry { at, actor_id: format!("u{n}"), actor_name: "ålice".into(), command: command.to_string(), outcome: "ok".into() };
        store.record_audit(&entry).await.unwrap();
    }
    let recent = store.recent_audit(2).await.unwrap();
    let commands: Vec<&str> = recent.iter().map(|e| e.command.as_str()).collect();
    assert_eq!(commands, ["/health 🚨", "/template show name:'; DROP TABLE audit; --"]);
    assert_eq!(recent[0].at, at);
    assert_eq!(recent[0].actor_name, "ålice");
}
