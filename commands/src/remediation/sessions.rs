//! `/sessions purge`: the runbook's "clear problematic sessions", counted first (with the
//! refresh tokens and MFA claims that cascade) and deleted in batches so no lock is held long.

use super::plan::{Cutoff, Executed, Preview, Progress};
use crate::error::UserError;
use crate::target_db::TargetDb;
use std::collections::BTreeMap;

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

/// Counts sessions, refresh tokens and MFA claims in scope.
pub async fn preview(target: &TargetDb, cutoff: Cutoff, user: Option<&str>) -> Result<Preview, UserError> {
    let sentence = |e: crate::target_db::TargetError| UserError::new(e.to_string());
    let mut tx = target.read().await.map_err(sentence)?;
    if let Some(user) = user {
        let found: i64 = sqlx::query_scalar(USER_EXISTS).bind(user).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
        if found == 0 {
            return Err(UserError::new(format!("No auth user has the id or e-mail {}.", crate::text::quote(user))));
        }
    }
    let sql = format!(
        "WITH doomed AS MATERIALIZED (SELECT s.id FROM auth.sessions s WHERE {})
         SELECT (SELECT count(*) FROM doomed),
                (SELECT count(*) FROM auth.refresh_tokens WHERE session_id IN (SELECT id FROM doomed)),
                (SELECT count(*) FROM auth.mfa_amr_claims WHERE session_id IN (SELECT id FROM doomed))",
        scope()
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

/// Deletes in batches of `batch`, each its own transaction with the timeouts, reporting progress
/// against `expected` (the count the drift guard just made), and never more than `most` sessions
/// (what was approved, with the drift guard's margin). Each batch deletes the rows it picked by
/// their physical address: no second trip through the primary key. A row updated meanwhile has
/// moved and is left for a later batch. Once a batch committed, the purge is done: a read-back
/// that fails says so in its verification.
pub async fn execute(
    target: &TargetDb,
    cutoff: Cutoff,
    user: Option<&str>,
    batch: i64,
    expected: i64,
    most: i64,
    progress: &dyn Progress,
) -> Result<Executed, String> {
    let sql = format!(
        "WITH doomed AS MATERIALIZED (SELECT s.ctid AS at, s.id FROM auth.sessions s WHERE {} LIMIT $3),
              tokens AS (SELECT count(*) AS n FROM auth.refresh_tokens WHERE session_id IN (SELECT id FROM doomed)),
              claims AS (SELECT count(*) AS n FROM auth.mfa_amr_claims WHERE session_id IN (SELECT id FROM doomed)),
              gone AS (DELETE FROM auth.sessions WHERE ctid = ANY(ARRAY(SELECT at FROM doomed)) RETURNING 1)
         SELECT (SELECT count(*) FROM gone), (SELECT n FROM tokens), (SELECT n FROM claims), (SELECT count(*) FROM doomed)",
        scope()
    );
    let (mut sessions, mut tokens, mut claims) = (0i64, 0i64, 0i64);
    let mut capped = false;
    loop {
        let room = most.saturating_sub(sessions);
        if room <= 0 {
            capped = true;
            break;
        }
        let size = batch.max(1).min(room);
        let failed = |error: String| match sessions {
            0 => error,
            done => format!("{error} ({done} session(s) were deleted by the batches before it, which stay deleted)"),
        };
        let mut tx = target.write().await.map_err(|e| failed(e.to_string()))?;
        let (gone, t, c, picked): (i64, i64, i64, i64) = sqlx::query_as(&sql)
            .bind(cutoff.at_ms)
            .bind(user)
            .bind(size)
            .bind(cutoff.older_than_secs)
            .fetch_one(tx.conn())
            .await
            .map_err(|e| failed(tx.error(e).to_string()))?;
        tx.commit().await.map_err(|e| failed(e.to_string()))?;
        (sessions, tokens, claims) = (sessions.saturating_add(gone), tokens.saturating_add(t), claims.saturating_add(c));
        if picked < size || gone == 0 {
            break;
        }
        progress.report(sessions, expected.max(sessions)).await;
    }
    let mut verification = match left_in_scope(target, cutoff, user).await {
        Ok(left) => format!("{left} session(s) in scope remain"),
        Err(error) => format!("done; read-back failed: {error}"),
    };
    if capped {
        verification.push_str(&format!("; stopped at {most}, the approved count and the drift margin"));
    }
    Ok(Executed { rows: sessions, figures: figures(sessions, tokens, claims), verification, saved: None })
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
}
