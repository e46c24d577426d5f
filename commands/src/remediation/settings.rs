//! How the approval gate decides, read once from the configuration.

use crate::post::Ping;
use std::path::PathBuf;
use std::time::Duration;

/// How the gate decides; read once from the configuration.
#[derive(Clone, Debug)]
pub struct RemediationSettings {
    /// Distinct approvers needed (default 2).
    pub approvals_required: usize,
    /// Whether the requester's own ✅ counts (default false).
    pub requester_may_approve: bool,
    /// A plan not approved by then can never run (default 15 min).
    pub expiry: Duration,
    /// The drift guard: abort when the rows to touch grew by more than this percentage …
    pub drift_percent: i64,
    /// … and by more than this many rows.
    pub drift_rows: i64,
    /// Who the approval post pings.
    pub approver_ping: Ping,
    /// The most rows a purge deletes per transaction; below it, each batch is sized to hold its
    /// locks about a tenth of a second.
    pub purge_batch: i64,
    /// Where `/migrations rollback` finds `<version>.down.sql` (none: the command explains).
    pub rollbacks_dir: Option<PathBuf>,
    /// A rollback rolls itself back when users or tenants drop by more than this percentage
    /// (default 1: a schema rollback should delete no one; the margin absorbs the platform's own
    /// sign-ups and deletions committed while it runs; 0 allows no drop at all).
    pub rollback_tolerance_percent: i64,
}

impl Default for RemediationSettings {
    fn default() -> Self {
        RemediationSettings {
            approvals_required: 2,
            requester_may_approve: false,
            expiry: Duration::from_secs(15 * 60),
            drift_percent: 10,
            drift_rows: 100,
            approver_ping: crate::post::Ping::role("approver"),
            purge_batch: 25_000,
            rollbacks_dir: None,
            rollback_tolerance_percent: 1,
        }
    }
}

impl RemediationSettings {
    /// Whether one person can pass the gate alone: one approval, and the requester's own counts.
    /// bellhop starts so only when `BELLHOP_ALLOW_ONE_PERSON_GATE` says it is meant, and every
    /// approval post says so.
    pub fn one_person(&self) -> bool {
        self.approvals_required <= 1 && self.requester_may_approve
    }

    /// Whether `now` rows exceed the `approved` ones by more than both margins.
    pub fn drifted(&self, approved: i64, now: i64) -> bool {
        let excess = now.saturating_sub(approved);
        excess > self.drift_rows && excess.saturating_mul(100) > approved.saturating_mul(self.drift_percent)
    }

    /// The rows beyond `approved` that the drift guard lets through: the larger of its margins.
    pub fn margin(&self, approved: i64) -> i64 {
        self.drift_rows.max(approved.saturating_mul(self.drift_percent) / 100)
    }
}
