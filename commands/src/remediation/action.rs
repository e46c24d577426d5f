//! A destructive remediation as approved: the action with its normalised parameters, and the
//! cutoff an age is frozen into. (What each action does is in its own file; `plan.rs` dispatches.)

use super::rls;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an age cuts: a time frozen in the plan, or (a plan stored before cutoffs were frozen)
/// the age counted back from the database's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cutoff {
    /// Milliseconds since the epoch, when frozen.
    pub at_ms: Option<i64>,
    pub older_than_secs: i64,
}

impl Cutoff {
    pub fn new(before: Option<DateTime<Utc>>, older_than_secs: i64) -> Cutoff {
        Cutoff { at_ms: before.map(|at| at.timestamp_millis()), older_than_secs }
    }

    /// The SQL for `column` older than the cutoff, binding `$at` (ms, or NULL) and `$age` (s).
    pub fn sql(column: &str, at: usize, age: usize) -> String {
        format!(
            "{column} < COALESCE(to_timestamp(${at}::double precision / 1000), now() - make_interval(secs => ${age}::double precision))"
        )
    }
}

/// A destructive remediation with its normalised parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `/flags disable` (`enable: false`) and `/flags enable`.
    SetFlags { names: Vec<String>, enable: bool, reason: Option<String> },
    /// `/sessions purge`: sessions created before `before` (`older_than_secs` before the request),
    /// of one user (id or email) or all. The cutoff is a time, frozen when the plan is made: it
    /// does not move while the plan waits or runs. Plans stored before it counted from their
    /// creation ([`Plan::runnable_action`]).
    PurgeSessions {
        older_than_secs: i64,
        user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<DateTime<Utc>>,
    },
    /// `/auth confirm-stuck`: email users who signed up before `before` (`older_than_secs` before
    /// the request) and are still unconfirmed.
    ConfirmStuck {
        older_than_secs: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<DateTime<Utc>>,
    },
    /// `/migrations rollback`: the down file of `version`, frozen by its name, size and SHA-256,
    /// and its text, which the approval post shows (plans stored before it have none).
    RollbackMigration {
        version: String,
        file: String,
        bytes: u64,
        sha256: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        sql: String,
    },
    /// `/rls lockdown`: the runbook's REVOKE of anon on the public tables, its grants recorded.
    RlsLockdown,
    /// `/rls restore`: grants back what the lockdown plan `lockdown` recorded (filled by resolve).
    RlsRestore { lockdown: i64, grants: Vec<rls::Grant> },
}
