//! Samples from the Supabase Management API: each edge function's `functions.combined-stats`,
//! polled on a schedule. A row counts its requests by outcome; each new row becomes samples (at
//! most `MAX_PER_ROW`, in the row's proportions). The API answers 429 for the rest of a minute
//! and can put an `error` in a 200 body: both are reported, never turned into samples.

use super::{AlertEngine, Sample};
use crate::management_api::{timestamp, ManagementApi};
pub use crate::management_api::{ManagementSettings, PollError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;

/// Enough samples for any rule's minimum, few enough that one busy bucket cannot drown a window.
const MAX_PER_ROW: u64 = 200;

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
    api: ManagementApi,
    /// The newest row already turned into samples, per function.
    seen: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl ManagementPoller {
    pub fn new(settings: ManagementSettings) -> anyhow::Result<Self> {
        Ok(ManagementPoller { api: ManagementApi::new(settings)?, seen: Mutex::new(HashMap::new()) })
    }

    /// One poll: the functions, then each one's stats; returns how many samples went in.
    pub async fn poll(&self, engine: &AlertEngine, now: DateTime<Utc>) -> Result<usize, PollError> {
        let functions = self.api.functions(now).await?;
        let mut taken = 0;
        for function in functions.iter().filter(|f| self.api.watched(f)) {
            let path = format!(
                "/v1/projects/{}/analytics/endpoints/functions.combined-stats?interval=15min&function_id={}",
                self.api.settings().project_ref,
                function.id
            );
            let stats: Stats = self.api.get(&path, now).await?;
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
}
