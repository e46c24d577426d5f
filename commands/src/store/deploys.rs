//! Edge function versions seen through the Management API: a row per deploy, recorded once
//! however many replicas see it. Alerts, incidents and `/deploy validate` read them.

use super::{from_millis, millis, Store, Tx};
use crate::text::span;
use chrono::{DateTime, Duration, Utc};
use sqlx::AnyConnection;

/// A deploy this long before an alert or an incident started is named as a possible cause.
pub const RECENT_DEPLOY: Duration = Duration::hours(2);

/// One version of one function, as bellhop first saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionDeploy {
    pub function: String,
    pub version: i64,
    /// When the Management API says it was deployed (`updated_at`), else when bellhop saw it.
    pub deployed: DateTime<Utc>,
    pub seen: DateTime<Utc>,
    /// The function's sample counts in each of the 15 minutes before it was seen (JSON).
    pub figures_before: String,
}

impl FunctionDeploy {
    /// `invite-user v42`.
    pub fn name(&self) -> String {
        format!("{} v{}", self.function, self.version)
    }

    /// "invite-user v42 was deployed 12 min before this alert started", when the deploy is
    /// recent before `started`; nothing otherwise.
    pub fn blamed(&self, started: DateTime<Utc>, what: &str) -> Option<String> {
        let before = started - self.deployed;
        (before >= Duration::zero() && before <= RECENT_DEPLOY)
            .then(|| format!("{} was deployed {} before {what} started", self.name(), span(before)))
    }
}

type Row = (String, i64, i64, i64, String);

fn deploy((function, version, deployed, seen, figures_before): Row) -> FunctionDeploy {
    FunctionDeploy { function, version, deployed: from_millis(deployed), seen: from_millis(seen), figures_before }
}

const COLUMNS: &str = "function, version, deployed_ms, seen_ms, figures_before";

impl Store {
    /// Records a function's version; true when it is new (this replica saw it first).
    pub async fn record_deploy(&self, new: &FunctionDeploy) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO function_deploys (function, version, deployed_ms, seen_ms, figures_before) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (function, version) DO NOTHING",
        )
        .bind(&new.function)
        .bind(new.version)
        .bind(millis(new.deployed))
        .bind(millis(new.seen))
        .bind(&new.figures_before)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether bellhop has seen any version of `function` yet.
    pub async fn knows_function(&self, function: &str) -> anyhow::Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM function_deploys WHERE function = $1 LIMIT 1")
            .bind(function)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    /// The newest deploys, newest first.
    pub async fn recent_deploys(&self, limit: i64) -> anyhow::Result<Vec<FunctionDeploy>> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM function_deploys ORDER BY deployed_ms DESC, function LIMIT $1"))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(deploy).collect())
    }

    /// Each function's newest deploy since `since`.
    pub async fn deploys_since(&self, since: DateTime<Utc>) -> anyhow::Result<Vec<FunctionDeploy>> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM function_deploys d WHERE deployed_ms >= $1
               AND version = (SELECT MAX(version) FROM function_deploys n WHERE n.function = d.function)
             ORDER BY function"
        ))
        .bind(millis(since))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(deploy).collect())
    }
}

impl Tx<'_> {
    /// The function's newest deploy at or before `at`: the one a failure that started then may
    /// blame, whatever went out after it (a fix, a rollback).
    pub async fn deploy_before(&mut self, function: &str, at: DateTime<Utc>) -> anyhow::Result<Option<FunctionDeploy>> {
        newest_before(self.conn(), function, at).await
    }
}

impl Store {
    /// As [`Tx::deploy_before`], outside a transaction.
    pub async fn deploy_before(&self, function: &str, at: DateTime<Utc>) -> anyhow::Result<Option<FunctionDeploy>> {
        let mut conn = self.pool().acquire().await?;
        newest_before(&mut conn, function, at).await
    }
}

async fn newest_before(conn: &mut AnyConnection, function: &str, at: DateTime<Utc>) -> anyhow::Result<Option<FunctionDeploy>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM function_deploys
         WHERE function = $1 AND deployed_ms <= $2
         ORDER BY deployed_ms DESC, version DESC LIMIT 1"
    ))
    .bind(function)
    .bind(millis(at))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(deploy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deploy_is_blamed_only_when_it_came_shortly_before() {
        let at = |m: i64| DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc() + Duration::minutes(m);
        let deploy =
            FunctionDeploy { function: "invite-user".into(), version: 42, deployed: at(0), seen: at(1), figures_before: "{}".into() };
        assert_eq!(deploy.blamed(at(12), "this alert").as_deref(), Some("invite-user v42 was deployed 12 min before this alert started"));
        assert_eq!(deploy.blamed(at(-5), "this alert"), None, "deployed after it started");
        assert_eq!(deploy.blamed(at(121), "this alert"), None, "too long before");
    }
}
