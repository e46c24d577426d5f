//! Target failures as one sentence each: which host, what failed, what to check. Never the password.

use super::Endpoint;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("SUPABASE_DB_URL is not a valid postgres:// URL; copy it from Supabase → Project Settings → Database → Connection string.")]
    InvalidUrl,
    #[error("{endpoint} is Supabase's transaction pooler, which cannot keep the prepared statements bellhop uses; set SUPABASE_DB_URL to the direct connection or the session pooler (port 5432).")]
    TransactionPooler { endpoint: Endpoint },
    #[error("Cannot reach the target database at {endpoint} ({why}); check SUPABASE_DB_URL's host and port, and that the database is up.")]
    Unreachable { endpoint: Endpoint, why: &'static str },
    #[error("All {connections} of bellhop's connections to the target database at {endpoint} are in use by {work}; the database itself answers. Try again in a moment.")]
    Busy { endpoint: Endpoint, connections: u32, work: &'static str },
    #[error("The target database at {endpoint} refused user {} (wrong password or unknown user); check the credentials in SUPABASE_DB_URL.", endpoint.user)]
    Credentials { endpoint: Endpoint },
    #[error("The target database at {endpoint} has no database named {}; check the path of SUPABASE_DB_URL.", endpoint.database)]
    NoDatabase { endpoint: Endpoint },
    #[error("A query on {endpoint} ran past the {} statement timeout; the database may be overloaded (or raise {setting}).", humantime::format_duration(*timeout))]
    Timeout { endpoint: Endpoint, timeout: Duration, setting: &'static str },
    #[error("Something bellhop reads is missing on {endpoint}: {message}; check that this is the platform's database.")]
    Missing { endpoint: Endpoint, message: String },
    #[error("User {} may not read this on {endpoint}: {message}; bellhop needs a role like Supabase's postgres.", endpoint.user)]
    Privilege { endpoint: Endpoint, message: String },
    #[error("The target database at {endpoint} refused a write: diagnostics run read-only.")]
    ReadOnly { endpoint: Endpoint },
    /// `detail` is "error CODE: message", as the server said it.
    #[error("The target database at {endpoint} answered with {detail}.")]
    Other { endpoint: Endpoint, detail: String },
}

impl TargetError {
    /// `limit`: the statement timeout in force and the setting that sets it.
    pub(super) fn from_sqlx(endpoint: &Endpoint, limit: (Duration, &'static str), error: sqlx::Error) -> TargetError {
        let endpoint = endpoint.clone();
        match error {
            sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                TargetError::Unreachable { endpoint, why: "connection refused" }
            }
            sqlx::Error::Io(_) => TargetError::Unreachable { endpoint, why: "the connection failed" },
            sqlx::Error::Tls(_) => TargetError::Unreachable { endpoint, why: "the TLS handshake failed" },
            sqlx::Error::PoolTimedOut => TargetError::Unreachable { endpoint, why: "no connection within the timeout" },
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                let message = db.message().to_string();
                match code.as_str() {
                    "28P01" | "28000" => TargetError::Credentials { endpoint },
                    "3D000" => TargetError::NoDatabase { endpoint },
                    "57014" => TargetError::Timeout { endpoint, timeout: limit.0, setting: limit.1 },
                    "42P01" | "42883" | "3F000" | "42703" => TargetError::Missing { endpoint, message },
                    "42501" => TargetError::Privilege { endpoint, message },
                    "25006" => TargetError::ReadOnly { endpoint },
                    _ => TargetError::Other { endpoint, detail: format!("error {code}: {message}") },
                }
            }
            _ => TargetError::Unreachable { endpoint, why: "the connection failed" },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint { host: "db.example.supabase.co".into(), port: 5432, user: "postgres".into(), database: "postgres".into() }
    }

    #[test]
    fn sentences_name_the_host_and_what_to_check() {
        let refused = TargetError::from_sqlx(
            &endpoint(),
            (Duration::from_secs(5), "BELLHOP_TARGET_STATEMENT_TIMEOUT"),
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        );
        assert_eq!(
            refused.to_string(),
            "Cannot reach the target database at db.example.supabase.co:5432 (connection refused); check SUPABASE_DB_URL's host and port, and that the database is up."
        );
        let timeout =
            TargetError::Timeout { endpoint: endpoint(), timeout: Duration::from_secs(5), setting: "BELLHOP_TARGET_WRITE_TIMEOUT" };
        assert!(timeout.to_string().contains("ran past the 5s statement timeout"), "{timeout}");
        assert!(timeout.to_string().ends_with("(or raise BELLHOP_TARGET_WRITE_TIMEOUT)."), "{timeout}");
        let busy = TargetError::Busy { endpoint: endpoint(), connections: 2, work: "other diagnostics and suggestions" };
        assert_eq!(
            busy.to_string(),
            "All 2 of bellhop's connections to the target database at db.example.supabase.co:5432 are in use by other diagnostics and suggestions; the database itself answers. Try again in a moment."
        );
    }
}
