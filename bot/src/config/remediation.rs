//! The approval gate's settings: how many approvers, whether the requester counts, how long a
//! plan waits, the drift guard, who is pinged, the purge's batch size, and where migration
//! rollbacks come from and how far their verification lets counts drop. A gate one person can
//! pass alone is refused unless asked for by name.

use super::Reader;
use bellhop_commands::post::Ping;
use bellhop_commands::remediation::RemediationSettings;
use std::time::Duration;

impl Reader {
    pub(super) fn remediation_settings(&mut self, approver_roles: &[u64]) -> RemediationSettings {
        let defaults = RemediationSettings::default();
        // The approval post pings the approvers: by default the first Discord approver role.
        let approver_ping = match (self.text("BELLHOP_PAGE_APPROVERS"), approver_roles.first()) {
            (Some(_), _) => self.page("BELLHOP_PAGE_APPROVERS", "approvers"),
            (None, Some(id)) => Ping::Role { id: id.to_string(), name: "approvers".into() },
            (None, None) => defaults.approver_ping.clone(),
        };
        let settings = RemediationSettings {
            approvals_required: self.whole("BELLHOP_APPROVALS_REQUIRED", 1, 5, defaults.approvals_required as i64) as usize,
            requester_may_approve: self.flag("BELLHOP_REQUESTER_MAY_APPROVE", defaults.requester_may_approve),
            expiry: self.span("BELLHOP_PLAN_EXPIRY", Duration::from_secs(60), Duration::from_secs(24 * 3600), defaults.expiry),
            drift_percent: self.whole("BELLHOP_DRIFT_PERCENT", 0, 1000, defaults.drift_percent),
            drift_rows: self.whole("BELLHOP_DRIFT_ROWS", 0, 1_000_000_000, defaults.drift_rows),
            approver_ping,
            purge_batch: self.whole("BELLHOP_PURGE_BATCH", 100, 100_000, defaults.purge_batch),
            rollbacks_dir: self.directory("BELLHOP_ROLLBACKS_DIR"),
            rollback_tolerance_percent: self.whole("BELLHOP_ROLLBACK_TOLERANCE", 0, 100, defaults.rollback_tolerance_percent),
        };
        let allowed = self.flag("BELLHOP_ALLOW_ONE_PERSON_GATE", false);
        if settings.one_person() && !allowed {
            self.problems.push(
                "BELLHOP_APPROVALS_REQUIRED=1 with BELLHOP_REQUESTER_MAY_APPROVE=true (approvals_required, requester_may_approve \
                 in bellhop.toml) lets one person approve their own plan; set BELLHOP_ALLOW_ONE_PERSON_GATE=true \
                 (allow_one_person_gate = true) if that is meant"
                    .into(),
            );
        }
        settings
    }

    pub(super) fn whole(&mut self, env: &'static str, min: i64, max: i64, default: i64) -> i64 {
        let Some(text) = self.text(env) else { return default };
        match text.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                self.problem(env, &format!("must be a whole number from {min} to {max}"));
                default
            }
        }
    }

    fn flag(&mut self, env: &'static str, default: bool) -> bool {
        match self.text(env).map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "yes" | "1") => true,
            Some("false" | "no" | "0") => false,
            Some(_) => {
                self.problem(env, "must be true or false");
                default
            }
        }
    }

    fn span(&mut self, env: &'static str, min: Duration, max: Duration, default: Duration) -> Duration {
        let Some(text) = self.text(env) else { return default };
        match humantime::parse_duration(text.trim()) {
            Ok(d) if d >= min && d <= max => d,
            _ => {
                let (min, max) = (humantime::format_duration(min), humantime::format_duration(max));
                self.problem(env, &format!("must be a duration from {min} to {max}, like 15m"));
                default
            }
        }
    }
}
