//! `/sessions purge`: the runbook's "clear problematic sessions", counted first (with the
//! refresh tokens and MFA claims that cascade) and deleted in batches so no lock is held long.

use super::action::Cutoff;
use super::effects::{Executed, Preview, Progress};
use crate::error::UserError;
use crate::target_db::TargetDb;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Shortest and longest `older_than:` accepted.
const MIN_AGE_SECS: i64 = 3_600;
const MAX_AGE_SECS: i64 = 3_650 * 86_400;

/// The sessions in scope: created before the cutoff (`$1` ms, or `$4` seconds before now), of
/// one user (`$2`, id or e-mail) or of all.
fn scope() -> String {
    format!(
        "{} AND ($2::text IS NULL OR s.user_id IN (SELECT u.id FROM auth.users u WHERE u.id::text = $2 OR lower(u.email) = $2))",
        Cutoff::sql("s.created_at", 1, 4)
    )
}

const USER_EXISTS: &str = "SELECT count(*) FROM auth.users u WHERE u.id::text = $1 OR lower(u.email) = $1";

/// `older_than:7d` as seconds, between an hour and ten years.
pub fn parse_age(text: &str) -> Result<i64, UserError> {
    let wrong = || UserError::new(format!("`older_than:` {} is not an age like 7d, 36h or 2w.", crate::text::quote(text)));
    let parsed = humantime::parse_duration(text.trim()).map_err(|_| wrong())?;
    let secs = i64::try_from(parsed.as_secs()).map_err(|_| wrong())?;
    if !(MIN_AGE_SECS..=MAX_AGE_SECS).contains(&secs) {
        return Err(UserError::new("`older_than:` must be between 1h and 3650d."));
    }
    Ok(secs)
}

/// Counts sessions, refresh tokens and MFA claims in scope. Each count joins its table to the
/// sessions in scope, so the planner sees both sides' sizes and picks a hash join: one pass over
/// each table, where a lookup per session took ten times as long on a million.
pub async fn preview(target: &TargetDb, cutoff: Cutoff, user: Option<&str>) -> Result<Preview, UserError> {
    let sentence = |e: crate::target_db::TargetError| UserError::new(e.to_string());
    let mut tx = target.read().await.map_err(sentence)?;
    if let Some(user) = user {
        let found: i64 = sqlx::query_scalar(USER_EXISTS).bind(user).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
        if found == 0 {
            return Err(UserError::new(format!("No auth user has the id or e-mail {}.", crate::text::quote(user))));
        }
    }
    let scope = scope();
    let sql = format!(
        "SELECT (SELECT count(*) FROM auth.sessions s WHERE {scope}),
                (SELECT count(*) FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id WHERE {scope}),
                (SELECT count(*) FROM auth.mfa_amr_claims c JOIN auth.sessions s ON s.id = c.session_id WHERE {scope})"
    );
    let (sessions, tokens, claims): (i64, i64, i64) = sqlx::query_as(&sql)
        .bind(cutoff.at_ms)
        .bind(user)
        .bind(None::<i64>)
        .bind(cutoff.older_than_secs)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| sentence(tx.error(e)))?;
    let lines = vec![
        format!("{sessions} session(s), {tokens} refresh token(s) and {claims} MFA claim(s) would be deleted."),
        "Those users will have to sign in again; access tokens already issued stay valid until they expire.".to_string(),
    ];
    Ok(Preview { rows: sessions, lines, figures: figures(sessions, tokens, claims) })
}

/// The drift guard's count: the sessions in scope, without the cascade's tables.
pub async fn recount(target: &TargetDb, cutoff: Cutoff, user: Option<&str>) -> Result<Preview, UserError> {
    let sessions = left_in_scope(target, cutoff, user).await.map_err(|e| UserError::new(e.to_string()))?;
    let lines = vec![format!("{sessions} session(s) would be deleted.")];
    Ok(Preview { rows: sessions, lines, figures: BTreeMap::from([("sessions".to_string(), sessions)]) })
}

/// How long one batch should hold its row locks: a session refreshed while its row is in a
/// batch waits until the batch commits, and that wait must stay under a quarter second even
/// when a busy server runs a batch twice as slowly as the ones it was sized from.
const BATCH_TARGET: Duration = Duration::from_millis(100);
/// The first batch, before any has been timed: small enough on a cold cache.
const FIRST_BATCH: i64 = 1_000;
/// Batches never shrink below this (unless `purge_batch` is smaller): a one-off stall must not
/// leave the purge crawling.
const SMALLEST_BATCH: i64 = 100;

/// Deletes in batches, each its own transaction with the timeouts, reporting progress against
/// `expected` (the count the drift guard just made), and never more than `most` sessions (what
/// was approved, with the drift guard's margin). Each batch is sized from the one before so its
/// transaction lasts about [`BATCH_TARGET`], never more than `largest` rows.
///
/// The batches walk the table in physical order: each picks up where the last one stopped
/// (`ctid` at or after the last row it picked), so no batch reads again the dead rows of the
/// ones before it, and deletes the rows it picked by their physical address. A row updated meanwhile
/// has moved and is skipped; a row that moved behind the walk, or a session backdated into
/// scope, is left by it: when the read-back finds any, one more walk from the start takes them.
/// Once a batch committed, the purge is done: a read-back that fails says so in its
/// verification.
pub async fn execute(
    target: &TargetDb,
    cutoff: Cutoff,
    user: Option<&str>,
    largest: i64,
    expected: i64,
    most: i64,
    progress: &dyn Progress,
) -> Result<Executed, String> {
    let largest = largest.max(1);
    let mut done = Done::default();
    let failed = |done: &Done, error: String| match done.sessions {
        0 => error,
        gone => format!("{error} ({gone} session(s) were deleted by the batches before it, which stay deleted)"),
    };
    let by_statistics = counts_deletes(target).await.map_err(|e| e.to_string())?;
    let batch = batch_sql(by_statistics);
    let (mut size, mut pace) = (FIRST_BATCH.min(largest), Pace::default());
    let (mut walks, mut batches, mut deleting, mut reading_back) = (0, 0, Duration::ZERO, Duration::ZERO);
    let left = loop {
        walks += 1;
        let mut from = "(0,0)".to_string();
        loop {
            let room = most.saturating_sub(done.sessions);
            if room <= 0 {
                done.capped = true;
                break;
            }
            let take = size.min(room);
            let started = Instant::now();
            let mut tx = target.write().await.map_err(|e| failed(&done, e.to_string()))?;
            sqlx::query(ASYNCHRONOUS_COMMIT).execute(tx.conn()).await.map_err(|e| failed(&done, tx.error(e).to_string()))?;
            let (gone, picked, last, tokens_before, claims_before): (i64, i64, Option<String>, i64, i64) = sqlx::query_as(&batch)
                .bind(cutoff.at_ms)
                .bind(user)
                .bind(take)
                .bind(cutoff.older_than_secs)
                .bind(&from)
                .fetch_one(tx.conn())
                .await
                .map_err(|e| failed(&done, tx.error(e).to_string()))?;
            let (tokens, claims) = if by_statistics {
                // The cascade runs after the statement, so its deletions are read after it.
                let after: (i64, i64) =
                    sqlx::query_as(DELETED_SO_FAR).fetch_one(tx.conn()).await.map_err(|e| failed(&done, tx.error(e).to_string()))?;
                (after.0 - tokens_before, after.1 - claims_before)
            } else {
                (tokens_before, claims_before)
            };
            tx.commit().await.map_err(|e| failed(&done, e.to_string()))?;
            (batches, deleting) = (batches + 1, deleting + started.elapsed());
            done.add(gone, tokens, claims);
            if gone > 0 {
                progress.report(done.sessions, expected.max(done.sessions)).await;
            }
            let Some(last) = last.filter(|_| picked == take) else { break };
            from = last;
            size = pace.next(take, gone, started.elapsed(), largest);
        }
        let counting = Instant::now();
        let left = left_in_scope(target, cutoff, user).await;
        reading_back += counting.elapsed();
        if done.capped || walks == 2 || !matches!(left, Ok(n) if n > 0) {
            break left;
        }
    };
    let mut verification = match left {
        Ok(left) => format!("{left} session(s) in scope remain"),
        Err(error) => format!("done; read-back failed: {error}"),
    };
    let flushing = Instant::now();
    if done.sessions > 0 {
        if let Err(error) = flush(target).await {
            verification.push_str(&format!("; the last batches may not be on disk yet: {error}"));
        }
    }
    // Where a long purge spent its time, for whoever asks why it took so long.
    tracing::info!(
        sessions = done.sessions,
        batches,
        walks,
        deleting_ms = deleting.as_millis() as u64,
        reading_back_ms = reading_back.as_millis() as u64,
        flushing_ms = flushing.elapsed().as_millis() as u64,
        "purge finished"
    );
    if done.capped {
        verification.push_str(&format!("; stopped at {most}, the approved count and the drift margin"));
    }
    Ok(Executed { rows: done.sessions, figures: figures(done.sessions, done.tokens, done.claims), verification, saved: None })
}

/// A batch does not wait for its commit to reach the disk: on this machine a synchronous commit
/// took 3.0 ms and an asynchronous one 0.3 ms (pgbench), against batches of 100 ms. [`flush`]
/// makes them all durable at once before the purge says what it did; visible to everyone they
/// are at once.
const ASYNCHRONOUS_COMMIT: &str = "SELECT set_config('synchronous_commit', 'off', true)";

/// A transaction that takes a transaction id commits synchronously, and PostgreSQL writes a
/// synchronous commit to disk with all the WAL before it: every batch's deletions included.
async fn flush(target: &TargetDb) -> Result<(), crate::target_db::TargetError> {
    let mut tx = target.write().await?;
    let took = sqlx::query("SELECT txid_current()").execute(tx.conn()).await;
    took.map_err(|e| tx.error(e))?;
    tx.commit().await
}

/// What the batches deleted so far.
#[derive(Default)]
struct Done {
    sessions: i64,
    tokens: i64,
    claims: i64,
    capped: bool,
}

impl Done {
    fn add(&mut self, sessions: i64, tokens: i64, claims: i64) {
        self.sessions = self.sessions.saturating_add(sessions);
        self.tokens = self.tokens.saturating_add(tokens);
        self.claims = self.claims.saturating_add(claims);
    }
}

/// This transaction's deletions in the two tables the cascade reaches. PostgreSQL's figures
/// also hold earlier transactions' until they are flushed, so a batch reads them before and
/// after and keeps the difference.
const DELETED_SO_FAR: &str = "SELECT pg_stat_get_xact_tuples_deleted('auth.refresh_tokens'::regclass),
        pg_stat_get_xact_tuples_deleted('auth.mfa_amr_claims'::regclass)";

/// Whether the server counts deletions (`track_counts`, on unless someone turned it off): then
/// the cascade is counted by its own statistics, for nothing; otherwise every batch looks its
/// sessions' tokens and claims up before deleting them.
async fn counts_deletes(target: &TargetDb) -> Result<bool, crate::target_db::TargetError> {
    let mut tx = target.read().await?;
    let on = sqlx::query_scalar("SELECT current_setting('track_counts')::boolean").fetch_one(tx.conn()).await;
    on.map_err(|e| tx.error(e))
}

/// A batch: up to `$3` sessions in scope from the row at `$5` on, deleted by address. It answers
/// the sessions deleted and picked, the last picked row's address, and the refresh tokens and
/// MFA claims: counted, or the statistics as they were before the cascade.
fn batch_sql(by_statistics: bool) -> String {
    let (tokens, claims) = if by_statistics {
        (
            "pg_stat_get_xact_tuples_deleted('auth.refresh_tokens'::regclass)",
            "pg_stat_get_xact_tuples_deleted('auth.mfa_amr_claims'::regclass)",
        )
    } else {
        (
            "(SELECT count(*) FROM auth.refresh_tokens WHERE session_id IN (SELECT id FROM doomed))",
            "(SELECT count(*) FROM auth.mfa_amr_claims WHERE session_id IN (SELECT id FROM doomed))",
        )
    };
    format!(
        "WITH doomed AS MATERIALIZED (SELECT s.ctid AS at, s.id FROM auth.sessions s WHERE s.ctid >= $5::tid AND {} LIMIT $3),
              gone AS (DELETE FROM auth.sessions WHERE ctid = ANY(ARRAY(SELECT at FROM doomed)) RETURNING 1)
         SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM doomed),
                (SELECT max(at) FROM doomed)::text, {tokens}, {claims}",
        scope()
    )
}

/// The pace batches are sized from: the slower of the last two, so one batch that ran fast
/// while the server was idle does not size the next for a server that is busy again.
#[derive(Default)]
struct Pace {
    last: Option<f64>,
}

impl Pace {
    /// The next batch's size after one of `size` rows deleted `gone` in `took`: as many rows as
    /// the slower recent pace fits in [`BATCH_TARGET`], growing at most by half at a time,
    /// between [`SMALLEST_BATCH`] and `largest`.
    fn next(&mut self, size: i64, gone: i64, took: Duration, largest: i64) -> i64 {
        let secs_per_row = took.as_secs_f64() / gone.max(1) as f64;
        let slower = self.last.map_or(secs_per_row, |last| last.max(secs_per_row));
        self.last = Some(secs_per_row);
        let fits = (BATCH_TARGET.as_secs_f64() / slower.max(1e-7)) as i64;
        fits.min(size.saturating_add(size / 2)).clamp(SMALLEST_BATCH.min(largest), largest)
    }
}

/// The verification: sessions still in scope, counted alone.
async fn left_in_scope(target: &TargetDb, cutoff: Cutoff, user: Option<&str>) -> Result<i64, crate::target_db::TargetError> {
    let mut tx = target.read().await?;
    let sql = format!("SELECT count(*) FROM auth.sessions s WHERE {}", scope());
    let left =
        sqlx::query_scalar(&sql).bind(cutoff.at_ms).bind(user).bind(None::<i64>).bind(cutoff.older_than_secs).fetch_one(tx.conn()).await;
    left.map_err(|e| tx.error(e))
}

fn figures(sessions: i64, tokens: i64, claims: i64) -> BTreeMap<String, i64> {
    BTreeMap::from([("sessions".to_string(), sessions), ("refresh_tokens".to_string(), tokens), ("mfa_claims".to_string(), claims)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_people_write_them() {
        assert_eq!(parse_age("7d"), Ok(7 * 86_400));
        assert_eq!(parse_age(" 36h "), Ok(36 * 3_600));
        assert_eq!(parse_age("1m").unwrap_err().to_string(), "`older_than:` must be between 1h and 3650d.");
        assert_eq!(
            parse_age("'; DROP TABLE users; --").unwrap_err().to_string(),
            "`older_than:` `'; DROP TABLE users; --` is not an age like 7d, 36h or 2w."
        );
        assert!(parse_age("99999999999999999999d").is_err());
    }

    #[test]
    fn batches_are_sized_to_the_slower_recent_pace() {
        let mut pace = Pace::default();
        // 1,000 rows in 25 ms: 4,000 would fit, but a batch grows by half at most.
        assert_eq!(pace.next(1_000, 1_000, Duration::from_millis(25), 25_000), 1_500);
        // Slower now (1,500 in 75 ms): 2,000 fit in the target.
        assert_eq!(pace.next(1_500, 1_500, Duration::from_millis(75), 25_000), 2_000);
        // Fast again, but the slower of the last two still sizes it; then this one does.
        assert_eq!(pace.next(2_000, 2_000, Duration::from_millis(20), 25_000), 2_000);
        assert_eq!(pace.next(2_000, 2_000, Duration::from_millis(20), 25_000), 3_000);
        // A stall shrinks the next batch at once, never below the smallest batch.
        assert_eq!(pace.next(3_000, 3_000, Duration::from_secs(30), 25_000), SMALLEST_BATCH);
        // Never more than the configured largest, nor fewer than it when it is tiny.
        assert_eq!(Pace::default().next(20_000, 20_000, Duration::from_millis(1), 25_000), 25_000);
        assert_eq!(Pace::default().next(20, 20, Duration::from_secs(1), 20), 20);
    }
}
