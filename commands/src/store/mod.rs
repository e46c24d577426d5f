//! bellhop's own state: SQLite by default, PostgreSQL for teams running several replicas.
//! One set of queries (sqlx's Any driver, `$N` parameters) runs on both; migrations are per backend.

mod audit;
mod deploys;
mod leases;
mod messages;
mod migrate;
mod outbox;
mod plans;
mod reads;
mod retention;
mod tx;

pub use audit::AuditEntry;
pub use deploys::{FunctionDeploy, RECENT_DEPLOY};
pub use outbox::OutboxEntry;
pub use plans::{NewPlan, PlanRow, Vote, VoteChange};
pub use reads::{Maintenance, MaintenanceKind};
pub use tx::{NewIncident, Tx};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::AnyPool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens the store at `url` (`sqlite:FILE` creates the file; `postgres://…`).
    pub async fn connect(url: &str) -> anyhow::Result<Store> {
        install_default_drivers();
        let backend = backend_of(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let options = AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 1 } else { 5 });
        let options = match backend {
            Backend::Sqlite => options.after_connect(|connection, _| Box::pin(async move { sqlite_pragmas(connection).await })),
            Backend::Postgres => options,
        };
        let pool = options.connect(&url).await.with_context(|| format!("cannot open bellhop's store at {}", redact_url(&url)))?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations embedded in the binary, all in one transaction; returns how many
    /// were new.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        migrate::run(&self.pool, self.backend).await.context("cannot migrate bellhop's store")
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction stamped with `now`. Read what you need before: with SQLite the
    /// store has one connection, which the transaction holds until it ends.
    pub async fn begin(&self, now: DateTime<Utc>) -> anyhow::Result<Tx<'static>> {
        Ok(Tx::new(self.pool.begin().await?, now))
    }
}

/// SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit: a commit
/// survives bellhop stopping or crashing at any point (an OS crash or a power cut may lose the
/// last ones, never corrupt the file), and costs microseconds instead of the several fsyncs of
/// a rollback journal, which made a burst of interactions queue for seconds on the store's one
/// connection. Readers in other processes (`bellhop outbox`) no longer block the writer.
///
/// A new, empty file is switched to WAL, and given its schema, without syncing: that first
/// write of its header went through a rollback journal and four fsyncs, a fifth of a first
/// `bellhop shell`'s start, and the schema's commit synced the new WAL and its directory. A
/// power cut meanwhile can only spoil a store that holds nothing yet. The migrations switch
/// syncing on when they are done ([`migrate::run`]).
async fn sqlite_pragmas(connection: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
    use sqlx::Executor as _;
    let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *connection).await?;
    let pragmas = match pages {
        0 => "PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;",
        _ => "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
    };
    connection.execute(pragmas).await.map(|_| ())
}

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        anyhow::bail!("the store URL must start with sqlite: or postgres://")
    }
}

/// A URL fit for an error message: the password replaced by `***`, whether it is in the
/// userinfo (`postgres://bot:pw@db`) or in the query (`?password=pw`, as sqlx and libpq take it).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else { return "(an unparsable URL)".to_string() };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    let secret = |key: &str| {
        let key = key.to_ascii_lowercase();
        key.contains("password") || key.contains("secret") || key.contains("token")
    };
    if parsed.query_pairs().any(|(key, _)| secret(&key)) {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(key, value)| {
                let value = if secret(&key) { "***".to_string() } else { value.into_owned() };
                (key.into_owned(), value)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacted_urls_keep_no_password() {
        assert_eq!(redact_url("postgres://bot:s3cr3t@db.example:5432/x"), "postgres://bot:***@db.example:5432/x");
        assert_eq!(redact_url("sqlite:bellhop.sqlite"), "sqlite:bellhop.sqlite");
        assert_eq!(redact_url("sqlite:bellhop.sqlite?mode=rwc"), "sqlite:bellhop.sqlite?mode=rwc");
        assert_eq!(redact_url("not a url"), "(an unparsable URL)");
    }

    #[test]
    fn a_password_in_the_query_is_redacted_like_one_in_the_userinfo() {
        assert_eq!(
            redact_url("postgres://bot@db.example:5432/x?sslmode=require&password=s3cr3t"),
            "postgres://bot@db.example:5432/x?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgresql://db/x?PassWord=s3cr3t&sslpassword=k3y"), "postgresql://db/x?PassWord=***&sslpassword=***");
        assert_eq!(redact_url("postgres://u:a@db/x?password=b"), "postgres://u:***@db/x?password=***");
        assert_eq!(redact_url("sqlite:bellhop.sqlite?password=s3cr3t"), "sqlite:bellhop.sqlite?password=***");
        for url in ["postgres://bot@db/x?password=s%3Ccr3t", "postgres://bot@db/x?password=s3cr3t#frag"] {
            assert!(!redact_url(url).contains("cr3t"), "{url}: {}", redact_url(url));
        }
    }

    /// What a store runs with: write-ahead log, synced at checkpoints. A new file is given its
    /// schema unsynced (it holds nothing yet); once migrated it is synced like any other.
    #[tokio::test]
    async fn a_new_sqlite_store_is_synced_once_it_has_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("bellhop.sqlite").display());
        let settings = |store: &super::Store| {
            let pool = store.pool().clone();
            async move {
                let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&pool).await.unwrap();
                let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&pool).await.unwrap();
                (journal, synchronous)
            }
        };
        let store = super::Store::connect(&url).await.unwrap();
        assert_eq!(settings(&store).await, ("wal".to_string(), 0), "empty: unsynced");
        store.migrate().await.unwrap();
        assert_eq!(settings(&store).await, ("wal".to_string(), 1), "migrated: NORMAL");
        store.pool().close().await;
        let again = super::Store::connect(&url).await.unwrap();
        assert_eq!(settings(&again).await, ("wal".to_string(), 1), "reopened: NORMAL before any migration");
    }

    #[tokio::test]
    async fn a_store_that_cannot_open_names_its_url_without_the_password() {
        let url = "postgres://bot@127.0.0.1:1/x?password=hunter2&sslmode=sometimes";
        let error = format!("{:#}", super::Store::connect(url).await.unwrap_err());
        assert!(error.starts_with("cannot open bellhop's store at postgres://bot@127.0.0.1:1/x?password=***&sslmode=sometimes"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
