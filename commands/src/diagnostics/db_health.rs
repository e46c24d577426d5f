//! `/db health`: the runbook's production checklist — row counts, new tenants per hour over the
//! last 24 hours (text and a chart), and every public table without row-level security.

use super::chart;
use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde::Serialize;

/// The tables the runbook counts, in its order.
pub const COUNTED: [&str; 4] = ["users", "tenants", "roles", "plans"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DbHealth {
    /// Rows per table; `None` when the table does not exist.
    pub counts: Vec<(String, Option<i64>)>,
    /// New tenants per hour, oldest first: `[0]` is 24–23 hours ago, `[23]` the last hour.
    pub tenants_per_hour: Vec<i64>,
    pub tables_without_rls: Vec<String>,
}

impl DbHealth {
    pub fn new_tenants(&self) -> i64 {
        self.tenants_per_hour.iter().sum()
    }
}

// query_to_xml runs the count only for tables that exist, so a missing one reads "missing"
// instead of failing the whole checklist. Table names come from the constant list above.
const COUNTS: &str = "
SELECT t.name,
       CASE WHEN to_regclass(format('public.%I', t.name)) IS NULL THEN NULL
            ELSE (xpath('/row/n/text()',
                        query_to_xml(format('SELECT count(*) AS n FROM public.%I', t.name), false, true, '')))[1]::text::bigint
       END
FROM unnest($1::text[]) WITH ORDINALITY AS t(name, position)
ORDER BY t.position";

const TENANTS_PER_HOUR: &str = "
SELECT floor(extract(epoch FROM now() - created_at) / 3600)::int AS hours_ago, count(*)
FROM public.tenants
WHERE created_at > now() - interval '24 hours' AND created_at <= now()
GROUP BY 1";

const WITHOUT_RLS: &str = "
SELECT c.relname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
ORDER BY 1";

pub async fn run(target: &TargetDb) -> Result<DbHealth, TargetError> {
    let mut tx = target.read().await?;
    let names: Vec<String> = COUNTED.iter().map(|t| t.to_string()).collect();
    let counts: Vec<(String, Option<i64>)> = sqlx::query_as(COUNTS).bind(&names).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    let hours: Vec<(i32, i64)> = sqlx::query_as(TENANTS_PER_HOUR).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    let mut tenants_per_hour = vec![0i64; 24];
    for (hours_ago, count) in hours {
        if let Ok(ago) = usize::try_from(hours_ago) {
            if ago < 24 {
                tenants_per_hour[23 - ago] += count;
            }
        }
    }
    let tables_without_rls = sqlx::query_scalar(WITHOUT_RLS).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    Ok(DbHealth { counts, tenants_per_hour, tables_without_rls })
}

/// The checklist as a post, with the chart attached when it can be drawn.
pub fn post(health: &DbHealth) -> Post {
    let missing: Vec<&str> = health.counts.iter().filter(|(_, n)| n.is_none()).map(|(t, _)| t.as_str()).collect();
    let tone = if !health.tables_without_rls.is_empty() || !missing.is_empty() { Tone::Warning } else { Tone::Good };
    let counts: Vec<String> = health
        .counts
        .iter()
        .map(|(table, n)| match n {
            Some(n) => format!("{table} {n}"),
            None => format!("{table} missing"),
        })
        .collect();
    let rls = if health.tables_without_rls.is_empty() {
        "none — every public table has row-level security".to_string()
    } else {
        health.tables_without_rls.join(", ")
    };
    let mut post = Post::new(tone, "Database health")
        .body(tenant_summary(&health.tenants_per_hour))
        .field("Rows", counts.join(" · "))
        .field("Public tables without RLS", rls);
    match chart::hourly_bars(&health.tenants_per_hour) {
        Ok(png) => post = post.attach("new-tenants-24h.png", png),
        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot draw the new-tenants chart"),
    }
    post
}

/// "27 new tenants in the last 24 hours; busiest hour: 5 (1–2 hours ago); last hour: 4."
fn tenant_summary(per_hour: &[i64]) -> String {
    let total: i64 = per_hour.iter().sum();
    if total == 0 {
        return "No new tenants in the last 24 hours.".into();
    }
    let last = per_hour.last().copied().unwrap_or(0);
    let (busiest, peak) = per_hour.iter().enumerate().max_by_key(|(i, n)| (**n, *i)).map(|(i, n)| (i, *n)).unwrap_or((0, 0));
    let ago = per_hour.len().saturating_sub(busiest + 1);
    format!(
        "{total} new tenant{} in the last 24 hours; busiest hour: {peak} ({ago}–{} hours ago); last hour: {last}. \
         The chart shows each hour, oldest on the left.",
        if total == 1 { "" } else { "s" },
        ago + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_says_none_plainly_and_names_missing_tables() {
        let mut hours = vec![0; 24];
        hours[23] = 2;
        hours[20] = 3;
        let health = DbHealth {
            counts: vec![("users".into(), Some(10)), ("roles".into(), None)],
            tenants_per_hour: hours,
            tables_without_rls: vec![],
        };
        let post = post(&health);
        assert_eq!(post.body, "5 new tenants in the last 24 hours; busiest hour: 3 (3–4 hours ago); last hour: 2. The chart shows each hour, oldest on the left.");
        assert_eq!(post.fields[0].value, "users 10 · roles missing");
        assert_eq!(post.fields[1].value, "none — every public table has row-level security");
        assert_eq!(post.attachments[0].filename, "new-tenants-24h.png");
        assert_eq!(tenant_summary(&[0; 24]), "No new tenants in the last 24 hours.");
    }

    #[test]
    fn the_post_as_people_read_it() {
        let health = DbHealth {
            counts: vec![("users".into(), Some(211)), ("tenants".into(), Some(40))],
            tenants_per_hour: vec![1; 24],
            tables_without_rls: vec!["audit_log".into()],
        };
        insta::assert_snapshot!(post(&health), @r#"
            [warning] Database health
            24 new tenants in the last 24 hours; busiest hour: 1 (0–1 hours ago); last hour: 1. The chart shows each hour, oldest on the left.
            Rows: users 211 · tenants 40
            Public tables without RLS: audit_log
            attached new-tenants-24h.png (61538 bytes)
            "#);
    }
}
