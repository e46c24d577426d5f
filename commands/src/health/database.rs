//! The production database probe: connect and `SELECT 1`.

use super::{Outcome, Status};
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::str::FromStr;
use std::time::Duration;

pub(super) async fn probe(url: &SecretString, timeout: Duration) -> Outcome {
    let Ok(options) = PgConnectOptions::from_str(url.expose_secret()) else {
        return Outcome {
            status: Status::Misconfigured,
            http_status: None,
            detail: "SUPABASE_DB_URL is not a valid postgres:// URL".into(),
        };
    };
    let options = options.application_name("bellhop-probe").disable_statement_logging();
    let attempt = async {
        let mut conn = options.connect().await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        conn.close().await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(())) => Outcome { status: Status::Up, http_status: None, detail: "SELECT 1 answered".into() },
        Ok(Err(error)) => failure(&error),
        Err(_) => Outcome::failed(format!("timed out after {}", humantime::format_duration(timeout))),
    }
}

/// Plain words for a database failure; never the URL (it holds the password).
fn failure(error: &sqlx::Error) -> Outcome {
    let detail = match error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "connection refused".to_string(),
        sqlx::Error::Io(_) => "connection failed".to_string(),
        sqlx::Error::Tls(_) => "TLS handshake failed".to_string(),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("28P01") || db.code().as_deref() == Some("28000") => {
            return Outcome {
                status: Status::Misconfigured,
                http_status: None,
                detail: "the database refused bellhop's credentials".into(),
            };
        }
        sqlx::Error::Database(db) => format!("database error {}", db.code().unwrap_or_default()),
        _ => "database unreachable".to_string(),
    };
    Outcome::failed(detail)
}
