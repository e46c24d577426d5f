//! Holds bellhop's write of one row of the target until the test lets it go, at the database:
//! a trigger on the row's table waits on an advisory lock the test holds. A test can then see
//! what else runs while that write waits (a purge stopped in the middle of its batches) and
//! release it when it has seen it, with no sleep on either side.

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

/// The trigger's function. bellhop's writes give up on a lock after 2 s; the hold is meant to
/// last as long as the test needs, so the function turns `lock_timeout` off while it waits (the
/// write's statement timeout still bounds it).
const HOLD: &str = "CREATE OR REPLACE FUNCTION public.bellhop_test_hold() RETURNS trigger LANGUAGE plpgsql SET lock_timeout = 0 AS $$
    BEGIN
        IF to_jsonb(OLD) ->> TG_ARGV[1] = TG_ARGV[2] THEN
            PERFORM pg_advisory_xact_lock_shared(TG_ARGV[0]::bigint);
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$";

/// While this lives (and until [`HeldWrite::release`]), a DELETE or UPDATE of the row waits.
pub struct HeldWrite {
    conn: PgConnection,
    key: i64,
}

impl HeldWrite {
    /// Holds the writes of `table`'s row whose `column` reads `value`, under advisory lock `key`
    /// (one key per hold in a test). Connects as the superuser `admin`.
    pub async fn hold(admin: &PgConnectOptions, table: &str, column: &str, value: &str, key: i64) -> HeldWrite {
        let mut conn = admin.connect().await.expect("the superuser connects");
        sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(HOLD).execute(&mut conn).await.unwrap();
        let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
        let trigger = format!(
            "CREATE TRIGGER bellhop_test_hold_{key} BEFORE DELETE OR UPDATE ON {table} FOR EACH ROW
             EXECUTE FUNCTION public.bellhop_test_hold({}, {}, {})",
            quote(&key.to_string()),
            quote(column),
            quote(value)
        );
        sqlx::raw_sql(&trigger).execute(&mut conn).await.unwrap();
        HeldWrite { conn, key }
    }

    /// Lets the held write go on.
    pub async fn release(mut self) {
        let released: bool = sqlx::query_scalar("SELECT pg_advisory_unlock($1)").bind(self.key).fetch_one(&mut self.conn).await.unwrap();
        assert!(released, "the hold was this connection's");
    }
}
