//! The writable transaction a remediation action runs in, beside the read-only one.

use super::{TargetDb, TargetError};
use sqlx::{PgConnection, Postgres, Transaction};
use std::time::Duration;

/// How long an action waits for a lock before giving up, so it never queues behind (and then
/// in front of) the platform's own traffic.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// A read-write transaction with `statement_timeout` and `lock_timeout` set for it alone.
/// Dropping it without [`WriteTx::commit`] rolls everything back.
pub struct WriteTx {
    tx: Transaction<'static, Postgres>,
    target: TargetDb,
}

impl WriteTx {
    pub(super) async fn begin(target: &TargetDb) -> Result<WriteTx, TargetError> {
        let mut tx = match target.pool().begin().await {
            Ok(tx) => tx,
            Err(sqlx::Error::PoolTimedOut) => return Err(target.why_no_connection().await),
            Err(error) => return Err(target.error(error)),
        };
        let statement = target.statement_timeout().as_millis().to_string();
        let lock = LOCK_TIMEOUT.min(target.statement_timeout()).as_millis().to_string();
        // set_config(…, true) is SET LOCAL's parameterised form.
        sqlx::query("SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)")
            .bind(statement)
            .bind(lock)
            .execute(&mut *tx)
            .await
            .map_err(|e| target.error(e))?;
        Ok(WriteTx { tx, target: target.clone() })
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub fn error(&self, error: sqlx::Error) -> TargetError {
        self.target.error(error)
    }

    pub async fn commit(self) -> Result<(), TargetError> {
        let target = self.target;
        self.tx.commit().await.map_err(|e| target.error(e))
    }

    /// Rolls back now, rather than when the connection is next used, so no lock the
    /// transaction took outlives the answer.
    pub async fn rollback(self) -> Result<(), TargetError> {
        let target = self.target;
        self.tx.rollback().await.map_err(|e| target.error(e))
    }
}
