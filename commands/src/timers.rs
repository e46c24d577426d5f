//! The runbook's clock: every reminder, nudge and escalation is a row in the store with its due
//! time, fired exactly once by whichever bellhop claims it first.

use crate::outbox::Op;
use crate::subject::Subject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a timer does when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// A phase of the severity's procedure starts.
    Phase {
        name: String,
        what: String,
    },
    /// No status update for the severity's interval.
    UpdateReminder,
    /// Nobody acknowledged: page the next step of the escalation chain.
    Escalate {
        step: usize,
    },
    /// The runbook's post-incident review within 24 hours.
    Review,
    MaintenanceNotice,
    MaintenanceStart,
    MaintenanceEnd,
    /// A remediation plan not approved in time: closed, never to run.
    PlanExpiry,
}

impl Job {
    /// The `kind` column, for cancelling timers by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::Phase { .. } => "phase",
            Job::UpdateReminder => "update_reminder",
            Job::Escalate { .. } => "escalate",
            Job::Review => "review",
            Job::MaintenanceNotice => "maintenance_notice",
            Job::MaintenanceStart => "maintenance_start",
            Job::MaintenanceEnd => "maintenance_end",
            Job::PlanExpiry => "plan_expiry",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    /// What it belongs to: cancelled with it, and asked what to do when it fires.
    pub owner: Subject,
    pub job: Job,
    pub due: DateTime<Utc>,
    pub attempts: i64,
}

/// What firing a timer does: chat operations to queue, and the next timer of a repeating kind.
#[derive(Default)]
pub(crate) struct TimerOutcome {
    pub ops: Vec<Op>,
    pub next: Option<(Job, DateTime<Utc>)>,
}
