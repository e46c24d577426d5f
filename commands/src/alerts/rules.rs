//! The runbook's four alert thresholds as configurable rules, and how each judges a window.

use super::window::WindowStats;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Which of the runbook's thresholds a rule checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// Failed samples as a percentage of all samples, alerting above the threshold.
    ErrorRate,
    /// Average latency in milliseconds, alerting above the threshold.
    Latency,
    /// Failures per minute, alerting above the threshold.
    Failures,
    /// Successful samples as a percentage, alerting below the threshold.
    SuccessRate,
}

impl RuleKind {
    pub const ALL: [RuleKind; 4] = [RuleKind::ErrorRate, RuleKind::Latency, RuleKind::Failures, RuleKind::SuccessRate];

    /// The rule's name in config (`[alerts.error_rate]`) and in the store.
    pub fn key(self) -> &'static str {
        match self {
            RuleKind::ErrorRate => "error_rate",
            RuleKind::Latency => "latency",
            RuleKind::Failures => "failures",
            RuleKind::SuccessRate => "success_rate",
        }
    }

    pub fn from_key(key: &str) -> Option<RuleKind> {
        RuleKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// What the rule measures, for posts: "Error Rate".
    pub fn label(self) -> &'static str {
        match self {
            RuleKind::ErrorRate => "Error Rate",
            RuleKind::Latency => "Average Latency",
            RuleKind::Failures => "Failures",
            RuleKind::SuccessRate => "Success Rate",
        }
    }

    /// A value of this rule with its unit: "15%", "12.3 s", "14/min".
    pub fn show(self, value: f64) -> String {
        match self {
            RuleKind::ErrorRate | RuleKind::SuccessRate => format!("{}%", round1(value)),
            RuleKind::Latency => format!("{} s", round1(value / 1000.0)),
            RuleKind::Failures => format!("{}/min", round1(value)),
        }
    }

    fn fires_above(self) -> bool {
        !matches!(self, RuleKind::SuccessRate)
    }
}

fn round1(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// One rule: a threshold over a window, held for `hold_for` before firing, judged only with at
/// least `min_samples` samples in the window.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub kind: RuleKind,
    /// In the rule's unit: percent, milliseconds or failures per minute.
    pub threshold: f64,
    pub window: Duration,
    pub hold_for: Duration,
    pub min_samples: u64,
}

impl Rule {
    /// The runbook's threshold for `kind`, with bellhop's defaults for hold time and sample count.
    pub fn runbook(kind: RuleKind) -> Rule {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        let (threshold, window, hold_for, min_samples) = match kind {
            RuleKind::ErrorRate => (5.0, minutes(5), minutes(1), 20),
            RuleKind::Latency => (10_000.0, minutes(5), minutes(1), 10),
            RuleKind::Failures => (10.0, minutes(1), Duration::ZERO, 11),
            RuleKind::SuccessRate => (95.0, minutes(15), minutes(1), 40),
        };
        Rule { kind, threshold, window, hold_for, min_samples }
    }

    /// Judges the samples of one function over this rule's window.
    pub fn judge(&self, stats: &WindowStats) -> Verdict {
        if stats.total < self.min_samples.max(1) {
            return Verdict::TooFewSamples;
        }
        let value = self.value(stats);
        let breached = if self.kind.fires_above() { value > self.threshold } else { value < self.threshold };
        let reading = Reading { value, threshold: self.threshold, samples: stats.total, failures: stats.failures };
        if breached {
            Verdict::Breached(reading)
        } else {
            Verdict::Within(reading)
        }
    }

    fn value(&self, stats: &WindowStats) -> f64 {
        // total > 0 here; integer products are exact in f64 up to 2^53, far beyond any window.
        let total = stats.total as f64;
        match self.kind {
            RuleKind::ErrorRate => stats.failures as f64 * 100.0 / total,
            RuleKind::SuccessRate => (stats.total - stats.failures) as f64 * 100.0 / total,
            RuleKind::Latency => stats.latency_sum_ms as f64 / total,
            RuleKind::Failures => stats.failures as f64 * 60.0 / self.window.as_secs_f64().max(1.0),
        }
    }
}

/// What a rule makes of a window.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    TooFewSamples,
    Within(Reading),
    Breached(Reading),
}

/// A rule's figure over its window, beside its threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub value: f64,
    pub threshold: f64,
    pub samples: u64,
    pub failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(total: u64, failures: u64, latency_sum_ms: u64) -> WindowStats {
        WindowStats { total, failures, latency_sum_ms, tenants: Vec::new() }
    }

    fn breached(rule: &Rule, s: WindowStats) -> Option<bool> {
        match rule.judge(&s) {
            Verdict::TooFewSamples => None,
            Verdict::Within(_) => Some(false),
            Verdict::Breached(_) => Some(true),
        }
    }

    #[test]
    fn error_rate_fires_just_over_five_percent_and_not_at_it() {
        let rule = Rule::runbook(RuleKind::ErrorRate);
        assert_eq!(breached(&rule, stats(100, 5, 0)), Some(false), "5% is not over 5%");
        assert_eq!(breached(&rule, stats(100, 6, 0)), Some(true));
        assert_eq!(breached(&rule, stats(19, 19, 0)), None, "19 samples are too few");
    }

    #[test]
    fn latency_fires_when_the_average_passes_ten_seconds() {
        let rule = Rule::runbook(RuleKind::Latency);
        assert_eq!(breached(&rule, stats(10, 0, 100_000)), Some(false), "an average of exactly 10 s");
        assert_eq!(breached(&rule, stats(10, 0, 100_001)), Some(true));
        assert_eq!(breached(&rule, stats(9, 0, 900_000)), None);
    }

    #[test]
    fn failures_fire_past_ten_a_minute() {
        let rule = Rule::runbook(RuleKind::Failures);
        assert_eq!(breached(&rule, stats(500, 10, 0)), Some(false));
        assert_eq!(breached(&rule, stats(500, 11, 0)), Some(true));
        let five_minutes = Rule { window: Duration::from_secs(300), min_samples: 1, ..rule };
        assert_eq!(breached(&five_minutes, stats(500, 50, 0)), Some(false), "50 in 5 min is 10/min");
        assert_eq!(breached(&five_minutes, stats(500, 51, 0)), Some(true));
    }

    #[test]
    fn success_rate_fires_under_ninety_five_percent() {
        let rule = Rule::runbook(RuleKind::SuccessRate);
        assert_eq!(breached(&rule, stats(100, 5, 0)), Some(false), "95% is not under 95%");
        assert_eq!(breached(&rule, stats(100, 6, 0)), Some(true));
        assert_eq!(breached(&rule, stats(39, 39, 0)), None);
    }

    #[test]
    fn values_show_with_their_units() {
        assert_eq!(RuleKind::ErrorRate.show(15.0), "15%");
        assert_eq!(RuleKind::Latency.show(12_345.0), "12.3 s");
        assert_eq!(RuleKind::Failures.show(14.0), "14/min");
        assert_eq!(RuleKind::from_key("success_rate"), Some(RuleKind::SuccessRate));
    }
}
