//! `/flags disable` and `/flags enable`: the runbook's feature-flag rollback, with its preview
//! (each flag's current state) and its verification (the flags read back) beside it.

use super::plan::{Executed, Preview};
use crate::error::UserError;
use crate::target::TargetDb;
use std::collections::BTreeMap;

/// Flags named in one request, at most.
pub const MAX_NAMES: usize = 25;

const CURRENT: &str = "SELECT flag_name, is_enabled FROM public.feature_flags WHERE flag_name = ANY($1) ORDER BY flag_name";
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
    let after = read(target, names).await.map_err(|e| e.to_string())?;
    let wrong: Vec<&String> = after.iter().filter(|(_, on)| **on != enable).map(|(name, _)| name).collect();
    let verification = match wrong.is_empty() && after.len() == names.len() {
        true => format!("read back: {} flag(s) {}", after.len(), if enable { "on" } else { "off" }),
        false => format!("read back: NOT as asked for {}", wrong.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    };
    let rows = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
    Ok(Executed { rows, figures: BTreeMap::from([("flags".to_string(), rows)]), verification, saved: None })
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
