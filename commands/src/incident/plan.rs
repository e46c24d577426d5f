//! Which timers an incident owes at a severity: planned at declaration, re-planned when the
//! severity changes.

use super::{IncidentKind, IncidentSettings, Severity};
use crate::timers::Job;
use chrono::{DateTime, Utc};

/// The kinds a severity change cancels and plans again.
pub const REPLANNED: [&str; 3] = ["phase", "update_reminder", "escalate"];

/// Timers for an incident declared at `declared`, planned at `now`: phases still ahead, the next
/// update reminder, and (for a P0/P1 nobody acknowledged) the escalation chain from now.
/// A security incident's phases are the data breach response's; its first is due at once.
pub fn plan(
    settings: &IncidentSettings,
    (severity, kind): (Severity, IncidentKind),
    declared: DateTime<Utc>,
    now: DateTime<Utc>,
    acked: bool,
) -> Vec<(Job, DateTime<Utc>)> {
    let mut timers = Vec::new();
    let phases = match kind {
        IncidentKind::Service => settings.phases.get(&severity).map(Vec::as_slice).unwrap_or_default(),
        IncidentKind::Security => settings.security_phases.as_slice(),
    };
    let first_due_now = kind == IncidentKind::Security && declared == now;
    for phase in phases {
        let due = declared + chrono::Duration::from_std(phase.after).unwrap_or_default();
        if due > now || (first_due_now && due == now) {
            timers.push((Job::Phase { name: phase.name.clone(), what: phase.what.clone() }, due));
        }
    }
    if let Some(every) = settings.update_every.get(&severity) {
        timers.push((Job::UpdateReminder, now + chrono::Duration::from_std(*every).unwrap_or_default()));
    }
    if severity.pages() && !acked {
        timers.extend(escalations(settings, now));
    }
    timers
}

pub fn escalations(settings: &IncidentSettings, from: DateTime<Utc>) -> Vec<(Job, DateTime<Utc>)> {
    let mut due = from;
    settings
        .escalation
        .iter()
        .enumerate()
        .map(|(step, escalation)| {
            due += chrono::Duration::from_std(escalation.after).unwrap_or_default();
            (Job::Escalate { step }, due)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p0_gets_three_phase_nudges_a_15_minute_reminder_and_two_escalations() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let minutes = |job: &str| -> Vec<i64> {
            plan(&IncidentSettings::default(), (Severity::P0, IncidentKind::Service), t0, t0, false)
                .into_iter()
                .filter(|(j, _)| j.kind() == job)
                .map(|(_, due)| (due - t0).num_minutes())
                .collect()
        };
        assert_eq!(minutes("phase"), [5, 15, 30]);
        assert_eq!(minutes("update_reminder"), [15]);
        assert_eq!(minutes("escalate"), [5, 20]);
    }

    #[test]
    fn replanning_later_skips_phases_already_past_and_acknowledged_incidents_do_not_escalate() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let now = t0 + chrono::Duration::minutes(10);
        let timers = plan(&IncidentSettings::default(), (Severity::P0, IncidentKind::Service), t0, now, true);
        let phases: Vec<i64> = timers.iter().filter(|(j, _)| j.kind() == "phase").map(|(_, d)| (*d - t0).num_minutes()).collect();
        assert_eq!(phases, [15, 30]);
        assert!(timers.iter().all(|(j, _)| j.kind() != "escalate"));
    }

    #[test]
    fn a_security_incident_runs_the_data_breach_phases_instead_of_the_p0_clock() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().to_utc();
        let timers = plan(&IncidentSettings::default(), (Severity::P0, IncidentKind::Security), t0, t0, false);
        let phases: Vec<(i64, String)> = timers
            .iter()
            .filter_map(|(j, due)| match j {
                Job::Phase { name, .. } => Some(((*due - t0).num_hours(), name.clone())),
                _ => None,
            })
            .collect();
        let names: Vec<(i64, &str)> = phases.iter().map(|(h, n)| (*h, n.as_str())).collect();
        assert_eq!(
            names,
            [
                (0, "Immediate actions (0–1 h)"),
                (1, "Investigation (1–24 h)"),
                (24, "Recovery (24–72 h)"),
                (72, "the recovery window has closed")
            ]
        );
        assert_eq!(timers.iter().filter(|(j, _)| j.kind() == "escalate").count(), 2, "a P0 still escalates while nobody acknowledges");
    }
}
