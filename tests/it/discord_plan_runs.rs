//! Approved plans run each in a task of their own, through the real serenity/poise client and the
//! fake Discord, against the Supabase-shaped fixture: two plans at quorum together both run with
//! neither waiting for the other, and a long purge delays no other plan past its expiry. The
//! database holds a write where the test says (`HeldWrite`), so "still running" is a fact the
//! test sees, not a race it hopes to win.

use bellhop_commands::remediation::{Plan, PlanState};
use bellhop_commands::ManualClock;
use bellhop_tests::discord_gate::{ask, ask_to_disable, bob, bot, bot_at, carol, done, edit_where, edits, flag_on, react};
use bellhop_tests::held_write::HeldWrite;
use bellhop_tests::BellhopTester;
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;
use std::sync::Arc;

/// Batches of 100 sessions, so the purge of the fixture's old sessions takes several.
const SMALL_BATCHES: (&str, &str) = ("BELLHOP_PURGE_BATCH", "100");

const IN_SCOPE: &str = "SELECT count(*) FROM auth.sessions WHERE created_at < now() - interval '7 days'";

async fn count(admin: &PgConnectOptions, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut admin.connect().await.unwrap()).await.unwrap()
}

/// Holds the purge at its last batch: the delete of the in-scope session the batches reach last
/// (they walk the table in physical order) waits until released.
async fn hold_the_purges_last_batch(admin: &PgConnectOptions) -> HeldWrite {
    let last: String =
        sqlx::query_scalar("SELECT id::text FROM auth.sessions WHERE created_at < now() - interval '8 days' ORDER BY ctid DESC LIMIT 1")
            .fetch_one(&mut admin.connect().await.unwrap())
            .await
            .unwrap();
    HeldWrite::hold(admin, "auth.sessions", "id", &last, 1).await
}

async fn ask_to_purge(t: &BellhopTester) -> String {
    ask(t, "sessions purge", &[("older_than", json!("7d"))]).await
}

/// Waits for the purge's post to say how far its batches got.
async fn purge_progress(t: &BellhopTester, message: &str) {
    edit_where(t, message, "the purge's progress", |b| b.to_string().contains("session(s) so far")).await;
}

async fn state(t: &BellhopTester, id: i64) -> PlanState {
    Plan::from_stored(t.core.store(), id).await.unwrap().expect("the plan exists").state
}

/// Both plans reach quorum together. Each is held at its write in turn: the purge gets through
/// its first batches while the flag plan waits at its write, and the flag plan finishes while
/// the purge waits at its last batch. Run one after the other, either order would hang here.
#[sqlx::test(migrations = false)]
async fn two_plans_at_quorum_together_both_run_and_neither_waits_for_the_other(_: PgPoolOptions, admin: PgConnectOptions) {
    let t = bot(&admin, &[SMALL_BATCHES]).await;
    let purge = ask_to_purge(&t).await;
    let flag = ask_to_disable(&t, "housekeeping-board").await;
    let purge_held = hold_the_purges_last_batch(&admin).await;
    let flag_held = HeldWrite::hold(&admin, "public.feature_flags", "flag_name", "housekeeping-board", 2).await;
    for approver in [bob(), carol()] {
        react(&t, &purge, &approver);
        react(&t, &flag, &approver);
    }

    purge_progress(&t, &purge).await;
    edit_where(&t, &flag, "the flag plan claimed", |b| b.to_string().contains("running now")).await;
    assert!(flag_on(&admin, "housekeeping-board").await, "the flag plan is held at its write");
    flag_held.release().await;
    done(&t, &flag, 2).await;
    assert!(!flag_on(&admin, "housekeeping-board").await, "the flag plan ran while the purge is held");
    assert_eq!(state(&t, 1).await, PlanState::Executing, "the purge is still running");
    assert!(count(&admin, IN_SCOPE).await > 0, "the purge has sessions left to delete");

    purge_held.release().await;
    done(&t, &purge, 1).await;
    assert_eq!(count(&admin, IN_SCOPE).await, 0);
    let audit = t.core.store().recent_audit(100).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.outcome.starts_with("done")).count(), 2, "each ran once: {audit:?}");
    assert!(t.fake.read(|s| s.refusals.is_empty()), "{:?}", t.fake.read(|s| s.refusals.clone()));
}

/// A purge still deleting, and a plan asked with it whose quorum came a minute before its expiry:
/// that plan runs beside the purge, the clock moves past both plans' expiries while the purge
/// is held, the expiry timers leave both alone, and each ends done, never expired.
#[sqlx::test(migrations = false)]
async fn a_long_purge_delays_no_plan_past_its_expiry(_: PgPoolOptions, admin: PgConnectOptions) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let t = bot_at(&admin, &[SMALL_BATCHES], clock.clone()).await;
    let purge = ask_to_purge(&t).await;
    let flag = ask_to_disable(&t, "housekeeping-board").await;
    let purge_held = hold_the_purges_last_batch(&admin).await;
    // Plans wait 15 minutes for their approvals: both reach quorum with a minute left.
    clock.advance(chrono::Duration::minutes(14));
    for approver in [bob(), carol()] {
        react(&t, &purge, &approver);
        react(&t, &flag, &approver);
    }
    purge_progress(&t, &purge).await;

    clock.advance(chrono::Duration::minutes(2));
    t.core.run_due().await.expect("the due timers run");
    done(&t, &flag, 2).await;
    assert!(!flag_on(&admin, "housekeeping-board").await);
    assert_eq!(state(&t, 1).await, PlanState::Executing, "the purge, past its expiry, is still running");

    purge_held.release().await;
    done(&t, &purge, 1).await;
    assert_eq!(count(&admin, IN_SCOPE).await, 0);
    for (message, id) in [(&purge, 1), (&flag, 2)] {
        assert_ne!(state(&t, id).await, PlanState::Expired);
        let expired: Vec<_> = edits(&t, message).into_iter().filter(|b| b.to_string().to_lowercase().contains("expired")).collect();
        assert!(expired.is_empty(), "PLAN-{id}'s post never says expired: {expired:?}");
    }
}
