//! `/flags disable` and `/flags enable`: the runbook's feature-flag rollback, with its preview
//! (each flag's current state) and its verification (the flags read back) beside it.

use super::effects::{Executed, Preview};
use crate::error::UserError;
use crate::target_db::TargetDb;
use std::collections::BTreeMap;
use std::time::Duration;

/// Flags named in one request, at most.
pub const MAX_NAMES: usize = 25;

/// Discord wants an autocomplete answer within 3 s: a slow or unreachable target gets this long.
const SUGGEST_WAIT: Duration = Duration::from_millis(1_500);
/// Discord refuses a suggested value longer than this.
const MAX_SUGGESTED_CHARS: usize = 100;

const CURRENT: &str = "SELECT flag_name, is_enabled FROM public.feature_flags WHERE flag_name = ANY($1) ORDER BY flag_name";
/// Flags whose name contains what was typed (any case), those starting with it first, minus the
/// ones already listed; 25 at most, Discord's limit for suggestions.
const MATCHING: &str = "SELECT flag_name, coalesce(is_enabled, false) FROM public.feature_flags
 WHERE strpos(lower(flag_name), lower($1)) > 0 AND flag_name <> ALL($2)
 ORDER BY NOT starts_with(lower(flag_name), lower($1)), flag_name
 LIMIT 25";
const SET: &str = "UPDATE public.feature_flags SET is_enabled = $1, updated_at = now() WHERE flag_name = ANY($2)";

/// `names:a,b` as a sorted list without repeats; each name 1–100 characters.
pub fn parse_names(text: &str) -> Result<Vec<String>, UserError> {
    let mut names: Vec<String> = text.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(UserError::new("`names:` needs at least one flag name, like names:new-tenant-flow,trial-signup-v2."));
    }
    if names.len() > MAX_NAMES {
        return Err(UserError::new(format!("`names:` lists {} flags; at most {MAX_NAMES} at once.", names.len())));
    }
    if let Some(long) = names.iter().find(|n| n.chars().count() > 100) {
        return Err(UserError::new(format!("The flag name {} is too long (at most 100 characters).", crate::text::quote(long))));
    }
    Ok(names)
}

/// Each flag's current state; a name that is not a flag is an error, never a silent no-op.
pub async fn preview(target: &TargetDb, names: &[String], enable: bool) -> Result<Preview, UserError> {
    let current = read(target, names).await?;
    let unknown: Vec<&String> = names.iter().filter(|n| !current.contains_key(*n)).collect();
    if !unknown.is_empty() {
        let listed = unknown.iter().map(|n| crate::text::quote(n)).collect::<Vec<_>>().join(", ");
        return Err(UserError::new(format!("No feature flag is named {listed}; /flags list shows them.")));
    }
    let changing = current.values().filter(|on| **on != enable).count() as i64;
    let state = |on: bool| if on { "on" } else { "off" };
    let lines = current.iter().map(|(name, on)| format!("`{name}`: {} → {}", state(*on), state(enable))).collect();
    let figures = BTreeMap::from([("flags".to_string(), current.len() as i64), ("changing".to_string(), changing)]);
    Ok(Preview { rows: current.len() as i64, lines, figures })
}

/// Sets the flags in one transaction and reads them back.
pub async fn execute(target: &TargetDb, names: &[String], enable: bool) -> Result<Executed, String> {
    let mut tx = target.write().await.map_err(|e| e.to_string())?;
    let done = sqlx::query(SET).bind(enable).bind(names).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    // Committed: a read-back that fails is said, never called a failure.
    let verification = match read(target, names).await {
        Err(error) => format!("done; read-back failed: {error}"),
        Ok(after) => {
            let wrong: Vec<&String> = after.iter().filter(|(_, on)| **on != enable).map(|(name, _)| name).collect();
            match wrong.is_empty() && after.len() == names.len() {
                true => format!("read back: {} flag(s) {}", after.len(), if enable { "on" } else { "off" }),
                false => format!("read back: NOT as asked for {}", wrong.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
            }
        }
    };
    let rows = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    Ok(Executed { rows, figures: BTreeMap::from([("flags".to_string(), rows)]), verification, saved: None })
}

/// What `names:` completes to while someone types it: (label, value) pairs where the value
/// keeps the names already typed and completes the last one. Read-only, under a short timeout;
/// a target that is slow, down or refuses gives no suggestions, never an error.
pub async fn suggest(target: &TargetDb, typed: &str) -> Vec<(String, String)> {
    let (earlier, last) = typed.rsplit_once(',').unwrap_or(("", typed));
    let kept: Vec<String> = earlier.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_string).collect();
    let last = last.trim();
    if kept.len() >= MAX_NAMES || last.chars().count() > 100 {
        return Vec::new();
    }
    let found = match tokio::time::timeout(SUGGEST_WAIT, matching(target, last, &kept)).await {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => {
            tracing::debug!(%error, "no flag name suggestions");
            return Vec::new();
        }
        Err(_) => {
            tracing::debug!("no flag name suggestions: the target did not answer in time");
            return Vec::new();
        }
    };
    let after = if kept.is_empty() { String::new() } else { format!(" · after {}", kept.join(", ")) };
    found
        .into_iter()
        .map(|(name, on)| {
            let label = crate::text::ellipsize(&format!("{name} · {}{after}", if on { "on" } else { "off" }), 100);
            (label, kept.iter().chain([&name]).map(String::as_str).collect::<Vec<_>>().join(","))
        })
        .filter(|(_, value)| value.chars().count() <= MAX_SUGGESTED_CHARS)
        .collect()
}

async fn matching(target: &TargetDb, last: &str, kept: &[String]) -> Result<Vec<(String, bool)>, crate::target_db::TargetError> {
    let mut tx = target.read().await?;
    let wait = (SUGGEST_WAIT / 2).as_millis().to_string();
    sqlx::query("SELECT set_config('statement_timeout', $1, true)").bind(wait).execute(tx.conn()).await.map_err(|e| tx.error(e))?;
    sqlx::query_as(MATCHING).bind(last).bind(kept).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))
}

async fn read(target: &TargetDb, names: &[String]) -> Result<BTreeMap<String, bool>, UserError> {
    let mut tx = target.read().await.map_err(|e| UserError::new(e.to_string()))?;
    let rows: Vec<(String, bool)> =
        sqlx::query_as(CURRENT).bind(names).fetch_all(tx.conn()).await.map_err(|e| UserError::new(tx.error(e).to_string()))?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_sorted_and_unique() {
        assert_eq!(parse_names(" b, a ,b,,").unwrap(), ["a", "b"]);
        assert!(parse_names(" , ").is_err());
        let many = (0..30).map(|n| format!("f{n}")).collect::<Vec<_>>().join(",");
        assert_eq!(parse_names(&many).unwrap_err().to_string(), "`names:` lists 30 flags; at most 25 at once.");
    }
}
