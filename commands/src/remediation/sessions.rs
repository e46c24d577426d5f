//! `/sessions purge`: the runbook's "clear problematic sessions", counted first (with the
//! refresh tokens and MFA claims that cascade) and deleted in batches so no lock is held long.

use super::plan::{Executed, Preview, Progress};
use crate::error::UserError;
use crate::target::TargetDb;
use std::collections::BTreeMap;

/// Shortest and longest `older_than:` accepted.
const MIN_AGE_SECS: i64 = 3_600;
const MAX_AGE_SECS: i64 = 3_650 * 86_400;

/// The sessions in scope: created before the cutoff, of one user (id or e-mail) or of all.
const SCOPE: &str = "s.created_at < now() - make_interval(secs => $1::double precision)
  AND ($2::text IS NULL OR s.user_id IN (SELECT u.id FROM auth.users u WHERE u.id::text = $2 OR lower(u.email) = $2))";

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
pub async fn preview(target: &TargetDb, older_than: i64, user: Option<&str>) -> Result<Preview, UserError> {
    let sentence = |e: crate::target::TargetError| UserError::new(e.to_string());
    let mut tx = target.read().await.map_err(sentence)?;
    if let Some(user) = user {
        let found: i64 = sqlx::query_scalar(USER_EXISTS).bind(user).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
        if found == 0 {
            return Err(UserError::new(format!("No auth user has the id or e-mail {}.", crate::text::quote(user))));
        }
    }
    let sql = format!(
        "WITH doomed AS MATERIALIZED (SELECT s.id FROM auth.sessions s WHERE {SCOPE})
         SELECT (SELECT count(*) FROM doomed),
                (SELECT count(*) FROM auth.refresh_tokens WHERE session_id IN (SELECT id FROM doomed)),
                (SELECT count(*) FROM auth.mfa_amr_claims WHERE session_id IN (SELECT id FROM doomed))"
    );
    let (sessions, tokens, claims): (i64, i64, i64) =
        sqlx::query_as(&sql).bind(older_than).bind(user).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    let lines = vec![
        format!("{sessions} session(s), {tokens} refresh token(s) and {claims} MFA claim(s) would be deleted."),
        "Those users will have to sign in again; access tokens already issued stay valid until they expire.".to_string(),
    ];
    Ok(Preview { rows: sessions, lines, figures: figures(sessions, tokens, claims) })
}

/// Deletes in batches of `batch`, each its own transaction with the timeouts, reporting progress
/// against `expected` (the count the drift guard just made). Each batch deletes the rows it picked
/// by their physical address: no second trip through the primary key. A row updated meanwhile
/// has moved and is left for a later batch.
pub async fn execute(
    target: &TargetDb,
    older_than: i64,
    user: Option<&str>,
    batch: i64,
    expected: i64,
    progress: &dyn Progress,
) -> Result<Executed, String> {
    let sql = format!(
        "WITH doomed AS MATERIALIZED (SELECT s.ctid AS at, s.id FROM auth.sessions s WHERE {SCOPE} LIMIT $3),
              tokens AS (SELECT count(*) AS n FROM auth.refresh_tokens WHERE session_id IN (SELECT id FROM doomed)),
              claims AS (SELECT count(*) AS n FROM auth.mfa_amr_claims WHERE session_id IN (SELECT id FROM doomed)),
              gone AS (DELETE FROM auth.sessions WHERE ctid = ANY(ARRAY(SELECT at FROM doomed)) RETURNING 1)
         SELECT (SELECT count(*) FROM gone), (SELECT n FROM tokens), (SELECT n FROM claims), (SELECT count(*) FROM doomed)"
    );
    let (mut sessions, mut tokens, mut claims) = (0i64, 0i64, 0i64);
    loop {
        let mut tx = target.write().await.map_err(|e| e.to_string())?;
        let (gone, t, c, picked): (i64, i64, i64, i64) = sqlx::query_as(&sql)
            .bind(older_than)
            .bind(user)
            .bind(batch.max(1))
            .fetch_one(tx.conn())
            .await
            .map_err(|e| tx.error(e).to_string())?;
        tx.commit().await.map_err(|e| e.to_string())?;
        (sessions, tokens, claims) = (sessions.saturating_add(gone), tokens.saturating_add(t), claims.saturating_add(c));
        if picked < batch.max(1) || gone == 0 {
            break;
        }
        progress.report(sessions, expected.max(sessions)).await;
    }
    let left = left_in_scope(target, older_than, user).await.map_err(|e| e.to_string())?;
    let verification = format!("{left} session(s) in scope remain");
    Ok(Executed { rows: sessions, figures: figures(sessions, tokens, claims), verification, saved: None })
}

/// The verification: sessions still in scope, counted alone.
async fn left_in_scope(target: &TargetDb, older_than: i64, user: Option<&str>) -> Result<i64, crate::target::TargetError> {
    let mut tx = target.read().await?;
    let sql = format!("SELECT count(*) FROM auth.sessions s WHERE {SCOPE}");
    let left = sqlx::query_scalar(&sql).bind(older_than).bind(user).fetch_one(tx.conn()).await;
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
