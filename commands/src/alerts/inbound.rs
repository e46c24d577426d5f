//! Alerts raised elsewhere (Alertmanager, Grafana) as bellhop keeps them: one per fingerprint.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an inbound alert came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Alertmanager,
    Grafana,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
        }
    }
}

/// One alert of a webhook notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundAlert {
    pub source: Source,
    /// The sender's identity of the alert; a repeat of the same fingerprint and status is a duplicate.
    pub fingerprint: String,
    pub firing: bool,
    /// The `alertname` label, or the sender's title.
    pub name: String,
    /// The `summary` or `description` annotation, when there is one.
    pub summary: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Labels and annotations as received, JSON.
    pub detail: String,
}
