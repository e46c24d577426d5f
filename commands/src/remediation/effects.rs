//! What the action files hand back: what a preview counted, what a run did, how far a long run
//! got, and how a plan is named. Shared by the plan and every action, which import nothing else of
//! each other.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the preview counted: the rows the action would touch, lines to show, named figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub rows: i64,
    pub lines: Vec<String>,
    pub figures: BTreeMap<String, i64>,
}

/// What an action did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Executed {
    pub rows: i64,
    pub figures: BTreeMap<String, i64>,
    pub verification: String,
    /// What a later action needs to undo this one (the grants a lockdown revoked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<serde_json::Value>,
}

/// Where a long action says how far it got (the purge edits the approval post).
#[async_trait::async_trait]
pub trait Progress: Send + Sync {
    async fn report(&self, done: i64, total: i64);
}

/// How people name a plan: `PLAN-3`.
pub fn code(id: i64) -> String {
    format!("PLAN-{id}")
}
