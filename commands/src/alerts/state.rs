//! One rule's life for one function: ok → pending (held for the rule's `for`) → firing → ok,
//! with flap damping: a firing rule clears only after staying clear for `clear_for`.

use super::rules::{Rule, Verdict};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Timing shared by every alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// A firing rule must stay within its threshold this long before it clears.
    pub clear_for: Duration,
    /// A firing alert nobody declared an incident from is recalled in the ops channel this often.
    pub renotify_every: Duration,
    /// An alert's post is edited at most this often (its resolve is never held back).
    pub update_every: Duration,
}

/// Where one rule of one function stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Ok,
    /// Over the threshold since `since`, not yet for long enough.
    Pending {
        since: DateTime<Utc>,
    },
    /// Breached; `since` is when the breach began.
    Firing {
        since: DateTime<Utc>,
        /// Since when the figures have been clear (or too few), while damping.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quiet_since: Option<DateTime<Utc>>,
    },
}

impl Phase {
    pub fn is_firing(&self) -> bool {
        matches!(self, Phase::Firing { .. })
    }
}

/// Moves one rule on by one evaluation.
pub fn step(phase: &Phase, verdict: &Verdict, rule: &Rule, timing: &Timing, now: DateTime<Utc>) -> Phase {
    let hold = Duration::from_std(rule.hold_for).unwrap_or(Duration::MAX);
    match (phase, verdict) {
        (Phase::Ok, Verdict::Breached(_)) if hold.is_zero() => Phase::Firing { since: now, quiet_since: None },
        (Phase::Ok, Verdict::Breached(_)) => Phase::Pending { since: now },
        (Phase::Ok, _) => Phase::Ok,
        (Phase::Pending { since }, Verdict::Breached(_)) if now - *since >= hold => Phase::Firing { since: *since, quiet_since: None },
        (Phase::Pending { .. }, Verdict::Breached(_)) => phase.clone(),
        (Phase::Pending { .. }, _) => Phase::Ok,
        (Phase::Firing { since, .. }, Verdict::Breached(_)) => Phase::Firing { since: *since, quiet_since: None },
        (Phase::Firing { since, quiet_since }, _) => {
            let quiet = quiet_since.unwrap_or(now);
            // With too few samples, wait a whole window as well, so a pause in traffic is not a recovery.
            let wait = match verdict {
                Verdict::TooFewSamples => timing.clear_for.max(Duration::from_std(rule.window).unwrap_or(Duration::MAX)),
                _ => timing.clear_for,
            };
            if now - quiet >= wait {
                Phase::Ok
            } else {
                Phase::Firing { since: *since, quiet_since: Some(quiet) }
            }
        }
    }
}
