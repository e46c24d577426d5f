//! The runbook's clock as configuration: who is paged, how often updates are due, which phase
//! nudges each severity gets, and when nobody acknowledging escalates.

use super::Severity;
use crate::post::Ping;
use std::collections::BTreeMap;
use std::time::Duration;

const MINUTE: u64 = 60;

/// A phase of a severity's procedure, nudged `after` the declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub after: Duration,
    pub name: String,
    pub what: String,
}

/// One step of the escalation chain: paged `after` the previous step (the first, after the page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationStep {
    pub after: Duration,
    pub ping: Ping,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentSettings {
    /// Paged when a P0 or P1 is declared: the runbook's primary on-call.
    pub on_call: Option<Ping>,
    /// The runbook's chain after the primary: system administrator, then infrastructure.
    pub escalation: Vec<EscalationStep>,
    /// How often each severity owes a status update; a severity without one gets no reminder.
    pub update_every: BTreeMap<Severity, Duration>,
    pub phases: BTreeMap<Severity, Vec<Phase>>,
    /// The runbook's post-incident review, after the resolution.
    pub review_after: Duration,
    /// The notice before a scheduled maintenance window.
    pub maintenance_notice: Duration,
    /// A timer sent later than this after its due time says so.
    pub late_after: Duration,
    /// The security team, paged when a security incident is declared (`DISCORD_SECURITY_ROLE`,
    /// `SLACK_PAGE_SECURITY`). None: not configured, and the kickoff says nobody was paged.
    pub security: Option<Ping>,
    /// The runbook's *Data Breach Response*: a security incident's phases, the first at once.
    pub security_phases: Vec<Phase>,
}

fn role(name: &str) -> Ping {
    Ping::role(name)
}

fn phase(minutes: u64, name: &str, what: &str) -> Phase {
    Phase { after: Duration::from_secs(minutes * MINUTE), name: name.into(), what: what.into() }
}

impl Default for IncidentSettings {
    fn default() -> Self {
        let phases = BTreeMap::from([
            (
                Severity::P0,
                vec![
                    phase(
                        5,
                        "Investigation (5–15 min)",
                        "Supabase dashboard alerts; edge function logs of the last 30 min; database connection pools; RLS policies unchanged?",
                    ),
                    phase(
                        15,
                        "Mitigation (15–30 min)",
                        "Run the right rollback procedure; enable the maintenance page if needed; notify users on the status page (/incident status-post).",
                    ),
                    phase(
                        30,
                        "the mitigation window has closed",
                        "Not mitigated yet? Roll back, or escalate (/incident escalate for P1).",
                    ),
                ],
            ),
            (Severity::P1, vec![phase(15, "Common fixes", "Reset stuck auth states or clear problematic sessions if diagnosis points there.")]),
            (Severity::P2, vec![phase(30, "Common issues", "Role lookups, plan ids, token expiry, foreign keys: the runbook's usual suspects.")]),
            (Severity::P3, vec![]),
        ]);
        IncidentSettings {
            on_call: Some(role("on-call")),
            escalation: vec![
                EscalationStep { after: Duration::from_secs(5 * MINUTE), ping: role("sysadmin") },
                EscalationStep { after: Duration::from_secs(15 * MINUTE), ping: role("infrastructure") },
            ],
            update_every: BTreeMap::from([
                (Severity::P0, Duration::from_secs(15 * MINUTE)),
                (Severity::P1, Duration::from_secs(30 * MINUTE)),
                (Severity::P2, Duration::from_secs(60 * MINUTE)),
            ]),
            phases,
            review_after: Duration::from_secs(24 * 60 * MINUTE),
            maintenance_notice: Duration::from_secs(24 * 60 * MINUTE),
            late_after: Duration::from_secs(MINUTE),
            security: None,
            security_phases: vec![
                phase(
                    0,
                    "Immediate actions (0–1 h)",
                    "• Isolate affected systems\n• Preserve evidence and logs (/incident evidence)\n• Assess the scope of the breach\n• Notify the security team (the kickoff says whether bellhop paged it)",
                ),
                phase(
                    60,
                    "Investigation (1–24 h)",
                    "• Analyze audit logs (/audit recent)\n• Identify attack vectors\n• Determine the data accessed\n• Document the timeline (/incident update)",
                ),
                phase(
                    24 * 60,
                    "Recovery (24–72 h)",
                    "• Patch vulnerabilities\n• Reset compromised credentials\n• Update security policies\n• Monitor for persistent threats",
                ),
                phase(72 * 60, "the recovery window has closed", "72 h since the breach was declared: resolve it, or say on the timeline why not."),
            ],
        }
    }
}
