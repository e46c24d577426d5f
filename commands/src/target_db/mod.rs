//! The target database: a read-only PostgreSQL pool to the platform's production database.

mod errors;
mod readonly;
mod write;

pub use errors::TargetError;
pub use readonly::ReadTx;
pub use write::WriteTx;

use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Executor as _, PgConnection, Postgres, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Supabase's transaction-mode pooler (Supavisor) listens here; it cannot keep prepared statements.
pub const TRANSACTION_POOLER_PORT: u16 = 6543;

/// How bellhop reaches the target database.
#[derive(Clone, Debug)]
pub struct TargetSettings {
    /// `SUPABASE_DB_URL`: direct (5432) or the session pooler; holds the password.
    pub url: SecretString,
    /// Every diagnostic statement is cancelled after this long.
    pub statement_timeout: Duration,
    /// Approved actions' statements (a purge batch, a down file) are cancelled after this long.
    pub write_timeout: Duration,
}

/// Where a connection goes, without the password: what error sentences may name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Connections of the pool that reads (diagnostics, previews, suggestions).
const READ_CONNECTIONS: u32 = 2;
/// Connections kept for approved writes: as many as plans may run at once (the remediation
/// runner takes its bound from here), so no reader, and no other plan, can keep an approved plan
/// from its connection.
pub const WRITE_CONNECTIONS: u32 = 4;

/// Pools to the target, separate from bellhop's own store: one that reads, and one for approved
/// writes alone. Connections open lazily, so a target that is down costs nothing until someone
/// asks for a diagnostic.
#[derive(Clone)]
pub struct TargetDb {
    pool: PgPool,
    writes: PgPool,
    /// Kept to learn why the pool could not connect; holds the password, so no Debug.
    options: PgConnectOptions,
    endpoint: Endpoint,
    statement_timeout: Duration,
    /// The setting that sets `statement_timeout`, for the error that says to raise it.
    timeout_setting: &'static str,
    write_timeout: Duration,
}

impl std::fmt::Debug for TargetDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TargetDb({}/{} as {})", self.endpoint, self.endpoint.database, self.endpoint.user)
    }
}

impl TargetDb {
    /// Checks the URL and prepares the pool; refuses the transaction pooler with a sentence.
    pub fn new(settings: &TargetSettings) -> Result<TargetDb, TargetError> {
        let options = PgConnectOptions::from_str(settings.url.expose_secret()).map_err(|_| TargetError::InvalidUrl)?;
        let endpoint = Endpoint {
            host: options.get_host().to_string(),
            port: options.get_port(),
            user: options.get_username().to_string(),
            database: options.get_database().unwrap_or(options.get_username()).to_string(),
        };
        if endpoint.port == TRANSACTION_POOLER_PORT {
            return Err(TargetError::TransactionPooler { endpoint });
        }
        let options = options.application_name("bellhop").log_statements(tracing::log::LevelFilter::Debug);
        let pool = |connections: u32, wait: Duration| {
            PgPoolOptions::new()
                .max_connections(connections)
                .min_connections(0)
                .acquire_timeout(wait.max(Duration::from_secs(1)))
                .idle_timeout(Duration::from_secs(60))
                .connect_lazy_with(options.clone())
        };
        Ok(TargetDb {
            pool: pool(READ_CONNECTIONS, settings.statement_timeout),
            writes: pool(WRITE_CONNECTIONS, settings.statement_timeout),
            options: options.clone(),
            endpoint,
            statement_timeout: settings.statement_timeout,
            timeout_setting: "BELLHOP_TARGET_STATEMENT_TIMEOUT",
            write_timeout: settings.write_timeout,
        })
    }

    /// The target as an approved plan uses it: every read and write of the plan (its drift
    /// guard, its statements, its read-back) on the write pool, under the write timeout.
    pub fn writer(&self) -> TargetDb {
        TargetDb {
            pool: self.writes.clone(),
            statement_timeout: self.write_timeout,
            timeout_setting: "BELLHOP_TARGET_WRITE_TIMEOUT",
            ..self.clone()
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The target's own clock, which its rows were stamped with.
    pub async fn now(&self) -> Result<chrono::DateTime<chrono::Utc>, TargetError> {
        let mut tx = self.read().await?;
        let ms: i64 =
            sqlx::query_scalar("SELECT (extract(epoch FROM now()) * 1000)::bigint").fetch_one(tx.conn()).await.map_err(|e| tx.error(e))?;
        Ok(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
    }

    /// A READ ONLY transaction with the statement timeout set; it is always rolled back.
    pub async fn read(&self) -> Result<ReadTx, TargetError> {
        ReadTx::begin(self).await
    }

    /// A read-write transaction with the statement and lock timeouts, for approved actions only.
    pub async fn write(&self) -> Result<WriteTx, TargetError> {
        WriteTx::begin(self).await
    }

    /// Like [`TargetDb::write`], on a connection taken out of the pool and closed when the
    /// transaction ends: for SQL bellhop did not write (a down file), so nothing it leaves on
    /// the session (a setting, a role, a temporary table, an advisory lock) reaches later work.
    pub async fn write_alone(&self) -> Result<WriteTx, TargetError> {
        WriteTx::begin_alone(self).await
    }

    /// A transaction from the pool (reads) or the write pool, with its timeouts. A write waits
    /// for a connection twice before it gives up.
    async fn begin(&self, read_only: bool, lock_timeout: Option<Duration>) -> Result<Transaction<'static, Postgres>, TargetError> {
        let pool = if read_only { &self.pool } else { &self.writes };
        let began = match pool.begin().await {
            Err(sqlx::Error::PoolTimedOut) if !read_only => pool.begin().await,
            began => began,
        };
        let mut tx = match began {
            Ok(tx) => tx,
            Err(sqlx::Error::PoolTimedOut) => return Err(self.why_no_connection(pool, read_only).await),
            Err(error) => return Err(self.error(error)),
        };
        self.set_timeouts(&mut tx, read_only, lock_timeout).await?;
        Ok(tx)
    }

    /// A connection of its own: taken out of the pool (which may open another in its place),
    /// in a transaction with the timeouts of [`TargetDb::begin`]. Dropping it closes it, and
    /// the server rolls back what it did not commit.
    async fn begin_alone(&self, lock_timeout: Option<Duration>) -> Result<PgConnection, TargetError> {
        let mut conn = match twice(|| self.writes.acquire()).await {
            Ok(conn) => conn.detach(),
            Err(sqlx::Error::PoolTimedOut) => return Err(self.why_no_connection(&self.writes, false).await),
            Err(error) => return Err(self.error(error)),
        };
        // Through the Executor trait, whose boxed future is Send (RawSql::execute's is not general enough).
        conn.execute(sqlx::raw_sql("BEGIN")).await.map_err(|e| self.error(e))?;
        self.set_timeouts(&mut conn, false, lock_timeout).await?;
        Ok(conn)
    }

    /// The transaction's statement timeout (and, for writes, its lock timeout), set for it
    /// alone: `set_config(…, true)` is SET LOCAL's parameterised form.
    async fn set_timeouts(&self, conn: &mut PgConnection, read_only: bool, lock_timeout: Option<Duration>) -> Result<(), TargetError> {
        if read_only {
            sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *conn).await.map_err(|e| self.error(e))?;
        }
        let statement = self.statement_timeout.as_millis().to_string();
        // Without one, lock_timeout stays what the login has.
        let lock = lock_timeout.map(|lock| lock.min(self.statement_timeout).as_millis().to_string());
        sqlx::query(
            "SELECT set_config('statement_timeout', $1, true),
                    set_config('lock_timeout', coalesce($2, current_setting('lock_timeout')), true)",
        )
        .bind(statement)
        .bind(lock)
        .execute(&mut *conn)
        .await
        .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The pool retries a refused connection until its timeout and then forgets why; one direct
    /// attempt recovers the reason (refused, bad credentials) for the sentence. When that attempt
    /// connects, the database answers and `pool`'s connections were all taken.
    async fn why_no_connection(&self, pool: &PgPool, reads: bool) -> TargetError {
        match tokio::time::timeout(Duration::from_secs(5), self.options.connect()).await {
            Ok(Err(error)) => self.error(error),
            Ok(Ok(conn)) => {
                drop(conn);
                let work = if reads { "other diagnostics and suggestions" } else { "approved plans running" };
                TargetError::Busy { endpoint: self.endpoint.clone(), connections: pool.size(), work }
            }
            Err(_) => self.error(sqlx::Error::PoolTimedOut),
        }
    }

    /// One sentence for a failure, naming the target and what to check.
    pub fn error(&self, error: sqlx::Error) -> TargetError {
        TargetError::from_sqlx(&self.endpoint, (self.statement_timeout, self.timeout_setting), error)
    }
}

/// An approved plan waits for a write connection once more after a wait that timed out: its
/// approvals are spent if it gives up, and the connection it waited for may free just after.
async fn twice<T, F>(mut acquire: impl FnMut() -> F) -> Result<T, sqlx::Error>
where
    F: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    match acquire().await {
        Err(sqlx::Error::PoolTimedOut) => acquire().await,
        acquired => acquired,
    }
}

#[cfg(test)]
mod acquire_tests {
    use super::twice;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn attempts(failures: &[fn() -> sqlx::Error]) -> (Result<usize, String>, usize) {
        let tried = AtomicUsize::new(0);
        let result = twice(|| async {
            let n = tried.fetch_add(1, Ordering::SeqCst);
            failures.get(n).map_or(Ok(n), |error| Err(error()))
        })
        .await;
        (result.map_err(|e| e.to_string()), tried.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_timed_out_wait_is_tried_once_more_and_no_other_error_is() {
        assert_eq!(attempts(&[]).await, (Ok(0), 1));
        assert_eq!(attempts(&[|| sqlx::Error::PoolTimedOut]).await, (Ok(1), 2), "the second wait gets the connection");
        let (result, tried) = attempts(&[|| sqlx::Error::PoolTimedOut, || sqlx::Error::PoolTimedOut]).await;
        assert_eq!((result.is_err(), tried), (true, 2), "then it gives up");
        let (result, tried) = attempts(&[|| sqlx::Error::PoolClosed]).await;
        assert_eq!((result.is_err(), tried), (true, 1), "a closed pool is not waited for again");
    }
}
