//! The read-only transaction every diagnostic runs in.

use super::{TargetDb, TargetError};
use sqlx::{PgConnection, Postgres, Transaction};

/// A READ ONLY transaction on the target with `statement_timeout` set for it alone. Dropping it
/// rolls it back, so nothing a diagnostic does (a `SET LOCAL ROLE anon` probe) outlives it.
pub struct ReadTx {
    tx: Transaction<'static, Postgres>,
    target: TargetDb,
}

impl ReadTx {
    pub(super) async fn begin(target: &TargetDb) -> Result<ReadTx, TargetError> {
        Ok(ReadTx { tx: target.begin(true, None).await?, target: target.clone() })
    }

    /// The connection, for queries.
    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    /// The failure as one sentence naming the target.
    pub fn error(&self, error: sqlx::Error) -> TargetError {
        self.target.error(error)
    }

    /// Runs `statement` (fixed SQL, no user text) in a savepoint, so an error in it (a refused
    /// probe) leaves the transaction usable. Returns the row count, or the error.
    pub async fn try_count(&mut self, setup: &str, statement: &str) -> Result<i64, sqlx::Error> {
        sqlx::query("SAVEPOINT bellhop_probe").execute(&mut *self.tx).await?;
        let result = async {
            if !setup.is_empty() {
                sqlx::query(setup).execute(&mut *self.tx).await?;
            }
            sqlx::query_scalar::<_, i64>(statement).fetch_one(&mut *self.tx).await
        }
        .await;
        // Undoes the probe's `SET LOCAL ROLE` too, and clears an aborted state.
        sqlx::query("ROLLBACK TO SAVEPOINT bellhop_probe").execute(&mut *self.tx).await?;
        result
    }

    /// Like [`ReadTx::try_count`] for one text value (a helper function's answer).
    pub async fn try_text(&mut self, statement: &str) -> Result<Option<String>, sqlx::Error> {
        sqlx::query("SAVEPOINT bellhop_probe").execute(&mut *self.tx).await?;
        let result = sqlx::query_scalar::<_, Option<String>>(statement).fetch_one(&mut *self.tx).await;
        sqlx::query("ROLLBACK TO SAVEPOINT bellhop_probe").execute(&mut *self.tx).await?;
        result
    }
}
