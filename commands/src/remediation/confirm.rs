//! `/auth confirm-stuck older_than:1d`: the runbook's email-confirmation reset, corrected to
//! email users only. The runbook's own statement also confirms phone-only and anonymous users;
//! the preview counts those it leaves alone, and the verification counts what is still stuck.

use super::action::Cutoff;
use super::effects::{Executed, Preview};
use crate::error::UserError;
use crate::target_db::TargetDb;
use std::collections::BTreeMap;

/// Users whose email confirmation is stuck: email sign-ups, not anonymous, not deleted, who signed
/// up before the cutoff (`$1` ms, or `$2` seconds before now).
fn stuck() -> String {
    format!(
        "email_confirmed_at IS NULL AND email IS NOT NULL AND NOT is_anonymous AND deleted_at IS NULL AND {}",
        Cutoff::sql("created_at", 1, 2)
    )
}

/// What the runbook's statement would also have confirmed: phone-only and anonymous users.
fn spared() -> String {
    format!(
        "SELECT count(*) FROM auth.users WHERE email_confirmed_at IS NULL AND {} AND (email IS NULL OR is_anonymous OR deleted_at IS NOT NULL)",
        Cutoff::sql("created_at", 1, 2)
    )
}

pub async fn preview(target: &TargetDb, cutoff: Cutoff) -> Result<Preview, UserError> {
    let stuck = count(target, &format!("SELECT count(*) FROM auth.users WHERE {}", stuck()), cutoff).await?;
    let spared = count(target, &spared(), cutoff).await?;
    let lines = vec![
        format!("{stuck} email user(s) have waited longer than that for their confirmation; they will be confirmed."),
        format!("{spared} phone-only, anonymous or deleted user(s) are left alone (the runbook's statement would confirm them too)."),
    ];
    let figures = BTreeMap::from([("users".to_string(), stuck), ("spared".to_string(), spared)]);
    Ok(Preview { rows: stuck, lines, figures })
}

/// Confirms them in one transaction, then counts what is still stuck; once committed it is
/// done, and a read-back that fails says so in its verification.
pub async fn execute(target: &TargetDb, cutoff: Cutoff) -> Result<Executed, String> {
    let mut tx = target.write().await.map_err(|e| e.to_string())?;
    // Setting email_confirmed_at recomputes the generated confirmed_at column.
    let sql = format!("UPDATE auth.users SET email_confirmed_at = now(), updated_at = now() WHERE {}", stuck());
    let done =
        sqlx::query(&sql).bind(cutoff.at_ms).bind(cutoff.older_than_secs).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let verification = match count(target, &format!("SELECT count(*) FROM auth.users WHERE {}", stuck()), cutoff).await {
        Ok(left) => format!("read back: {left} email user(s) still unconfirmed past that age"),
        Err(error) => format!("done; read-back failed: {error}"),
    };
    let rows = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    Ok(Executed { rows, figures: BTreeMap::from([("users".to_string(), rows)]), verification, saved: None })
}

async fn count(target: &TargetDb, sql: &str, cutoff: Cutoff) -> Result<i64, UserError> {
    let mut tx = target.read().await.map_err(|e| UserError::new(e.to_string()))?;
    sqlx::query_scalar(sql)
        .bind(cutoff.at_ms)
        .bind(cutoff.older_than_secs)
        .fetch_one(tx.conn())
        .await
        .map_err(|e| UserError::new(tx.error(e).to_string()))
}
