//! Where a plan stands. Every change is one conditional UPDATE in the store:
//! pending → executing → done | failed | aborted | interrupted, or pending → rejected |
//! withdrawn | expired.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PlanState {
    /// Waiting for approvals.
    Pending,
    /// Claimed by a runner, which holds its lease.
    Executing,
    Done,
    /// It ran and the target refused or failed.
    Failed,
    /// Stopped before its first write: nothing changed.
    Aborted,
    /// Its runner stopped after its first write.
    Interrupted,
    /// An approver's ❌.
    Rejected,
    /// The requester's own ❌.
    Withdrawn,
    /// Not approved in time.
    Expired,
}

impl PlanState {
    pub const ALL: [PlanState; 9] = [
        PlanState::Pending,
        PlanState::Executing,
        PlanState::Done,
        PlanState::Failed,
        PlanState::Aborted,
        PlanState::Interrupted,
        PlanState::Rejected,
        PlanState::Withdrawn,
        PlanState::Expired,
    ];

    /// How the store and the audit spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanState::Pending => "pending",
            PlanState::Executing => "executing",
            PlanState::Done => "done",
            PlanState::Failed => "failed",
            PlanState::Aborted => "aborted",
            PlanState::Interrupted => "interrupted",
            PlanState::Rejected => "rejected",
            PlanState::Withdrawn => "withdrawn",
            PlanState::Expired => "expired",
        }
    }
}

impl fmt::Display for PlanState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compared with how it is spelled (`plan.state == "done"`), as the audit and the store say it.
impl PartialEq<&str> for PlanState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl FromStr for PlanState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanState::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown plan state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_what_it_writes() {
        for state in PlanState::ALL {
            assert_eq!(state.as_str().parse::<PlanState>(), Ok(state));
        }
        assert!("expird".parse::<PlanState>().is_err(), "a typo is an error, never shown as some state");
    }
}
