//! The writable transaction a remediation action runs in, beside the read-only one.

use super::{TargetDb, TargetError};
use sqlx::{Connection as _, Executor as _, PgConnection, Postgres, Transaction};
use std::time::Duration;

/// How long an action waits for a lock before giving up, so it never queues behind (and then
/// in front of) the platform's own traffic.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// A read-write transaction with `statement_timeout` and `lock_timeout` set for it alone.
/// Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    conn: Conn,
    target: TargetDb,
}

/// Where the transaction runs: a pooled connection, or one of its own that is closed after.
enum Conn {
    Pooled(Transaction<'static, Postgres>),
    /// Dropping the connection closes it; the server then rolls back what was not committed.
    Alone(PgConnection),
}

impl WriteTx {
    pub(super) async fn begin(target: &TargetDb) -> Result<WriteTx, TargetError> {
        Ok(WriteTx { conn: Conn::Pooled(target.begin(false, Some(LOCK_TIMEOUT)).await?), target: target.clone() })
    }

    pub(super) async fn begin_alone(target: &TargetDb) -> Result<WriteTx, TargetError> {
        Ok(WriteTx { conn: Conn::Alone(target.begin_alone(Some(LOCK_TIMEOUT)).await?), target: target.clone() })
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        match &mut self.conn {
            Conn::Pooled(tx) => tx,
            Conn::Alone(conn) => conn,
        }
    }

    pub fn error(&self, error: sqlx::Error) -> TargetError {
        self.target.error(error)
    }

    pub async fn commit(self) -> Result<(), TargetError> {
        self.end("COMMIT").await
    }

    /// Rolls back now, rather than when the connection is next used, so no lock the
    /// transaction took outlives the answer.
    pub async fn rollback(self) -> Result<(), TargetError> {
        self.end("ROLLBACK").await
    }

    async fn end(self, verb: &'static str) -> Result<(), TargetError> {
        let target = self.target;
        match self.conn {
            Conn::Pooled(tx) if verb == "COMMIT" => tx.commit().await.map_err(|e| target.error(e)),
            Conn::Pooled(tx) => tx.rollback().await.map_err(|e| target.error(e)),
            Conn::Alone(mut conn) => {
                let ended = conn.execute(sqlx::raw_sql(verb)).await.map(|_| ()).map_err(|e| target.error(e));
                // The answer is the COMMIT's or ROLLBACK's; a failed goodbye changes nothing,
                // as the connection is gone either way.
                let _ = conn.close().await;
                ended
            }
        }
    }
}
