//! Where a plan stands. Every change is one conditional UPDATE in the store:
//! pending → executing → done | failed | aborted | interrupted, or pending → rejected |
//! withdrawn | expired.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr, strum::Display, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
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
    /// How the store and the audit spell it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The states a plan ends in.
    pub fn outcomes() -> impl Iterator<Item = PlanState> {
        <PlanState as strum::VariantArray>::VARIANTS.iter().copied().filter(|s| !matches!(s, PlanState::Pending | PlanState::Executing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_what_it_writes() {
        for &state in <PlanState as strum::VariantArray>::VARIANTS {
            assert_eq!(state.as_str().parse::<PlanState>(), Ok(state));
        }
        assert!("expird".parse::<PlanState>().is_err(), "a typo is an error, never shown as some state");
    }
}
