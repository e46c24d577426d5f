//! Alert claims, webhook groups, shared counts and leases on both backends: two replicas on one
//! store announce each change once, and take over from each other.

use super::*;
use crate::alerts::{BucketRow, Counts, Notification, OpenAlert, Series, Source, WebhookAlert};
use chrono::Duration;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions as _;
use std::collections::BTreeMap;

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

fn firing(id: i64) -> Series {
    let open = OpenAlert {
        id,
        since: t0(),
        edited: t0(),
        reminded: t0(),
        shown: "15%".into(),
        firing: Default::default(),
        peak: Default::default(),
    };
    Series { version: 0, phases: BTreeMap::new(), open: Some(open) }
}

/// Both replicas claim the same change of invite-user from `expected`; returns the versions won.
async fn both(one: &Store, two: &Store, expected: i64, next: &Series) -> Vec<i64> {
    let claim = |store: &Store| {
        let next = next.clone();
        let store = store.clone();
        async move {
            let mut tx = store.begin(t0()).await.unwrap();
            let won = tx.claim_series("invite-user", expected, &next).await.unwrap();
            tx.commit().await.unwrap();
            won
        }
    };
    let (a, b) = tokio::join!(claim(one), claim(two));
    [a, b].into_iter().flatten().collect()
}

async fn replicas_claim_each_change_once(url: &str) {
    let one = Store::connect(url).await.unwrap();
    one.migrate().await.unwrap();
    let two = Store::connect(url).await.unwrap();
    assert_eq!(both(&one, &two, 0, &firing(1)).await, [1], "one replica announces the alert");
    assert!(both(&one, &two, 0, &firing(1)).await.is_empty(), "nobody announces it twice");
    assert_eq!(both(&one, &two, 1, &firing(1)).await, [2], "the next change, once");
    assert!(both(&one, &two, 1, &firing(1)).await.is_empty(), "a stale evaluator loses");
    let stored = two.alert_series_of("invite-user").await.unwrap();
    assert_eq!((stored.version, stored.open.map(|o| o.id)), (2, Some(1)), "the state comes back for a new evaluator");
    assert_eq!(one.alert_series().await.unwrap().len(), 1);
}

fn alert(fingerprint: &str, firing: bool) -> WebhookAlert {
    WebhookAlert {
        fingerprint: fingerprint.into(),
        firing,
        name: "HighErrors".into(),
        summary: "5xx up".into(),
        description: String::new(),
        starts_at: t0(),
        ends_at: (!firing).then(|| t0() + Duration::minutes(5)),
        link: None,
        labels: BTreeMap::from([("severity".into(), "critical".into())]),
    }
}

fn notification(alerts: Vec<WebhookAlert>) -> Notification {
    Notification {
        source: Source::Alertmanager,
        group_key: "{}:{alertname=\"HighErrors\"}".into(),
        receiver: "bellhop".into(),
        common_labels: BTreeMap::new(),
        external_url: String::new(),
        truncated: 0,
        alerts,
    }
}

async fn a_group_changes_only_when_its_content_does(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let first = store.receive_notification(&notification(vec![alert("a1", true)]), t0()).await.unwrap();
    assert!(first.changed);
    let retry = store.receive_notification(&notification(vec![alert("a1", true)]), t0() + Duration::seconds(30)).await.unwrap();
    assert!(!retry.changed, "a retried notification changes nothing");
    assert_eq!(retry.group, first.group);
    let mut other = notification(vec![alert("c3", true)]);
    other.group_key = "{}:{alertname=\"SlowLogins\"}".into();
    assert_eq!(store.receive_notification(&other, t0()).await.unwrap().group, first.group + 1, "repeats use up no group number");
    assert_eq!(store.pending_groups(10).await.unwrap(), [(first.group, 1), (first.group + 1, 1)]);
    let mut tx = store.begin(t0()).await.unwrap();
    assert!(tx.claim_group(first.group, 1).await.unwrap());
    assert!(!tx.claim_group(first.group, 1).await.unwrap(), "a version is announced once");
    assert!(tx.claim_group(first.group + 1, 1).await.unwrap());
    tx.commit().await.unwrap();
    assert!(store.pending_groups(10).await.unwrap().is_empty());
    let second = store.receive_notification(&notification(vec![alert("a1", true), alert("b2", true)]), t0()).await.unwrap();
    assert!(second.changed);
    // The sender lists the whole group: an alert it no longer lists ended.
    let third = store.receive_notification(&notification(vec![alert("b2", true)]), t0() + Duration::minutes(1)).await.unwrap();
    assert!(third.changed);
    let mut tx = store.begin(t0()).await.unwrap();
    let group = tx.group(first.group).await.unwrap();
    tx.commit().await.unwrap();
    let states: Vec<(&str, bool)> = group.figures.alerts.iter().map(|a| (a.fingerprint.as_str(), a.firing)).collect();
    assert_eq!(states, [("b2", true), ("a1", false)]);
}

async fn a_group_keeps_its_cap_and_counts_the_firing_alerts_beyond_it(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let many: Vec<WebhookAlert> = (0..150).map(|i| alert(&format!("f{i:03}"), i < 130)).collect();
    let receipt = store.receive_notification(&notification(many), t0()).await.unwrap();
    assert_eq!((receipt.alerts, receipt.kept), (150, crate::alerts::MAX_ALERTS), "the receipt says how many were kept");
    let mut tx = store.begin(t0()).await.unwrap();
    let group = tx.group(receipt.group).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(group.figures.alerts.len(), crate::alerts::MAX_ALERTS);
    assert!(group.figures.alerts.iter().all(|a| a.firing), "firing alerts are kept before resolved ones");
    assert_eq!(group.figures.truncated, 30, "the 30 firing alerts beyond the cap are counted for the post");
}

async fn shared_counts_and_the_lease_pass_between_replicas(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let row = |total| BucketRow {
        function: "invite-user".into(),
        slot: 100,
        counts: Counts { total, failures: 1, latency_sum_ms: 10 },
        tenants: vec![("hotel-1".into(), total, 1)],
    };
    store.flush_buckets("a", &[row(5)], t0()).await.unwrap();
    store.flush_buckets("a", &[row(7)], t0()).await.unwrap();
    store.flush_buckets("b", &[row(2)], t0()).await.unwrap();
    let seen = store.read_buckets("b", 0, 0).await.unwrap();
    assert_eq!(seen, [("a".to_string(), row(7))], "a replica's newest counts, not its own");
    assert!(store.read_buckets("b", 0, 101).await.unwrap().is_empty(), "slots no window reads are left out");
    assert_eq!(store.prune_buckets(101).await.unwrap(), 2);
    let until = t0() + Duration::seconds(5);
    assert!(store.hold_lease("alerts", "a", t0(), until).await.unwrap());
    assert!(!store.hold_lease("alerts", "b", t0() + Duration::seconds(1), until).await.unwrap(), "held by a");
    assert!(store.hold_lease("alerts", "a", t0() + Duration::seconds(1), until + Duration::seconds(1)).await.unwrap(), "renewed");
    let later = t0() + Duration::seconds(7);
    assert!(store.hold_lease("alerts", "b", later, later + Duration::seconds(5)).await.unwrap(), "a stopped renewing: b takes over");
    assert_eq!(store.lease_holder("alerts", later).await.unwrap().as_deref(), Some("b"));
    store.release_lease("alerts", "b").await.unwrap();
    assert!(store.hold_lease("alerts", "a", later, later + Duration::seconds(5)).await.unwrap(), "released: free at once");
}

macro_rules! on_both {
    ($name:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            $name(&format!("sqlite:{}", dir.path().join("s.sqlite").display())).await;
        }

        #[sqlx::test(migrations = false)]
        async fn $postgres(_: PgPoolOptions, options: PgConnectOptions) {
            $name(options.to_url_lossy().as_str()).await;
        }
    };
}

on_both!(replicas_claim_each_change_once, sqlite_replicas_claim_each_change_once, postgres_replicas_claim_each_change_once);
on_both!(a_group_changes_only_when_its_content_does, sqlite_groups_change_with_content, postgres_groups_change_with_content);
on_both!(shared_counts_and_the_lease_pass_between_replicas, sqlite_counts_and_lease_are_shared, postgres_counts_and_lease_are_shared);
on_both!(a_group_keeps_its_cap_and_counts_the_firing_alerts_beyond_it, sqlite_group_cap_is_counted, postgres_group_cap_is_counted);
