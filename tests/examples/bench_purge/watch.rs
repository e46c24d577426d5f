//! What the rest of the platform feels while a purge runs, each from a connection of its own:
//! a session refresh that conflicts with the purge's row locks, a sign-in that does not, and a
//! sampler of the purge's lock on `auth.sessions` in `pg_locks`.

use sqlx::{Connection, PgConnection};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Pause between two probes, so they do not compete with the purge for the CPU.
const PACE: Duration = Duration::from_millis(5);
/// The sampler's period: its figure is a lower bound, short by up to this.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);
/// Longer than any purge here, so a probe's wait is measured, never cut short.
const PROBE_LOCK_TIMEOUT: &str = "300s";

/// Waits seen by one probe.
#[derive(Clone, Copy, Debug, Default)]
pub struct Waits {
    pub probes: usize,
    /// Probes that waited 100 ms or more.
    pub blocked: usize,
    pub longest: Duration,
}

impl Waits {
    fn record(&mut self, waited: Duration) {
        self.probes += 1;
        self.blocked += usize::from(waited >= Duration::from_millis(100));
        self.longest = self.longest.max(waited);
    }
}

/// The purge's write transactions as the sampler saw them.
#[derive(Clone, Copy, Debug, Default)]
pub struct Holds {
    pub transactions: usize,
    pub longest: Duration,
}

/// A token refresh of the in-scope session that comes first in the table: the purge deletes in
/// table order, so that row is the one its current transaction locked first and holds longest.
/// The UPDATE waits until that transaction commits; the wait is what a user refreshing a
/// session being purged waits. Rolled back, so it changes nothing. In scope means created before
/// `cutoff_ms`, the purge's own cutoff: a session that ages past a moving one while the purge
/// runs is not the purge's, and would hold the probe on a row nobody locks.
pub async fn refreshes(mut conn: PgConnection, cutoff_ms: i64, stop: watch::Receiver<bool>) -> anyhow::Result<Waits> {
    let mut waits = Waits::default();
    // The block to look from: everything before it is already deleted or out of scope.
    let mut from = "(0,0)".to_string();
    while !*stop.borrow() {
        let mut tx = conn.begin().await?;
        // Without synchronised scans a scan of the table starts at its first block, never
        // where another scan happens to be.
        sqlx::query("SELECT set_config('lock_timeout', $1, true), set_config('synchronize_seqscans', 'off', true)")
            .bind(PROBE_LOCK_TIMEOUT)
            .execute(&mut *tx)
            .await?;
        let first: Option<(String, String)> = sqlx::query_as(
            "SELECT ctid::text, id::text FROM auth.sessions
             WHERE ctid >= $1::tid AND created_at < to_timestamp($2::double precision / 1000)
             LIMIT 1",
        )
        .bind(&from)
        .bind(cutoff_ms)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((ctid, id)) = first {
            from = format!("({},0)", ctid.trim_start_matches('(').split(',').next().unwrap_or("0"));
            let started = Instant::now();
            sqlx::query("UPDATE auth.sessions SET refreshed_at = now()::timestamp, updated_at = now() WHERE id = $1::uuid")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            waits.record(started.elapsed());
        }
        tx.rollback().await?;
        tokio::time::sleep(PACE).await;
    }
    Ok(waits)
}

/// A sign-in: a new session and its refresh token, rolled back. It touches no row the purge
/// deletes, so any wait is the purge's load, not its locks.
pub async fn sign_ins(mut conn: PgConnection, stop: watch::Receiver<bool>) -> anyhow::Result<Waits> {
    let mut waits = Waits::default();
    while !*stop.borrow() {
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT set_config('lock_timeout', $1, true)").bind(PROBE_LOCK_TIMEOUT).execute(&mut *tx).await?;
        let started = Instant::now();
        sqlx::query(
            "WITH s AS (INSERT INTO auth.sessions (id, user_id, created_at, updated_at, aal)
                        VALUES (gen_random_uuid(), md5('user-1')::uuid, now(), now(), 'aal1') RETURNING id, user_id)
             INSERT INTO auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, session_id)
             SELECT '00000000-0000-0000-0000-000000000000', md5(random()::text), user_id::text, false, now(), now(), id FROM s",
        )
        .execute(&mut *tx)
        .await?;
        waits.record(started.elapsed());
        tx.rollback().await?;
        tokio::time::sleep(PACE).await;
    }
    Ok(waits)
}

/// Samples `pg_locks` for the purge's ROW EXCLUSIVE lock on `auth.sessions` (its connections
/// carry `application_name`). A row the purge deletes stays locked until the transaction that
/// deleted it commits, so the longest such transaction bounds every row lock it held.
pub async fn locks(mut conn: PgConnection, application_name: &str, stop: watch::Receiver<bool>) -> anyhow::Result<Holds> {
    // (pid, transaction start in µs) → seconds it was last seen holding the lock.
    let mut seen: HashMap<(i32, i64), f64> = HashMap::new();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tick.tick().await;
        let rows: Vec<(i32, i64, f64)> = sqlx::query_as(
            "SELECT a.pid, (extract(epoch FROM a.xact_start) * 1e6)::bigint,
                    extract(epoch FROM clock_timestamp() - a.xact_start)::float8
             FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'relation' AND l.relation = 'auth.sessions'::regclass
               AND l.mode = 'RowExclusiveLock' AND l.granted
               AND a.application_name = $1 AND a.xact_start IS NOT NULL",
        )
        .bind(application_name)
        .fetch_all(&mut conn)
        .await?;
        for (pid, start, held) in rows {
            let longest = seen.entry((pid, start)).or_default();
            *longest = longest.max(held);
        }
    }
    let longest = seen.values().copied().fold(0.0, f64::max);
    Ok(Holds { transactions: seen.len(), longest: Duration::from_secs_f64(longest) })
}
