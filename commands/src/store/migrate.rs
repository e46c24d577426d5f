//! The store's migrations, embedded in the binary, applied in one transaction: a store is either
//! where it was or fully up to date, and a fresh SQLite file pays for one commit instead of two
//! per migration. The bookkeeping is sqlx's `_sqlx_migrations` table, row for row, so stores
//! migrated by sqlx's migrator (earlier bellhops) carry on, and a store already up to date costs
//! one read.
//!
//! A fresh SQLite store is created from a snapshot of the schema the migrations build
//! (`migrations/sqlite.snapshot.sql`), not by replaying them: SQLite re-parses the whole schema
//! at every ALTER and RENAME, which made a first `bellhop shell` spend 20 ms migrating before its
//! prompt. The snapshot names the last migration it covers; later ones are applied as usual, and
//! a test keeps it equal to what the migrations build.

use super::Backend;
use anyhow::Context as _;
use sqlx::migrate::{Migration, Migrator};
use sqlx::AnyPool;
use std::collections::BTreeMap;

static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
const SQLITE_SNAPSHOT: &str = include_str!("../../migrations/sqlite.snapshot.sql");
static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// Replicas starting together on one PostgreSQL store migrate one after the other (the key is
/// "bellhop" in ASCII).
const POSTGRES_LOCK: i64 = 0x0062_656c_6c68_6f70;

/// Applies the migrations this binary has and the store has not, in one transaction; returns how
/// many. A migration whose text changed since it was applied, or a store migrated by a newer
/// bellhop, is an error: the store stays as it is.
pub(super) async fn run(pool: &AnyPool, backend: Backend) -> anyhow::Result<usize> {
    let snapshot = (backend == Backend::Sqlite).then(|| Snapshot::parse(SQLITE_SNAPSHOT)).flatten();
    let applied = apply(pool, backend, snapshot).await?;
    if backend == Backend::Sqlite && applied > 0 {
        // A store opened empty was given its schema without syncing (see `sqlite_pragmas`); from
        // here on it holds what bellhop must not lose. (The store's one connection; a store that
        // was up to date was opened synced, and costs no statement here.)
        sqlx::raw_sql("PRAGMA synchronous = NORMAL").execute(pool).await.context("cannot switch the store's syncing on")?;
    }
    Ok(applied)
}

/// A schema as the migrations through `through` leave it, as SQL to run on an empty store.
#[derive(Clone, Copy)]
struct Snapshot<'a> {
    through: i64,
    sql: &'a str,
}

impl<'a> Snapshot<'a> {
    /// Its first line says what it covers: `-- through <version>`. None for a snapshot that does
    /// not say (a store is then migrated the long way).
    fn parse(text: &'a str) -> Option<Snapshot<'a>> {
        let (first, sql) = text.split_once('\n')?;
        let through = first.strip_prefix("-- through ")?.trim().parse().ok()?;
        Some(Snapshot { through, sql })
    }
}

async fn apply(pool: &AnyPool, backend: Backend, snapshot: Option<Snapshot<'_>>) -> anyhow::Result<usize> {
    let known: Vec<&Migration> = migrator(backend).iter().filter(|m| !m.migration_type.is_down_migration()).collect();
    // Most starts find the store up to date: one read, no write, no lock.
    if let Ok(applied) = applied(pool).await {
        if pending(&known, &applied)?.is_empty() {
            return Ok(0);
        }
    }
    // SQLite: take the write lock at once, so a second process waits instead of failing to
    // upgrade a read lock. PostgreSQL: a transaction-scoped advisory lock.
    let begin = match backend {
        Backend::Sqlite => "BEGIN IMMEDIATE",
        Backend::Postgres => "BEGIN",
    };
    let mut tx = pool.begin_with(begin).await.context("cannot start migrating bellhop's store")?;
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(POSTGRES_LOCK).execute(&mut *tx).await?;
    }
    sqlx::raw_sql(table(backend)).execute(&mut *tx).await.context("cannot create the migrations table")?;
    // Read again under the lock: another process may have migrated meanwhile.
    let applied = applied(&mut *tx).await?;
    let pending = pending(&known, &applied)?;
    let fresh = applied.is_empty();
    let covered = |m: &Migration| snapshot.is_some_and(|s| fresh && m.version <= s.through);
    if let Some(snapshot) = snapshot.filter(|_| pending.iter().any(|m| covered(m))) {
        sqlx::raw_sql(snapshot.sql).execute(&mut *tx).await.context("cannot create the store's tables")?;
    }
    let mut took = Vec::with_capacity(pending.len());
    for migration in &pending {
        let started = std::time::Instant::now();
        if !covered(migration) {
            sqlx::raw_sql(&migration.sql)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("migration {} ({}) failed", migration.version, migration.description))?;
        }
        took.push(started.elapsed().as_nanos() as i64);
    }
    // sqlx's rows for them all in one statement: on SQLite each statement is a round trip to the
    // connection's thread. (`$n` placeholders, which both backends read.)
    if !pending.is_empty() {
        let rows: Vec<String> =
            (0..pending.len()).map(|i| format!("(${}, ${}, TRUE, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4)).collect();
        let sql =
            format!("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES {}", rows.join(", "));
        let insert = pending.iter().zip(took).fold(sqlx::query(&sql), |query, (migration, took)| {
            query.bind(migration.version).bind(migration.description.to_string()).bind(migration.checksum.to_vec()).bind(took)
        });
        insert.execute(&mut *tx).await?;
    }
    tx.commit().await.context("cannot commit the store's migrations")?;
    Ok(pending.len())
}

fn migrator(backend: Backend) -> &'static Migrator {
    match backend {
        Backend::Sqlite => &SQLITE,
        Backend::Postgres => &POSTGRES,
    }
}

/// sqlx's own definition of its table, per backend.
fn table(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
                success BOOLEAN NOT NULL,
                checksum BLOB NOT NULL,
                execution_time BIGINT NOT NULL
            )"
        }
        Backend::Postgres => {
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
                version BIGINT PRIMARY KEY,
                description TEXT NOT NULL,
                installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
                success BOOLEAN NOT NULL,
                checksum BYTEA NOT NULL,
                execution_time BIGINT NOT NULL
            )"
        }
    }
}

/// What the store has applied: version → (checksum, whether it succeeded). An error when the
/// table does not exist yet.
async fn applied<'c>(executor: impl sqlx::AnyExecutor<'c>) -> anyhow::Result<BTreeMap<i64, (Vec<u8>, bool)>> {
    // sqlx's Any driver reads no SQLite boolean: the flag comes as a number.
    let rows: Vec<(i64, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT version, checksum, CAST(CASE WHEN success THEN 1 ELSE 0 END AS BIGINT) FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(executor)
    .await?;
    Ok(rows.into_iter().map(|(version, checksum, success)| (version, (checksum, success == 1))).collect())
}

/// The migrations still to apply, in order; an error for a store this binary must not touch.
fn pending<'m>(known: &[&'m Migration], applied: &BTreeMap<i64, (Vec<u8>, bool)>) -> anyhow::Result<Vec<&'m Migration>> {
    for (version, (checksum, success)) in applied {
        let Some(migration) = known.iter().find(|m| m.version == *version) else {
            anyhow::bail!("bellhop's store was migrated by a newer bellhop (migration {version}); run that version or newer");
        };
        if !success {
            anyhow::bail!("migration {version} of bellhop's store was left half-applied; restore the store from a backup");
        }
        if *checksum != *migration.checksum {
            anyhow::bail!("migration {version} ({}) changed after it was applied to bellhop's store", migration.description);
        }
    }
    Ok(known.iter().filter(|m| !applied.contains_key(&m.version)).copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite() -> (tempfile::TempDir, AnyPool) {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}?mode=rwc", dir.path().join("store.sqlite").display());
        let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
        (dir, pool)
    }

    #[tokio::test]
    async fn a_fresh_store_gets_every_migration_once_with_sqlx_bookkeeping() {
        let (_dir, pool) = sqlite().await;
        let count = SQLITE.iter().count();
        assert_eq!(run(&pool, Backend::Sqlite).await.unwrap(), count);
        assert_eq!(run(&pool, Backend::Sqlite).await.unwrap(), 0, "nothing twice");
        // sqlx's own migrator reads the table as its own: nothing left to do, checksums agree.
        SQLITE.run(&pool).await.expect("sqlx agrees the store is up to date");
    }

    /// Every table, index and trigger of a store, as SQLite keeps its text, in the order made.
    async fn schema(pool: &AnyPool) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT name, sql FROM sqlite_master
             WHERE name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' AND sql IS NOT NULL ORDER BY rowid",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn the_sqlite_snapshot_builds_what_the_migrations_build() {
        let (_long_dir, long) = sqlite().await;
        apply(&long, Backend::Sqlite, None).await.unwrap();
        let built = schema(&long).await;
        for (name, sql) in &built {
            if sql.starts_with("CREATE TABLE") {
                let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM \"{name}\"")).fetch_one(&long).await.unwrap();
                assert_eq!(rows, 0, "a migration leaves rows in {name}: the snapshot would lose them");
            }
        }
        let latest = SQLITE.iter().map(|m| m.version).max().unwrap();
        let statements: String = built.iter().map(|(_, sql)| format!("{sql};\n")).collect();
        let expected = format!("-- through {latest}\n{statements}");
        if std::env::var_os("BELLHOP_BLESS_SNAPSHOT").is_some() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite.snapshot.sql"), &expected).unwrap();
        }
        assert!(
            SQLITE_SNAPSHOT == expected,
            "migrations/sqlite.snapshot.sql is not what the migrations build; write it again with\n\
             BELLHOP_BLESS_SNAPSHOT=1 cargo test -p bellhop-commands --lib sqlite_snapshot (and run it once more)"
        );
        let (_quick_dir, quick) = sqlite().await;
        assert_eq!(run(&quick, Backend::Sqlite).await.unwrap(), SQLITE.iter().count());
        assert_eq!(schema(&quick).await, built, "the snapshot builds the same tables, indexes and triggers");
    }

    #[tokio::test]
    async fn a_stale_snapshot_is_followed_by_the_migrations_it_does_not_cover() {
        let (_long_dir, long) = sqlite().await;
        apply(&long, Backend::Sqlite, None).await.unwrap();
        let first = SQLITE.iter().next().unwrap();
        let (_dir, pool) = sqlite().await;
        let old = Snapshot { through: first.version, sql: &first.sql };
        assert_eq!(apply(&pool, Backend::Sqlite, Some(old)).await.unwrap(), SQLITE.iter().count());
        assert_eq!(schema(&pool).await, schema(&long).await);
        SQLITE.run(&pool).await.expect("sqlx agrees the store is up to date");
    }

    #[tokio::test]
    async fn a_store_from_a_newer_bellhop_or_with_an_edited_migration_is_left_alone() {
        let (_dir, pool) = sqlite().await;
        run(&pool, Backend::Sqlite).await.unwrap();
        sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = (SELECT MIN(version) FROM _sqlx_migrations)")
            .execute(&pool)
            .await
            .unwrap();
        let error = run(&pool, Backend::Sqlite).await.unwrap_err().to_string();
        assert!(error.contains("changed after it was applied"), "{error}");
        let (_dir, pool) = sqlite().await;
        run(&pool, Backend::Sqlite).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99991231000000, 'x', TRUE, x'00', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        let error = run(&pool, Backend::Sqlite).await.unwrap_err().to_string();
        assert!(error.contains("newer bellhop"), "{error}");
    }
}
