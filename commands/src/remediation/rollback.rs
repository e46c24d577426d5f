//! `/migrations rollback version:…`: the runbook's "Database Migration Rollback". The version's
//! down file runs and the version leaves `supabase_migrations.schema_migrations` in one
//! transaction, which commits only when the runbook's verification holds (the users and tenants
//! counts did not drop beyond the tolerance). Its preview, verification and statements are here.
//!
//! PostgreSQL, not a lexer, keeps the file inside that transaction: the file's text is bound as
//! a parameter and run by `EXECUTE` in a fixed `DO` block, where the server refuses `COMMIT`,
//! `ROLLBACK` and `SAVEPOINT` (and procedures that commit), and the connection it ran on is
//! closed afterwards, so no session setting, temporary table or lock it made outlives it.

use super::action::Action;
use super::effects::{Executed, Preview};
use super::rollback_file::{self, DownFile};
use super::settings::RemediationSettings;
use crate::error::UserError;
use crate::target_db::{TargetDb, WriteTx};
use sqlx::Executor as _;
use std::collections::BTreeMap;

/// The longest version accepted; the Supabase CLI writes 14 digits (`20250922140000`).
pub const MAX_VERSION_LEN: usize = 32;

const HISTORY_EXISTS: &str = "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL";
const APPLIED: &str = "SELECT name FROM supabase_migrations.schema_migrations WHERE version = $1";
const LATEST: &str = "SELECT version FROM supabase_migrations.schema_migrations ORDER BY version DESC LIMIT 5";
const NEWER: &str = "SELECT count(*) FROM supabase_migrations.schema_migrations WHERE version > $1";
/// The runbook's verification: the platform's users and hotels (tenants).
const COUNTS: &str = "SELECT (SELECT count(*) FROM public.users), (SELECT count(*) FROM public.tenants)";
const FORGET: &str = "DELETE FROM supabase_migrations.schema_migrations WHERE version = $1";
/// Assigns the transaction an id; a different id after the file means the file ended it.
const TRANSACTION_ID: &str = "SELECT txid_current()";
/// The file's text, bound, as a setting of this transaction alone, for [`RUN_FILE`] to read.
const STAGE_FILE: &str = "SELECT set_config('bellhop.down_file', $1, true)";
/// Runs the staged text, every statement of it, as one `EXECUTE`. The block itself is fixed
/// text: nothing of the file is written into it, so the file cannot close its quotes.
/// `EXECUTE` refuses transaction commands ("EXECUTE of transaction commands is not
/// implemented"), and a `COMMIT` in a nested block or procedure is "invalid transaction
/// termination" here: either error aborts the transaction, and everything is rolled back.
const RUN_FILE: &str = "DO $bellhop$ BEGIN EXECUTE current_setting('bellhop.down_file'); END $bellhop$";

/// `version:20250922140000`: digits only, which also keeps the file name inside the folder.
pub fn parse_version(text: &str) -> Result<String, UserError> {
    let version = text.trim();
    let digits = version.chars().all(|c| c.is_ascii_digit());
    if version.is_empty() || version.chars().count() > MAX_VERSION_LEN || !digits {
        return Err(UserError::new(format!(
            "`version:` {} is not a migration version: up to {MAX_VERSION_LEN} digits, like 20250922140000 (/migrations status lists them).",
            crate::text::quote(&crate::text::ellipsize(version, 40))
        )));
    }
    Ok(version.to_string())
}

/// Reads the down file named for `version`, refuses it early when it plainly ends the
/// transaction, and freezes its name, size, hash and text into the action.
pub async fn resolve(version: String, settings: &RemediationSettings) -> Result<Action, UserError> {
    let file = read(settings, &version).await?;
    rollback_file::check(&file)?;
    Ok(Action::RollbackMigration { version, file: file.name, bytes: file.bytes, sha256: file.sha256, sql: file.sql })
}

async fn read(settings: &RemediationSettings, version: &str) -> Result<DownFile, UserError> {
    let Some(dir) = &settings.rollbacks_dir else {
        return Err(UserError::new(
            "bellhop has no rollbacks folder: set BELLHOP_ROLLBACKS_DIR to the folder of the <version>.down.sql files.",
        ));
    };
    rollback_file::read(dir, version).await
}

/// The version must be applied; shows the file and the counts the verification will compare.
pub async fn preview(target: &TargetDb, version: &str, file: &str, bytes: u64, sha256: &str) -> Result<Preview, UserError> {
    let sentence = |e: crate::target_db::TargetError| UserError::new(e.to_string());
    let mut tx = target.read().await.map_err(sentence)?;
    let history: bool = sqlx::query_scalar(HISTORY_EXISTS).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    if !history {
        return Err(UserError::new(
            "There is no migration history: supabase_migrations.schema_migrations does not exist, so there is nothing to roll back.",
        ));
    }
    let applied: Option<Option<String>> =
        sqlx::query_scalar(APPLIED).bind(version).fetch_optional(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    let Some(name) = applied else {
        let latest: Vec<String> = sqlx::query_scalar(LATEST).fetch_all(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
        let listed = latest.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        let hint = if latest.is_empty() { "the history is empty".to_string() } else { format!("the latest are {listed}") };
        return Err(UserError::new(format!("No applied migration has the version `{version}`; {hint}.")));
    };
    let newer: i64 = sqlx::query_scalar(NEWER).bind(version).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    let (users, tenants): (i64, i64) = sqlx::query_as(COUNTS).fetch_one(tx.conn()).await.map_err(|e| sentence(tx.error(e)))?;
    let mut lines = vec![
        format!("Migration `{version}` ({}).", name.as_deref().unwrap_or("no name")),
        format!("File `{file}`: {bytes} bytes, sha256 `{}`.", short(sha256)),
        format!("Now {users} user(s) and {tenants} tenant(s); the transaction rolls back if either drops beyond the tolerance."),
    ];
    if newer > 0 {
        lines.push(format!("{newer} newer migration(s) stay applied."));
    }
    let figures = BTreeMap::from([("users".to_string(), users), ("tenants".to_string(), tenants)]);
    Ok(Preview { rows: 1, lines, figures })
}

/// Runs the approved file and forgets the version in one transaction, on a connection of its
/// own that is closed afterwards; commits only when the counts hold. A file that changed since
/// approval never runs. Only its hash and PostgreSQL judge it here: the early check ran when
/// the plan was asked for.
pub async fn execute(target: &TargetDb, settings: &RemediationSettings, version: &str, sha256: &str) -> Result<Executed, String> {
    let file = read(settings, version).await.map_err(|e| format!("{e} Nothing ran."))?;
    if file.sha256 != sha256 {
        return Err(format!(
            "The file `{}` changed since approval (sha256 now `{}`, approved `{}`); nothing ran. Ask again to approve the new file.",
            file.name,
            short(&file.sha256),
            short(sha256)
        ));
    }
    let mut tx = target.write_alone().await.map_err(|e| e.to_string())?;
    let ran = match run(&mut tx, &file, version).await {
        Ok(ran) => ran,
        Err(Stop::Failed(error)) => {
            let undone = undo(tx).await;
            return Err(format!("{error} {undone}"));
        }
        // Rolling back now would say "nothing changed", which may be false.
        Err(Stop::Escaped(error)) => return Err(error),
    };
    let tolerance = settings.rollback_tolerance_percent;
    let counts = format!("users {} → {}, tenants {} → {} (tolerance {tolerance} %)", ran.before.0, ran.after.0, ran.before.1, ran.after.1);
    if dropped_beyond(ran.before.0, ran.after.0, tolerance) || dropped_beyond(ran.before.1, ran.after.1, tolerance) {
        let undone = undo(tx).await;
        return Err(format!("Verification failed: {counts}. {undone}"));
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    let figures = BTreeMap::from([
        ("users_before".to_string(), ran.before.0),
        ("users_after".to_string(), ran.after.0),
        ("tenants_before".to_string(), ran.before.1),
        ("tenants_after".to_string(), ran.after.1),
    ]);
    let verification = format!("ran `{}` and deleted version `{version}`; {counts}", file.name);
    Ok(Executed { rows: ran.forgotten, figures, verification, saved: None })
}

/// What happened inside the transaction, before it is committed or rolled back.
struct Ran {
    /// (users, tenants) before the file and after the DELETE.
    before: (i64, i64),
    after: (i64, i64),
    forgotten: i64,
}

/// Why the transaction stopped: a statement failed, or the file ended the transaction itself.
enum Stop {
    Failed(String),
    Escaped(String),
}

impl From<String> for Stop {
    fn from(error: String) -> Stop {
        Stop::Failed(error)
    }
}

/// Counts, the file, the DELETE, counts again: every statement of the rollback, in order.
async fn run(tx: &mut WriteTx, file: &DownFile, version: &str) -> Result<Ran, Stop> {
    let before: (i64, i64) = sqlx::query_as(COUNTS).fetch_one(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    let ours: i64 = sqlx::query_scalar(TRANSACTION_ID).fetch_one(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    sqlx::query(STAGE_FILE).bind(&file.sql).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    // Through the Executor trait, whose boxed future is Send (RawSql::execute's is not general enough).
    let ran = tx.conn().execute(sqlx::raw_sql(RUN_FILE)).await;
    ran.map_err(|e| match transaction_control(&e) {
        true => format!(
            "`{}` starts or ends a transaction (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, or a procedure that commits), \
             which PostgreSQL refuses inside bellhop's transaction.",
            file.name
        ),
        false => format!("`{}` failed: {}", file.name, tx.error(e)),
    })?;
    let still: i64 = sqlx::query_scalar(TRANSACTION_ID).fetch_one(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    if still != ours {
        return Err(Stop::Escaped(format!(
            "`{}` ended bellhop's transaction itself, so some of it may be committed; check the database by hand.",
            file.name
        )));
    }
    let forgotten = sqlx::query(FORGET).bind(version).execute(tx.conn()).await.map_err(|e| tx.error(e).to_string())?.rows_affected();
    let after: (i64, i64) = sqlx::query_as(COUNTS).fetch_one(tx.conn()).await.map_err(|e| tx.error(e).to_string())?;
    Ok(Ran { before, after, forgotten: i64::try_from(forgotten).unwrap_or(i64::MAX) })
}

/// Whether the server refused the file's transaction control: `EXECUTE` of a transaction
/// command, or a commit or rollback in a nested block or procedure.
fn transaction_control(error: &sqlx::Error) -> bool {
    let Some(db) = error.as_database_error() else { return false };
    match db.code().as_deref() {
        Some("2D000") => true,
        Some("0A000") => db.message().starts_with("EXECUTE of transaction commands"),
        _ => false,
    }
}

/// Rolls back at once and says whether the server confirmed it.
async fn undo(tx: WriteTx) -> &'static str {
    match tx.rollback().await {
        Ok(()) => "Rolled back; nothing changed.",
        Err(_) => "The rollback was not confirmed; the server discards an unfinished transaction when the connection closes.",
    }
}

/// Whether `after` is more than `percent` % below `before`; 0 % allows no drop at all.
pub fn dropped_beyond(before: i64, after: i64, percent: i64) -> bool {
    let dropped = before.saturating_sub(after);
    dropped > 0 && dropped.saturating_mul(100) > before.saturating_mul(percent)
}

/// The first 12 hex digits, as posts show a hash.
fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_digits_only() {
        assert_eq!(parse_version(" 20250922140000 "), Ok("20250922140000".to_string()));
        for bad in ["../../etc/passwd", "'; DROP TABLE users; --", "", "2025 0922", "２０２５", "20250922140000.down"] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
        assert!(parse_version(&"1".repeat(33)).is_err());
        assert_eq!(
            parse_version("../x").unwrap_err().to_string(),
            "`version:` `../x` is not a migration version: up to 32 digits, like 20250922140000 (/migrations status lists them)."
        );
    }

    #[test]
    fn the_tolerance_is_a_percentage_of_the_count_before() {
        assert!(!dropped_beyond(1_000, 990, 1), "exactly 1 % is within");
        assert!(dropped_beyond(1_000, 989, 1));
        assert!(!dropped_beyond(1_000, 1_200, 0), "growth is never a failure");
        assert!(dropped_beyond(1_000, 999, 0), "0 % allows no drop");
        assert!(!dropped_beyond(0, 0, 0));
        assert!(!dropped_beyond(i64::MAX, i64::MIN, 100), "no overflow: a 100 % tolerance allows everything");
    }
}
