//! A function's figures before and after a deploy: the counts of each of the 15 minutes before
//! it, kept with the deploy (the alert windows hold only 15 minutes), and the verdict of
//! `/deploy validate` — better, same or worse — against the runbook's thresholds.

use crate::alerts::{AlertEngine, Counts, Rule, RuleKind};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Minutes kept before a deploy: what the longest runbook rule reads.
pub const MINUTES: usize = 15;
/// The runbook's thresholds: error rate over 5 %, average latency over 10 s.
pub const ERROR_RATE_LIMIT: f64 = 5.0;
pub const LATENCY_LIMIT_MS: f64 = 10_000.0;

/// Fewer samples than this say nothing yet: the error-rate rule's `min_samples` as the alerts
/// judge it (configured, else the runbook's).
pub fn min_samples(engine: &AlertEngine) -> u64 {
    let rule = engine.settings().rules.iter().find(|r| r.kind == RuleKind::ErrorRate).cloned();
    rule.unwrap_or_else(|| Rule::runbook(RuleKind::ErrorRate)).min_samples.max(1)
}

/// Per function, its counts in each minute before a moment, newest minute first.
pub type Before = BTreeMap<String, Vec<Counts>>;

/// Each of `functions`' counts in the `MINUTES` minutes before `at`.
pub fn snapshot(engine: &AlertEngine, functions: &[String], at: DateTime<Utc>) -> Before {
    functions
        .iter()
        .map(|function| {
            let minutes = (0..MINUTES as i64)
                .map(|k| {
                    let stats = engine.stats(function, at - Duration::minutes(k), 60);
                    Counts { total: stats.total, failures: stats.failures, latency_sum_ms: stats.latency_sum_ms }
                })
                .collect();
            (function.clone(), minutes)
        })
        .collect()
}

/// Samples, failures and total latency over some minutes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub samples: u64,
    pub failures: u64,
    pub latency_sum_ms: u64,
}

impl Figures {
    /// The newest `minutes` of a snapshot.
    pub fn of_minutes(counts: &[Counts], minutes: usize) -> Figures {
        counts.iter().take(minutes).fold(Figures::default(), |sum, c| Figures {
            samples: sum.samples + c.total,
            failures: sum.failures + c.failures,
            latency_sum_ms: sum.latency_sum_ms.saturating_add(c.latency_sum_ms),
        })
    }

    pub fn now(engine: &AlertEngine, function: &str, at: DateTime<Utc>, minutes: usize) -> Figures {
        let stats = engine.stats(function, at, minutes as i64 * 60);
        Figures { samples: stats.total, failures: stats.failures, latency_sum_ms: stats.latency_sum_ms }
    }

    pub fn error_rate(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.failures as f64 * 100.0 / self.samples as f64)
    }

    pub fn latency_ms(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.latency_sum_ms as f64 / self.samples as f64)
    }

    /// Over a runbook threshold: error rate over 5 % or average latency over 10 s.
    pub fn breaches(&self) -> bool {
        self.error_rate().is_some_and(|r| r > ERROR_RATE_LIMIT) || self.latency_ms().is_some_and(|l| l > LATENCY_LIMIT_MS)
    }

    /// "error rate 2% of 120, 180 ms".
    pub fn line(&self) -> String {
        match (self.error_rate(), self.latency_ms()) {
            (Some(rate), Some(latency)) => format!("error rate {} of {}, {}", percent(rate), self.samples, millis(latency)),
            _ => "no samples".into(),
        }
    }
}

/// How a function fares after a deploy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Better,
    Same,
    Worse,
    /// Not enough to compare: no samples before or after.
    Unknown,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Same => "same",
            Verdict::Worse => "worse",
            Verdict::Unknown => "cannot tell",
        }
    }
}

/// Worse when the error rate rose by a point or more, or the latency by a fifth and 100 ms or
/// more; better the other way round; the same otherwise.
pub fn compare(before: &Figures, after: &Figures) -> Verdict {
    let (Some(rate_before), Some(rate_after), Some(latency_before), Some(latency_after)) =
        (before.error_rate(), after.error_rate(), before.latency_ms(), after.latency_ms())
    else {
        return Verdict::Unknown;
    };
    let moved = |from: f64, to: f64| (to - from).abs() >= 100.0 && (to - from).abs() >= from * 0.2;
    let rate = rate_after - rate_before;
    let worse = rate >= 1.0 || (latency_after > latency_before && moved(latency_before, latency_after));
    let better = rate <= -1.0 || (latency_after < latency_before && moved(latency_before, latency_after));
    match (worse, better) {
        (true, _) => Verdict::Worse,
        (false, true) => Verdict::Better,
        _ => Verdict::Same,
    }
}

pub fn percent(value: f64) -> String {
    let text = format!("{value:.1}");
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

pub fn millis(value: f64) -> String {
    if value >= 1000.0 {
        format!("{:.1} s", value / 1000.0)
    } else {
        format!("{} ms", value.round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(samples: u64, failures: u64, latency: u64) -> Figures {
        Figures { samples, failures, latency_sum_ms: latency * samples }
    }

    #[test]
    fn a_rise_of_a_point_of_errors_or_a_fifth_of_latency_is_worse() {
        assert_eq!(compare(&figures(100, 1, 200), &figures(100, 10, 200)), Verdict::Worse);
        assert_eq!(compare(&figures(100, 1, 200), &figures(100, 1, 400)), Verdict::Worse);
        assert_eq!(compare(&figures(100, 10, 200), &figures(100, 1, 200)), Verdict::Better);
        assert_eq!(compare(&figures(100, 1, 200), &figures(100, 1, 250)), Verdict::Same, "50 ms is noise");
        assert_eq!(compare(&figures(0, 0, 0), &figures(100, 1, 250)), Verdict::Unknown);
        assert_eq!(figures(120, 3, 180).line(), "error rate 2.5% of 120, 180 ms");
        assert!(figures(100, 6, 10).breaches() && figures(10, 0, 12_000).breaches() && !figures(100, 5, 10).breaches());
    }
}
