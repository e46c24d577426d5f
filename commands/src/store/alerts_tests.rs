//! Alert claims and inbound alerts on both backends: two replicas on one store announce once.

use super::*;
use crate::alerts::{AlertSettings, Reading, Source};
use chrono::Duration;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions as _;

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

fn transition(change: Change, at: DateTime<Utc>) -> Transition {
    let phase = match change {
        Change::Resolved => Phase::Ok,
        _ => Phase::Firing { since: t0(), notified: at, updated: at, shown: "15%".into(), quiet_since: None },
    };
    Transition {
        rule: RuleKind::ErrorRate,
        function: "invite-user".into(),
        change,
        reading: Some(Reading { value: 15.0, threshold: 5.0, samples: 40, failures: 6 }),
        since: t0(),
        at,
        window_minutes: 5,
        top_tenants: Vec::new(),
        phase,
    }
}

/// Both replicas try every change; returns the episodes each won.
async fn both(one: &Store, two: &Store, t: &Transition) -> Vec<i64> {
    let timing = AlertSettings::default().timing;
    let (a, b) = tokio::join!(one.claim_alert(t, &timing), two.claim_alert(t, &timing));
    [a.unwrap(), b.unwrap()].into_iter().flatten().map(|c| c.episode).collect()
}

async fn replicas_announce_each_change_once(url: &str) {
    let one = Store::connect(url).await.unwrap();
    one.migrate().await.unwrap();
    let two = Store::connect(url).await.unwrap();
    assert_eq!(both(&one, &two, &transition(Change::Fired, t0())).await, [1], "one replica announces the alert");
    assert_eq!(both(&one, &two, &transition(Change::Fired, t0())).await, Vec::<i64>::new(), "nobody announces it twice");
    let early = transition(Change::Updated, t0() + Duration::seconds(20));
    assert!(both(&one, &two, &early).await.is_empty(), "edits wait for update_every");
    assert_eq!(both(&one, &two, &transition(Change::Updated, t0() + Duration::minutes(1))).await, [1]);
    assert!(both(&one, &two, &transition(Change::Renotified, t0() + Duration::minutes(10))).await.is_empty());
    assert_eq!(both(&one, &two, &transition(Change::Renotified, t0() + Duration::minutes(30))).await, [1]);
    let firing = two.firing_alerts().await.unwrap();
    assert_eq!(firing.len(), 1);
    assert_eq!((firing[0].0, firing[0].1.as_str()), (RuleKind::ErrorRate, "invite-user"));
    assert!(matches!(firing[0].2, Phase::Firing { .. }), "the phase comes back for the engine after a restart");
    assert_eq!(both(&one, &two, &transition(Change::Resolved, t0() + Duration::minutes(40))).await, [1]);
    assert!(one.firing_alerts().await.unwrap().is_empty());
    assert!(both(&one, &two, &transition(Change::Resolved, t0() + Duration::minutes(41))).await.is_empty());
    assert_eq!(both(&one, &two, &transition(Change::Fired, t0() + Duration::minutes(50))).await, [2], "a new firing, a new episode");
}

async fn inbound_alerts_are_kept_once_per_change(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let alert = InboundAlert {
        source: Source::Alertmanager,
        fingerprint: "c6e6b5a1f3".into(),
        firing: true,
        name: "EdgeFunctionErrors".into(),
        summary: "invite-user failing; '; DROP TABLE inbound_alerts; --".into(),
        starts_at: t0(),
        ends_at: None,
        detail: "{}".into(),
    };
    assert!(store.record_inbound_alert(&alert, t0()).await.unwrap(), "new");
    assert!(!store.record_inbound_alert(&alert, t0() + Duration::seconds(30)).await.unwrap(), "a retry is no news");
    let resolved = InboundAlert { firing: false, ends_at: Some(t0() + Duration::minutes(5)), ..alert.clone() };
    assert!(store.record_inbound_alert(&resolved, t0() + Duration::minutes(5)).await.unwrap(), "resolved is news");
    assert!(!store.record_inbound_alert(&resolved, t0() + Duration::minutes(6)).await.unwrap());
    assert_eq!(store.inbound_alert_firing(Source::Alertmanager, "c6e6b5a1f3").await.unwrap(), Some(false));
    assert_eq!(store.inbound_alert_firing(Source::Grafana, "c6e6b5a1f3").await.unwrap(), None);
    assert_eq!(store.inbound_alert_count().await.unwrap(), 1);
}

#[tokio::test]
async fn sqlite_replicas_announce_each_alert_change_once() {
    let dir = tempfile::tempdir().unwrap();
    replicas_announce_each_change_once(&format!("sqlite:{}", dir.path().join("s.sqlite").display())).await;
}

#[sqlx::test(migrations = false)]
async fn postgres_replicas_announce_each_alert_change_once(_: PgPoolOptions, options: PgConnectOptions) {
    replicas_announce_each_change_once(options.to_url_lossy().as_str()).await;
}

#[tokio::test]
async fn sqlite_keeps_inbound_alerts_once_per_change() {
    let dir = tempfile::tempdir().unwrap();
    inbound_alerts_are_kept_once_per_change(&format!("sqlite:{}", dir.path().join("s.sqlite").display())).await;
}

#[sqlx::test(migrations = false)]
async fn postgres_keeps_inbound_alerts_once_per_change(_: PgPoolOptions, options: PgConnectOptions) {
    inbound_alerts_are_kept_once_per_change(options.to_url_lossy().as_str()).await;
}
