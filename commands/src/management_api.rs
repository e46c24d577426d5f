//! The Supabase Management API (`SUPABASE_API_URL`, default `https://api.supabase.com`): one
//! client for what bellhop reads there — the edge functions with their versions, their
//! statistics, and the database's backups. The API answers 429 for the rest of a minute and can
//! put an `error` in a 200 body; both are reported, and the token never appears in an error.

use chrono::{DateTime, NaiveDateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Mutex;
use std::time::Duration;

/// Where the API is: `https://api.supabase.com`, or a local fake in tests and the demo.
pub const DEFAULT_BASE: &str = "https://api.supabase.com";

#[derive(Clone, Debug)]
pub struct ManagementSettings {
    pub token: SecretString,
    pub project_ref: String,
    /// `SUPABASE_API_URL`: `https://api.supabase.com`, or a local fake in tests.
    pub base: String,
    /// Only these function slugs (empty: every active function).
    pub functions: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("the Management API is rate-limiting bellhop for {0} s")]
    RateLimited(u64),
    #[error("the Management API refused the token (HTTP {0}); check SUPABASE_ACCESS_TOKEN and its permissions")]
    Refused(u16),
    #[error("the Management API answered with an error: {0}")]
    Api(String),
    #[error("cannot reach the Management API: {0}")]
    Unreachable(String),
}

/// An edge function as `GET /v1/projects/{ref}/functions` lists it.
#[derive(Clone, Debug, Deserialize)]
pub struct Function {
    pub id: String,
    pub slug: String,
    #[serde(default)]
    pub status: String,
    /// Bumped by every deploy.
    #[serde(default)]
    pub version: Option<i64>,
    /// When it was last deployed: milliseconds since the epoch (an RFC 3339 text is read too).
    #[serde(default)]
    pub updated_at: serde_json::Value,
}

impl Function {
    pub fn removed(&self) -> bool {
        self.status == "REMOVED"
    }

    pub fn deployed_at(&self) -> Option<DateTime<Utc>> {
        timestamp(&self.updated_at)
    }
}

/// `GET /v1/projects/{ref}/database/backups`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Backups {
    #[serde(default)]
    pub pitr_enabled: bool,
    #[serde(default)]
    pub walg_enabled: bool,
    #[serde(default)]
    pub backups: Vec<Backup>,
    #[serde(default)]
    pub physical_backup_data: PhysicalBackupData,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Backup {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub is_physical_backup: bool,
    #[serde(default)]
    pub inserted_at: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PhysicalBackupData {
    #[serde(default)]
    pub earliest_physical_backup_date_unix: Option<i64>,
    #[serde(default)]
    pub latest_physical_backup_date_unix: Option<i64>,
}

impl Backup {
    pub fn completed(&self) -> bool {
        self.status.eq_ignore_ascii_case("COMPLETED")
    }

    /// When it was taken; the API writes it with or without a zone (then UTC).
    pub fn at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.inserted_at).map(|t| t.to_utc()).ok().or_else(|| {
            NaiveDateTime::parse_from_str(self.inserted_at.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f").ok().map(|t| t.and_utc())
        })
    }
}

impl Backups {
    /// The completed backups, newest first.
    pub fn completed(&self) -> Vec<(DateTime<Utc>, &Backup)> {
        let mut done: Vec<(DateTime<Utc>, &Backup)> =
            self.backups.iter().filter(|b| b.completed()).filter_map(|b| Some((b.at()?, b))).collect();
        done.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        done
    }

    /// The newest point the database can be restored to: the newest completed backup, or with
    /// point-in-time recovery on, the latest recovery point when it is newer.
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        let backup = self.completed().first().map(|(at, _)| *at);
        let pitr = self.pitr_enabled.then_some(self.physical_backup_data.latest_physical_backup_date_unix).flatten().and_then(unix);
        backup.into_iter().chain(pitr).max()
    }
}

fn unix(seconds: i64) -> Option<DateTime<Utc>> {
    match seconds {
        n if n > 100_000_000_000 => DateTime::from_timestamp_millis(n),
        n => DateTime::from_timestamp(n, 0),
    }
}

/// Logflare rows carry microseconds since the epoch, functions milliseconds; an RFC 3339 text is
/// read too.
pub fn timestamp(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    match value {
        serde_json::Value::Number(n) => {
            let n = n.as_i64()?;
            match n {
                n if n > 100_000_000_000_000 => DateTime::from_timestamp_micros(n),
                n if n > 100_000_000_000 => DateTime::from_timestamp_millis(n),
                n => DateTime::from_timestamp(n, 0),
            }
        }
        serde_json::Value::String(text) => DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc()),
        _ => None,
    }
}

/// The client: one per duty, each pausing on its own 429.
pub struct ManagementApi {
    client: reqwest::Client,
    settings: ManagementSettings,
    /// No request before this (a 429 said so).
    paused_until: Mutex<Option<DateTime<Utc>>>,
}

impl ManagementApi {
    pub fn new(settings: ManagementSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(2).build()?;
        Ok(ManagementApi { client, settings, paused_until: Mutex::new(None) })
    }

    pub fn settings(&self) -> &ManagementSettings {
        &self.settings
    }

    /// The project's edge functions, with their versions.
    pub async fn functions(&self, now: DateTime<Utc>) -> Result<Vec<Function>, PollError> {
        self.get(&format!("/v1/projects/{}/functions", self.settings.project_ref), now).await
    }

    /// The functions bellhop watches: not removed, and named in `BELLHOP_FUNCTIONS` when it lists any.
    pub fn watched(&self, function: &Function) -> bool {
        !function.removed() && (self.settings.functions.is_empty() || self.settings.functions.contains(&function.slug))
    }

    /// The database's backups and whether point-in-time recovery is on.
    pub async fn backups(&self, now: DateTime<Utc>) -> Result<Backups, PollError> {
        self.get(&format!("/v1/projects/{}/database/backups", self.settings.project_ref), now).await
    }

    /// `GET {base}{path}` with the token; 429 pauses every later request for as long as it says.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, now: DateTime<Utc>) -> Result<T, PollError> {
        if let Some(until) = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) {
            if now < until {
                return Err(PollError::RateLimited((until - now).num_seconds().max(0) as u64));
            }
        }
        let url = format!("{}{path}", self.settings.base.trim_end_matches('/'));
        let response = self
            .client
            .get(&url)
            .bearer_auth(self.settings.token.expose_secret())
            .send()
            .await
            .map_err(|e| PollError::Unreachable(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        if status == 429 {
            let reset = response.headers().get("x-ratelimit-reset").and_then(|v| v.to_str().ok()?.parse::<u64>().ok()).unwrap_or(60);
            *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(now + chrono::Duration::seconds(reset.min(3600) as i64));
            return Err(PollError::RateLimited(reset));
        }
        if status == 401 || status == 403 {
            return Err(PollError::Refused(status));
        }
        if !response.status().is_success() {
            return Err(PollError::Api(format!("HTTP {status}")));
        }
        response.json().await.map_err(|e| PollError::Api(format!("an answer that does not read: {}", e.without_url())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_times_read_in_every_unit() {
        let at = timestamp(&serde_json::json!(1767603600000000_i64)).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-05T09:00:00+00:00");
        assert_eq!(timestamp(&serde_json::json!(1767603600000_i64)), Some(at));
        assert_eq!(timestamp(&serde_json::json!("2026-01-05T09:00:00Z")), Some(at));
        assert_eq!(timestamp(&serde_json::json!(null)), None);
    }

    #[test]
    fn the_newest_backup_is_the_newest_completed_one_or_the_pitr_point() {
        let backups: Backups = serde_json::from_value(serde_json::json!({
            "region": "eu-central-1", "pitr_enabled": false, "walg_enabled": true,
            "backups": [
                {"is_physical_backup": true, "status": "COMPLETED", "inserted_at": "2026-01-04T03:00:00.000Z"},
                {"is_physical_backup": true, "status": "FAILED", "inserted_at": "2026-01-05T03:00:00.000Z"},
                {"is_physical_backup": true, "status": "COMPLETED", "inserted_at": "2026-01-03T03:00:00"}
            ],
            "physical_backup_data": {"earliest_physical_backup_date_unix": 1767200000, "latest_physical_backup_date_unix": 1767603600}
        }))
        .unwrap();
        assert_eq!(backups.newest().unwrap().to_rfc3339(), "2026-01-04T03:00:00+00:00", "a failed backup is no backup; PITR is off");
        assert_eq!(backups.completed().len(), 2);
        let pitr = Backups { pitr_enabled: true, ..backups };
        assert_eq!(pitr.newest().unwrap().to_rfc3339(), "2026-01-05T09:00:00+00:00");
    }
}
