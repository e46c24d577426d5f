//! `/db slow-queries`: `pg_stat_statements` with PostgreSQL 13+ columns, from whichever schema
//! the extension lives in (Supabase: `extensions`); says how to enable it when it is absent.

use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde::Serialize;

/// What `/db slow-queries` is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlowQueryArgs {
    /// Only statements called at least this often (the runbook: more than 100).
    pub min_calls: i64,
    /// At most this many rows (1–25).
    pub limit: i64,
}

impl Default for SlowQueryArgs {
    fn default() -> Self {
        SlowQueryArgs { min_calls: 100, limit: 10 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SlowQuery {
    pub query: String,
    pub calls: i64,
    pub total_exec_ms: f64,
    pub mean_exec_ms: f64,
    pub rows: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SlowQueries {
    /// The extension is not installed in this database.
    NotInstalled,
    /// Installed, but the server does not load it (`shared_preload_libraries`).
    NotLoaded {
        schema: String,
    },
    Found {
        schema: String,
        queries: Vec<SlowQuery>,
    },
}

/// query, calls, total ms, mean ms, rows.
type StatementRow = (String, i64, f64, f64, i64);

const EXTENSION_SCHEMA: &str = "
SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'";

/// The statement for the schema the extension is in. PG 13 renamed total_time/mean_time to
/// *_exec_time; reading through to_jsonb takes whichever the server has.
fn statements_sql(schema: &str) -> String {
    format!(
        "SELECT query,
                calls,
                coalesce((to_jsonb(s) ->> 'total_exec_time')::float8, (to_jsonb(s) ->> 'total_time')::float8, 0) AS total_ms,
                coalesce((to_jsonb(s) ->> 'mean_exec_time')::float8, (to_jsonb(s) ->> 'mean_time')::float8, 0) AS mean_ms,
                rows
         FROM {}.pg_stat_statements s
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND s.calls >= $1 AND s.query IS NOT NULL
         ORDER BY mean_ms DESC
         LIMIT $2",
        quote_ident(schema)
    )
}

/// A catalog name as an SQL identifier (it never comes from a person, but may hold any character).
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub async fn run(target: &TargetDb, args: SlowQueryArgs) -> Result<SlowQueries, TargetError> {
    let mut tx = target.read().await?;
    let schema: Option<String> = sqlx::query_scalar(EXTENSION_SCHEMA).fetch_optional(tx.conn()).await.map_err(|e| tx.error(e))?;
    let Some(schema) = schema else { return Ok(SlowQueries::NotInstalled) };
    let rows: Result<Vec<StatementRow>, sqlx::Error> =
        sqlx::query_as(&statements_sql(&schema)).bind(args.min_calls).bind(args.limit).fetch_all(tx.conn()).await;
    match rows {
        Ok(rows) => {
            let queries = rows
                .into_iter()
                .map(|(query, calls, total_exec_ms, mean_exec_ms, rows)| SlowQuery { query, calls, total_exec_ms, mean_exec_ms, rows })
                .collect();
            Ok(SlowQueries::Found { schema, queries })
        }
        // 55000: "pg_stat_statements must be loaded via shared_preload_libraries".
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55000") => Ok(SlowQueries::NotLoaded { schema }),
        Err(error) => Err(tx.error(error)),
    }
}

pub fn post(result: &SlowQueries, args: SlowQueryArgs) -> Post {
    match result {
        SlowQueries::NotInstalled => Post::new(Tone::Warning, "Slow queries").body(
            "pg_stat_statements is not installed in this database, so there are no query statistics. \
             Enable it in Supabase (Database → Extensions → pg_stat_statements), or run \
             `CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions;` as postgres.",
        ),
        SlowQueries::NotLoaded { schema } => Post::new(Tone::Warning, "Slow queries").body(format!(
            "pg_stat_statements is installed (schema {schema}) but the server does not load it: add it to \
             shared_preload_libraries and restart PostgreSQL (Supabase projects load it already)."
        )),
        SlowQueries::Found { queries, .. } if queries.is_empty() => Post::new(Tone::Good, "Slow queries")
            .body(format!("No statement has been called {} times or more since the statistics were reset.", args.min_calls)),
        SlowQueries::Found { queries, .. } => {
            let mut post = Post::new(Tone::Info, "Slow queries").body(format!(
                "The {} slowest statements by mean time, called at least {} times:",
                queries.len(),
                args.min_calls
            ));
            for (n, q) in queries.iter().enumerate() {
                post = post.field(
                    format!("{}. {:.1} ms mean", n + 1, q.mean_exec_ms),
                    format!("`{}`\n{} calls · {:.0} ms total · {} rows", short_query(&q.query), q.calls, q.total_exec_ms, q.rows),
                );
            }
            post
        }
    }
}

/// One line, at most 160 characters, without backticks (they would break the code span).
pub fn short_query(query: &str) -> String {
    let flat = query.split_whitespace().collect::<Vec<_>>().join(" ").replace('`', "'");
    crate::text::ellipsize(&flat, 160)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_text_is_shortened_for_chat() {
        let long = format!("SELECT `a`,\n\t  b FROM t WHERE x IN ({})", "1, ".repeat(100));
        let short = short_query(&long);
        assert!(short.starts_with("SELECT 'a', b FROM t WHERE x IN (1, 1,"), "{short}");
        assert!(short.chars().count() <= 160);
    }

    #[test]
    fn the_schema_is_quoted_as_an_identifier() {
        assert!(statements_sql("we\"ird").contains("FROM \"we\"\"ird\".pg_stat_statements"));
    }

    #[test]
    fn absent_statistics_say_how_to_enable_them() {
        let post = post(&SlowQueries::NotInstalled, SlowQueryArgs::default());
        assert!(post.body.contains("CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions;"), "{}", post.body);
    }

    #[test]
    fn the_post_as_people_read_it() {
        let found = SlowQueries::Found {
            schema: "extensions".into(),
            queries: vec![SlowQuery {
                query: "SELECT * FROM public.users WHERE email = $1".into(),
                calls: 1200,
                total_exec_ms: 98_400.0,
                mean_exec_ms: 82.0,
                rows: 1200,
            }],
        };
        insta::assert_snapshot!(post(&found, SlowQueryArgs::default()), @r#"
            [info] Slow queries
            The 1 slowest statements by mean time, called at least 100 times:
            1. 82.0 ms mean: `SELECT * FROM public.users WHERE email = $1`
            1200 calls · 98400 ms total · 1200 rows
            "#);
        insta::assert_snapshot!(post(&SlowQueries::NotLoaded { schema: "extensions".into() }, SlowQueryArgs::default()), @r#"
            [warning] Slow queries
            pg_stat_statements is installed (schema extensions) but the server does not load it: add it to shared_preload_libraries and restart PostgreSQL (Supabase projects load it already).
            "#);
    }
}
