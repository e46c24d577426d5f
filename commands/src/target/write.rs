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
        Ok(WriteTx { tx: target.begin(false, Some(LOCK_TIMEOUT)).await?, target: target.clone() })
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
