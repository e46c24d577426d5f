//! What an evaluation announces: a change of one alert with the figures the runbook's P1 alert
//! template needs (function, figure against threshold, duration, impact, most affected tenants).

use super::rules::{Reading, RuleKind};
use super::state::{Change, Phase};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One tenant's share of a function's samples in the rule's window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantImpact {
    pub tenant: String,
    pub failures: u64,
    pub samples: u64,
}

/// A change of one (rule, function) alert, to claim in the store and then post.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub rule: RuleKind,
    pub function: String,
    pub change: Change,
    /// The figures over the rule's window; none when an alert resolved for lack of samples.
    pub reading: Option<Reading>,
    /// When the breach began.
    pub since: DateTime<Utc>,
    /// When the evaluation ran.
    pub at: DateTime<Utc>,
    /// The rule's window in minutes, for "in the last 5 min".
    pub window_minutes: i64,
    pub top_tenants: Vec<TenantImpact>,
    /// The alert's phase after this change, to persist.
    pub phase: Phase,
}

impl Transition {
    /// How long the breach has lasted (until it resolved, for a resolve).
    pub fn duration(&self) -> Duration {
        self.at - self.since
    }

    /// "15%" and "5%", or "12.3 s" and "10 s": the figure and its threshold.
    pub fn figure(&self) -> Option<(String, String)> {
        let reading = self.reading.as_ref()?;
        Some((self.rule.show(reading.value), self.rule.show(reading.threshold)))
    }

    /// One sentence of impact: what failed, and who was hit most.
    pub fn impact(&self) -> String {
        let Some(reading) = &self.reading else {
            return format!("No samples of {} in the last {} min", self.function, self.window_minutes);
        };
        let mut text = match self.rule {
            RuleKind::Latency => format!("{} calls averaged {}", reading.samples, self.rule.show(reading.value)),
            _ => format!("{} of {} calls failed", reading.failures, reading.samples),
        };
        text.push_str(&format!(" in the last {} min", self.window_minutes));
        if !self.top_tenants.is_empty() {
            let names: Vec<String> = self.top_tenants.iter().map(|t| format!("{} ({}/{})", t.tenant, t.failures, t.samples)).collect();
            text.push_str(&format!("; most affected: {}", names.join(", ")));
        }
        text
    }

    /// The variables of the runbook's P1 alert template (`p1-alert`), live figures filled in and
    /// the parts only a person can write left as the template's `[blanks]` (the template's defaults).
    pub fn p1_vars(&self) -> BTreeMap<&'static str, String> {
        let (figure, threshold) = self.figure().unwrap_or_else(|| ("no samples".into(), self.rule.show(0.0)));
        let figure = match self.rule {
            RuleKind::ErrorRate => figure,
            other => format!("{} {figure}", other.label()),
        };
        BTreeMap::from([
            ("subject", subject(self.rule).to_string()),
            ("function", self.function.clone()),
            ("error_rate", figure),
            ("threshold", threshold),
            ("duration", minutes(self.duration())),
            ("impact", self.impact()),
        ])
    }
}

fn subject(rule: RuleKind) -> &'static str {
    match rule {
        RuleKind::ErrorRate => "Edge Function Failure Rate Spike",
        RuleKind::Latency => "Edge Function Latency Spike",
        RuleKind::Failures => "Edge Function Execution Failures",
        RuleKind::SuccessRate => "Edge Function Success Rate Drop",
    }
}

/// "10 minutes", "1 minute", "under a minute", "2 h 5 min".
pub fn minutes(duration: Duration) -> String {
    match duration.num_minutes() {
        m if m < 1 => "under a minute".into(),
        1 => "1 minute".into(),
        m if m < 120 => format!("{m} minutes"),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_p1_template_gets_the_live_figures() {
        let at: DateTime<Utc> = "2026-11-26T12:10:00Z".parse().unwrap();
        let transition = Transition {
            rule: RuleKind::ErrorRate,
            function: "invite-user".into(),
            change: Change::Fired,
            reading: Some(Reading { value: 15.0, threshold: 5.0, samples: 80, failures: 12 }),
            since: at - Duration::minutes(10),
            at,
            window_minutes: 5,
            top_tenants: vec![TenantImpact { tenant: "hotel-7".into(), failures: 9, samples: 20 }],
            phase: Phase::Ok,
        };
        let vars = transition.p1_vars();
        assert_eq!(vars["error_rate"], "15%");
        assert_eq!(vars["threshold"], "5%");
        assert_eq!(vars["duration"], "10 minutes");
        assert_eq!(vars["impact"], "12 of 80 calls failed in the last 5 min; most affected: hotel-7 (9/20)");
        assert_eq!(minutes(Duration::minutes(125)), "2 h 5 min");
    }
}
