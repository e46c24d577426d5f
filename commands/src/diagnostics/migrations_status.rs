//! `/migrations status`: the last five versions the Supabase CLI recorded, newest first.

use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationsStatus {
    /// `None` when the history table does not exist (nothing was ever pushed with the CLI).
    pub total: Option<i64>,
    /// (version, name), newest first.
    pub latest: Vec<(String, Option<String>)>,
}

const LATEST: &str = "
SELECT version, name FROM supabase_migrations.schema_migrations ORDER BY version DESC LIMIT 5";

pub async fn run(target: &TargetDb) -> Result<MigrationsStatus, TargetError> {
    let mut tx = target.read().await?;
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL")
        .fetch_one(tx.conn())
        .await
        .map_err(|e| tx.error(e))?;
    if !exists {
        return Ok(MigrationsStatus { total: None, latest: Vec::new() });
    }
    let total = sqlx::query_scalar("SELECT count(*) FROM supabase_migrations.schema_migrations")
        .fetch_one(tx.conn())
        .await
        .map_err(|e| tx.error(e))?;
    let latest = sqlx::query_as(LATEST).fetch_all(tx.conn()).await.map_err(|e| tx.error(e))?;
    Ok(MigrationsStatus { total: Some(total), latest })
}

pub fn post(status: &MigrationsStatus) -> Post {
    let Some(total) = status.total else {
        return Post::new(Tone::Warning, "Migrations").body(
            "There is no migration history: supabase_migrations.schema_migrations does not exist \
             (the Supabase CLI creates it on the first `supabase db push`).",
        );
    };
    let lines: Vec<String> =
        status.latest.iter().map(|(version, name)| format!("`{version}` {}", name.as_deref().unwrap_or("(no name)"))).collect();
    let body = if lines.is_empty() {
        "The migration history is empty.".to_string()
    } else {
        format!("{total} applied; the latest {}, newest first:\n{}", lines.len(), lines.join("\n"))
    };
    Post::new(Tone::Info, "Migrations").body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_post_as_people_read_it() {
        let status = MigrationsStatus {
            total: Some(42),
            latest: vec![("20250922140000".into(), Some("add_trial_plans".into())), ("20250915090000".into(), None)],
        };
        insta::assert_snapshot!(post(&status), @r#"
            [info] Migrations
            42 applied; the latest 2, newest first:
            `20250922140000` add_trial_plans
            `20250915090000` (no name)
            "#);
        insta::assert_snapshot!(post(&MigrationsStatus { total: None, latest: Vec::new() }), @r#"
            [warning] Migrations
            There is no migration history: supabase_migrations.schema_migrations does not exist (the Supabase CLI creates it on the first `supabase db push`).
            "#);
    }
}
