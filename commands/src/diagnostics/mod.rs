//! The runbook's read-only diagnostics of the target database, one file each.

pub mod auth_diagnose;
mod chart;
pub mod connections;
pub mod db_health;
pub mod flags_list;
pub mod migrations_status;
pub mod slow_queries;

use crate::post::{Post, Tone};
use crate::target_db::{TargetDb, TargetError};
use serde_json::{json, Value};

pub use slow_queries::SlowQueryArgs;

/// One diagnostic's outcome for `bellhop diagnose`: its post, and the same as JSON.
pub struct Report {
    pub name: &'static str,
    pub post: Post,
    pub json: Value,
    pub failed: bool,
}

/// The post a failed diagnostic answers with: the one sentence, nothing else.
pub fn failure_post(error: &TargetError) -> Post {
    Post::error(error.to_string())
}

fn report<T: serde::Serialize>(name: &'static str, result: Result<T, TargetError>, post: impl FnOnce(&T) -> Post) -> Report {
    match result {
        Ok(value) => Report { name, post: post(&value), json: json!({ "ok": value }), failed: false },
        Err(error) => Report { name, post: failure_post(&error), json: json!({ "error": error.to_string() }), failed: true },
    }
}

/// Every diagnostic, one after the other (they share a two-connection pool).
pub async fn run_all(target: &TargetDb) -> Vec<Report> {
    let args = SlowQueryArgs::default();
    vec![
        report("db_health", db_health::run(target).await, db_health::post),
        report("slow_queries", slow_queries::run(target, args).await, |r| slow_queries::post(r, args)),
        report("connections", connections::run(target).await, connections::post),
        report("auth_diagnose", auth_diagnose::run(target).await, auth_diagnose::post),
        report("migrations_status", migrations_status::run(target).await, migrations_status::post),
        report("flags_list", flags_list::run(target).await, |f| flags_list::post(f)),
    ]
}

/// True when a report's post needs someone's attention (a leak, a missing table, a failure).
pub fn needs_attention(report: &Report) -> bool {
    report.failed || matches!(report.post.tone, Tone::Bad | Tone::Warning)
}
