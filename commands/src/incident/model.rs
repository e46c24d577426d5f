//! An incident as stored, and the entries of its timeline.

use super::Severity;
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: i64,
    pub severity: Severity,
    pub title: String,
    pub impact: String,
    pub commander: String,
    pub declared_by: String,
    pub declared: DateTime<Utc>,
    pub acked: Option<(DateTime<Utc>, String)>,
    pub resolved: Option<DateTime<Utc>>,
    pub root_cause: Option<String>,
    pub channel_key: Option<String>,
}

impl Incident {
    /// `INC-7`: how people and posts name it.
    pub fn code(&self) -> String {
        code(self.id)
    }

    pub fn is_open(&self) -> bool {
        self.resolved.is_none()
    }
}

pub fn code(id: i64) -> String {
    format!("INC-{id}")
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub kind: String,
    pub text: String,
}

/// What `/incident list` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListState {
    Open,
    Resolved,
    All,
}
