//! The runbook's severities: what each means, its checklist, and its clock.

use crate::error::UserError;
use crate::text::quote;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    P0,
    P1,
    P2,
    P3,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::P0, Severity::P1, Severity::P2, Severity::P3];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P0 => "P0",
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
        }
    }

    /// The runbook's definition.
    pub fn definition(self) -> &'static str {
        match self {
            Severity::P0 => "Critical: system down, data corruption, security breach",
            Severity::P1 => "High: major functionality broken, authentication issues",
            Severity::P2 => "Medium: feature degradation, performance issues",
            Severity::P3 => "Low: minor bugs, cosmetic issues",
        }
    }

    /// P0 and P1 page the on-call role and escalate when nobody acknowledges.
    pub fn pages(self) -> bool {
        self <= Severity::P1
    }

    /// The runbook's procedure for this severity, as a checklist for the kickoff post.
    pub fn checklist(self) -> &'static str {
        match self {
            Severity::P0 => {
                "**Immediate response (0–5 min)**: check the health of the frontend, the database and the edge functions (`/health`).\n\
                 **Investigation (5–15 min)**: Supabase dashboard alerts; edge function logs of the last 30 min; database connection pools; RLS policies unchanged?\n\
                 **Mitigation (15–30 min)**: the right rollback procedure; the maintenance page if needed; notify users on the status page (`/incident status-post`)."
            }
            Severity::P1 => {
                "**Diagnosis**: auth system health (sign-ups in the last hour), the helper functions `debug_auth_context()` and `is_super_admin()`, RLS policies on users, tenants, roles.\n\
                 **Common fixes**: reset stuck auth states; clear problematic sessions (both need two approvers)."
            }
            Severity::P2 => {
                "**Log analysis**: the failing function's recent logs (`supabase functions logs <name> --limit 100`).\n\
                 **Common issues**: role lookups (case-insensitive), plan ids (starter plan exists), token expiry, foreign keys."
            }
            Severity::P3 => "Track it, fix it in the normal flow; no status page post needed.",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UserError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL.into_iter().find(|s| s.as_str().eq_ignore_ascii_case(text.trim())).ok_or_else(|| {
            UserError::new(format!(
                "There is no severity {}; the severities are P0 (critical), P1 (high), P2 (medium), P3 (low).",
                quote(&crate::text::ellipsize(text, 20))
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_lists_the_valid_ones() {
        assert_eq!("p1".parse::<Severity>().unwrap(), Severity::P1);
        let error = "P5".parse::<Severity>().unwrap_err().to_string();
        assert!(error.contains("P0 (critical), P1 (high), P2 (medium), P3 (low)"), "{error}");
    }
}
