//! One alert's life: ok → pending (held for the rule's `for`) → firing → resolved, with flap
//! damping (a firing alert resolves only after staying clear for `clear_for`) and re-notifying.

use super::rules::{Reading, Rule, Verdict};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Timing shared by every rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Timing {
    /// A firing alert must stay within its threshold this long before it resolves.
    pub clear_for: Duration,
    /// A firing alert is announced again this often.
    pub renotify_every: Duration,
    /// Its post is edited with new figures at most this often.
    pub update_every: Duration,
}

/// Where one (rule, function) stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Ok,
    /// Over the threshold since `since`, not yet for long enough.
    Pending {
        since: DateTime<Utc>,
    },
    /// Announced; `since` is when the breach began.
    Firing {
        since: DateTime<Utc>,
        notified: DateTime<Utc>,
        updated: DateTime<Utc>,
        /// The last figure announced, so an unchanged one is not edited again.
        shown: String,
        /// Since when the figures have been clear (or too few), while damping.
        quiet_since: Option<DateTime<Utc>>,
    },
}

/// What an evaluation changed, for the lead's post: announce, edit, re-announce, resolve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Fired,
    Updated,
    Renotified,
    Resolved,
}

impl Change {
    pub fn key(self) -> &'static str {
        match self {
            Change::Fired => "fired",
            Change::Updated => "updated",
            Change::Renotified => "renotified",
            Change::Resolved => "resolved",
        }
    }
}

/// Moves one alert on by one evaluation. Returns the new phase and what to announce, if anything.
pub fn step(phase: &Phase, verdict: &Verdict, rule: &Rule, timing: &Timing, now: DateTime<Utc>) -> (Phase, Option<Change>) {
    let hold = Duration::from_std(rule.hold_for).unwrap_or(Duration::MAX);
    match (phase, verdict) {
        (Phase::Ok, Verdict::Breached(reading)) if hold.is_zero() => (fired(now, now, rule, reading), Some(Change::Fired)),
        (Phase::Ok, Verdict::Breached(_)) => (Phase::Pending { since: now }, None),
        (Phase::Ok, _) => (Phase::Ok, None),
        (Phase::Pending { since }, Verdict::Breached(reading)) if now - *since >= hold => {
            (fired(*since, now, rule, reading), Some(Change::Fired))
        }
        (Phase::Pending { .. }, Verdict::Breached(_)) => (phase.clone(), None),
        (Phase::Pending { .. }, _) => (Phase::Ok, None),
        (Phase::Firing { .. }, Verdict::Breached(reading)) => still_firing(phase, rule, reading, timing, now),
        (Phase::Firing { quiet_since, .. }, _) => {
            let quiet = quiet_since.unwrap_or(now);
            // With too few samples, wait a whole window as well, so a pause in traffic is not a recovery.
            let wait = match verdict {
                Verdict::TooFewSamples => timing.clear_for.max(Duration::from_std(rule.window).unwrap_or(Duration::MAX)),
                _ => timing.clear_for,
            };
            if now - quiet >= wait {
                (Phase::Ok, Some(Change::Resolved))
            } else {
                (with_quiet(phase, Some(quiet)), None)
            }
        }
    }
}

fn fired(since: DateTime<Utc>, now: DateTime<Utc>, rule: &Rule, reading: &Reading) -> Phase {
    Phase::Firing { since, notified: now, updated: now, shown: rule.kind.show(reading.value), quiet_since: None }
}

fn still_firing(phase: &Phase, rule: &Rule, reading: &Reading, timing: &Timing, now: DateTime<Utc>) -> (Phase, Option<Change>) {
    let Phase::Firing { since, notified, updated, shown, .. } = phase else { return (phase.clone(), None) };
    let figure = rule.kind.show(reading.value);
    if now - *notified >= timing.renotify_every {
        let next = Phase::Firing { since: *since, notified: now, updated: now, shown: figure, quiet_since: None };
        return (next, Some(Change::Renotified));
    }
    if figure != *shown && now - *updated >= timing.update_every {
        let next = Phase::Firing { since: *since, notified: *notified, updated: now, shown: figure, quiet_since: None };
        return (next, Some(Change::Updated));
    }
    (with_quiet(phase, None), None)
}

fn with_quiet(phase: &Phase, quiet: Option<DateTime<Utc>>) -> Phase {
    match phase.clone() {
        Phase::Firing { since, notified, updated, shown, .. } => Phase::Firing { since, notified, updated, shown, quiet_since: quiet },
        other => other,
    }
}
