//! `/auth confirm-stuck older_than:1d`: the runbook's email-confirmation reset, corrected to
//! email users only. The runbook's own statement also confirms phone-only and anonymous users;
//! the preview counts those it leaves alone, and the verification counts what is still stuck.

use super::plan::{Executed, Preview};
use crate::error::UserError;
use crate::target::TargetDb;
use std::collections::BTreeMap;

/// Users whose email confirmation is stuck: email sign-ups, not anonymous, not deleted.
const STUCK: &str = "email_confirmed_at IS NULL AND email IS NOT NULL AND NOT is_anonymous AND deleted_at IS NULL
     AND created_at < now() - make_interval(secs => $1)";
/// What the runbook's statement would also have confirmed: phone-only and anonymous users.
const SPARED: &str = "SELECT count(*) FROM auth.users
     WHERE email_confirmed_at IS NULL AND created_at < now() - make_interval(secs => $1)
       AND (email IS NULL OR is_anonymous OR deleted_at IS NOT NULL)";

pub async fn preview(target: &TargetDb, older_than_secs: i64) -> Result<Preview, UserError> {
    let stuck = count(target, &format!("SELECT count(*) FROM auth.users WHERE {STUCK}"), older_than_secs).await?;
    let spared = count(target, SPARED, older_than_secs).await?;
    let lines = vec![
        format!("{stuck} email user(s) have waited longer than that for their confirmation; they will be confirmed."),
        format!("{spared} phone-only, anonymous or deleted user(s) are left alone (the runbook's statement would confirm them too)."),
    ];
    let figures = BTreeMap::from([("users".to_string(), stuck), ("spared".to_string(), spared)]);
    Ok(Preview { rows: stuck, lines, figures })
}

/// Confirms them in one transaction, then counts what is still stuck.
pub async fn execute(target: &TargetDb, older_than_secs: i64) -> Result<Executed, String> {
    let mut tx = target.write().await.map_err(|e| e.to_string())?;
    // Setting email_confirmed_at recomputes the generated confirmed_at column.
    let sql = format!("UPDATE auth.users SET email_confirmed_at = now(), updated_at = now() WHERE {STUCK}");
    let done = sqlx::query(&sql).bind(older_than_secs as f64).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    let left =
        count(target, &format!("SELECT count(*) FROM auth.users WHERE {STUCK}"), older_than_secs).await.map_err(|e| e.to_string())?;
    let rows = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    let verification = format!("read back: {left} email user(s) still unconfirmed past that age");
    Ok(Executed { rows, figures: BTreeMap::from([("users".to_string(), rows)]), verification, saved: None })
}

async fn count(target: &TargetDb, sql: &str, older_than_secs: i64) -> Result<i64, UserError> {
    let mut tx = target.read().await.map_err(|e| UserError::new(e.to_string()))?;
    sqlx::query_scalar(sql).bind(older_than_secs as f64).fetch_one(tx.conn()).await.map_err(|e| UserError::new(tx.error(e).to_string()))
}
