//! Samples from the Supabase Management API: each edge function's `functions.combined-stats`,
//! polled on a schedule. A row counts its requests by outcome; each new row becomes samples (at
//! most `MAX_PER_ROW`, in the row's proportions). The API answers 429 for the rest of a minute
//! and can put an `error` in a 200 body: both are reported, never turned into samples.

use super::{AlertEngine, Sample};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Enough samples for any rule's minimum, few enough that one busy bucket cannot drown a window.
const MAX_PER_ROW: u64 = 200;

#[derive(Clone, Debug)]
pub struct ManagementSettings {
    pub token: SecretString,
    pub project_ref: String,
    /// `https://api.supabase.com`, or a local fake in tests.
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

#[derive(Deserialize)]
struct Function {
    id: String,
    slug: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    result: Vec<Row>,
    #[serde(default)]
    error: serde_json::Value,
}

#[derive(Deserialize)]
struct Row {
    timestamp: serde_json::Value,
    #[serde(default)]
    requests_count: u64,
    #[serde(default)]
    server_err_count: u64,
    #[serde(default)]
    avg_execution_time: f64,
}

pub struct ManagementPoller {
    client: reqwest::Client,
    settings: ManagementSettings,
    /// The newest row already turned into samples, per function.
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
    /// No request before this (a 429 said so).
    paused_until: Mutex<Option<DateTime<Utc>>>,
}

impl ManagementPoller {
    pub fn new(settings: ManagementSettings) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(2).build()?;
        Ok(ManagementPoller { client, settings, seen: Mutex::new(HashMap::new()), paused_until: Mutex::new(None) })
    }

    /// One poll: the functions, then each one's stats; returns how many samples went in.
    pub async fn poll(&self, engine: &AlertEngine, now: DateTime<Utc>) -> Result<usize, PollError> {
        if let Some(until) = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner()) {
            if now < until {
                return Err(PollError::RateLimited((until - now).num_seconds().max(0) as u64));
            }
        }
        let functions: Vec<Function> = self.get(&format!("/v1/projects/{}/functions", self.settings.project_ref), now).await?;
        let wanted =
            |f: &Function| f.status != "REMOVED" && (self.settings.functions.is_empty() || self.settings.functions.contains(&f.slug));
        let mut taken = 0;
        for function in functions.iter().filter(|f| wanted(f)) {
            let path = format!(
                "/v1/projects/{}/analytics/endpoints/functions.combined-stats?interval=15min&function_id={}",
                self.settings.project_ref, function.id
            );
            let stats: Stats = self.get(&path, now).await?;
            if !stats.error.is_null() {
                return Err(PollError::Api(crate::text::ellipsize(&stats.error.to_string(), 200)));
            }
            taken += self.ingest(engine, &function.slug, &stats.result);
        }
        Ok(taken)
    }

    fn ingest(&self, engine: &AlertEngine, slug: &str, rows: &[Row]) -> usize {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let newest_seen = seen.get(slug).copied();
        let mut taken = 0;
        for row in rows {
            let Some(at) = timestamp(&row.timestamp) else { continue };
            if newest_seen.is_some_and(|seen| at <= seen) {
                continue;
            }
            let total = row.requests_count.min(MAX_PER_ROW);
            let failed = (row.server_err_count.min(row.requests_count) * total).checked_div(row.requests_count).unwrap_or(0);
            let latency = row.avg_execution_time.max(0.0).round() as u64;
            for n in 0..total {
                if engine.ingest(&Sample::new(slug, n >= failed, latency, at)).is_ok() {
                    taken += 1;
                }
            }
            seen.entry(slug.to_string()).and_modify(|s| *s = (*s).max(at)).or_insert(at);
        }
        taken
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, now: DateTime<Utc>) -> Result<T, PollError> {
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

/// Logflare rows carry microseconds since the epoch; an RFC 3339 text is read too.
fn timestamp(value: &serde_json::Value) -> Option<DateTime<Utc>> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn row_times_read_in_every_unit() {
        let at = super::timestamp(&serde_json::json!(1767603600000000_i64)).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-05T09:00:00+00:00");
        assert_eq!(super::timestamp(&serde_json::json!(1767603600000_i64)), Some(at));
        assert_eq!(super::timestamp(&serde_json::json!("2026-01-05T09:00:00Z")), Some(at));
        assert_eq!(super::timestamp(&serde_json::json!(null)), None);
    }
}
