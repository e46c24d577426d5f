//! What an alert knows at one evaluation: every rule's figure for the function, the error rate and
//! sample count, the most affected tenants; the worst figures since it fired; and, for alerts from
//! webhooks, the group's alerts. Stored with the alert, read back by incidents declared from it.

use super::rules::{Reading, RuleKind};
use super::webhook::GroupFigures;
use crate::text::span;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One tenant's share of a function's samples in the error-rate window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantImpact {
    pub tenant: String,
    pub failures: u64,
    pub samples: u64,
}

/// One rule's figure for a function.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleFigure {
    pub rule: RuleKind,
    pub threshold: f64,
    pub window_minutes: i64,
    /// None: too few samples in the window to judge.
    pub reading: Option<Reading>,
    /// Whether the rule is breached (firing, past its hold time).
    pub firing: bool,
}

impl RuleFigure {
    /// Whether the reading is past the threshold now (a firing rule may be back within it while
    /// it clears).
    pub fn is_over(&self) -> bool {
        self.reading
            .as_ref()
            .is_some_and(|r| if self.rule == RuleKind::SuccessRate { r.value < r.threshold } else { r.value > r.threshold })
    }

    /// "Error rate 20% (threshold 5%, 5 min)".
    pub fn line(&self) -> String {
        let value = self.reading.as_ref().map_or_else(|| "too few samples".to_string(), |r| self.rule.show(r.value));
        format!("{} {value} (threshold {}, {} min)", self.rule.label(), self.rule.show(self.threshold), self.window_minutes)
    }
}

/// A function's figures at one evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FunctionFigures {
    pub function: String,
    /// When they were read.
    pub at: DateTime<Utc>,
    /// When the first of its breaches began.
    pub since: DateTime<Utc>,
    /// Every configured rule, breached or not.
    pub rules: Vec<RuleFigure>,
    /// The error rate and sample count over `window_minutes` (the error-rate rule's window): an
    /// alert always says them, whichever rule fired.
    pub samples: u64,
    pub failures: u64,
    pub window_minutes: i64,
    pub top_tenants: Vec<TenantImpact>,
}

impl FunctionFigures {
    /// Failed calls as a percentage, when there were any calls.
    pub fn error_rate(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.failures as f64 * 100.0 / self.samples as f64)
    }

    /// The rules breached now.
    pub fn breached(&self) -> impl Iterator<Item = &RuleFigure> {
        self.rules.iter().filter(|r| r.firing)
    }

    /// "error rate 20% (16 of 80 calls failed in the last 5 min)".
    pub fn headline(&self) -> String {
        match self.error_rate() {
            Some(rate) => format!(
                "error rate {} ({} of {} calls failed in the last {} min)",
                RuleKind::ErrorRate.show(rate),
                self.failures,
                self.samples,
                self.window_minutes
            ),
            None => format!("no calls in the last {} min", self.window_minutes),
        }
    }

    /// One sentence of impact: what failed, and who was hit most.
    pub fn impact(&self) -> String {
        let mut text = match self.samples {
            0 => format!("No calls of {} in the last {} min", self.function, self.window_minutes),
            n => format!("{} of {n} calls of {} failed in the last {} min", self.failures, self.function, self.window_minutes),
        };
        if !self.top_tenants.is_empty() {
            let names: Vec<String> = self.top_tenants.iter().map(|t| format!("{} ({}/{})", t.tenant, t.failures, t.samples)).collect();
            text.push_str(&format!("; most affected: {}", names.join(", ")));
        }
        text
    }

    /// What the post shows of the figures, to tell whether it needs an edit.
    pub fn shown(&self) -> String {
        let mut lines = vec![self.headline()];
        lines.extend(self.rules.iter().map(|r| format!("{}{}", if r.firing { "!" } else { "" }, r.line())));
        lines.push(self.impact());
        lines.join("\n")
    }
}

/// The worst of each figure since an alert fired (or since an incident was declared from it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Per rule, the worst reading: the highest, or the lowest success rate.
    pub rules: BTreeMap<RuleKind, f64>,
    pub error_rate: Option<f64>,
    /// The most calls that failed in one error-rate window.
    pub failures: u64,
}

impl Peak {
    /// Takes in one evaluation's figures.
    pub fn take(&mut self, figures: &FunctionFigures) {
        for figure in &figures.rules {
            let Some(reading) = &figure.reading else { continue };
            let worse = |old: f64| if figure.rule == RuleKind::SuccessRate { old.min(reading.value) } else { old.max(reading.value) };
            self.rules.entry(figure.rule).and_modify(|v| *v = worse(*v)).or_insert(reading.value);
        }
        if let Some(rate) = figures.error_rate() {
            self.error_rate = Some(self.error_rate.map_or(rate, |r| r.max(rate)));
        }
        self.failures = self.failures.max(figures.failures);
    }

    /// "error rate 34%, failures 40/min, average latency 1.2 s, success rate 66%".
    pub fn line(&self) -> String {
        let mut parts: Vec<String> = self.error_rate.iter().map(|r| format!("error rate {}", RuleKind::ErrorRate.show(*r))).collect();
        parts.extend(
            self.rules
                .iter()
                .filter(|(rule, _)| **rule != RuleKind::ErrorRate)
                .map(|(rule, value)| format!("{} {}", rule.label().to_lowercase(), rule.show(*value))),
        );
        if parts.is_empty() {
            "no figures".into()
        } else {
            parts.join(", ")
        }
    }
}

/// What any alert knows, bellhop's own or a webhook group's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AlertFigures {
    Function(FunctionFigures),
    Webhook(GroupFigures),
}

impl AlertFigures {
    /// What an incident declared from it is called: "invite-user failing".
    pub fn title(&self) -> String {
        match self {
            AlertFigures::Function(f) => format!("{} failing", f.function),
            AlertFigures::Webhook(g) => g.name(),
        }
    }

    pub fn impact(&self) -> String {
        match self {
            AlertFigures::Function(f) => f.impact(),
            AlertFigures::Webhook(g) => g.impact(),
        }
    }

    /// When it began.
    pub fn since(&self) -> DateTime<Utc> {
        match self {
            AlertFigures::Function(f) => f.since,
            AlertFigures::Webhook(g) => g.since(),
        }
    }

    /// One line for an incident's timeline: what, how much, since when.
    pub fn line(&self, id: i64, now: DateTime<Utc>) -> String {
        match self {
            AlertFigures::Function(f) => {
                let breached: Vec<String> = f.breached().map(RuleFigure::line).collect();
                let breached = if breached.is_empty() { "no rule breached".into() } else { breached.join("; ") };
                format!("alert {id}: {} {}; {breached}; for {}. {}.", f.function, f.headline(), span(now - f.since), f.impact())
            }
            AlertFigures::Webhook(g) => format!("alert {id}: {}; for {}. {}.", g.name(), span(now - g.since()), g.impact()),
        }
    }

    /// The variables of the runbook's P1 alert template these figures fill.
    pub fn p1_vars(&self, peak: Option<&Peak>, now: DateTime<Utc>) -> BTreeMap<&'static str, String> {
        let mut vars = BTreeMap::from([("duration", span(now - self.since())), ("impact", self.impact())]);
        match self {
            AlertFigures::Function(f) => {
                let at = f.error_rate().map_or_else(|| "no calls".to_string(), |r| RuleKind::ErrorRate.show(r));
                let rate = match peak.and_then(|p| p.error_rate) {
                    Some(worst) => format!("{at} when declared, peak {}", RuleKind::ErrorRate.show(worst)),
                    None => at,
                };
                let threshold = f.rules.iter().find(|r| r.rule == RuleKind::ErrorRate).map_or(5.0, |r| r.threshold);
                vars.insert("function", f.function.clone());
                vars.insert("error_rate", rate);
                vars.insert("threshold", RuleKind::ErrorRate.show(threshold));
            }
            AlertFigures::Webhook(g) => {
                // The sender judged it: bellhop has no error rate of its own to show, and says
                // so rather than leave the template's blank in a message sent onwards.
                vars.insert("function", g.name());
                let firing = g.firing().count();
                vars.insert("error_rate", format!("not measured by bellhop ({} alert, {firing} firing)", g.source.label()));
                vars.insert("threshold", format!("{}'s rule", g.source.label()));
            }
        }
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn figures() -> FunctionFigures {
        let at: DateTime<Utc> = "2026-11-26T12:10:00Z".parse().unwrap();
        let rule = |rule: RuleKind, threshold: f64, value: f64, firing: bool| RuleFigure {
            rule,
            threshold,
            window_minutes: 5,
            reading: Some(Reading { value, threshold, samples: 80, failures: 16 }),
            firing,
        };
        FunctionFigures {
            function: "invite-user".into(),
            at,
            since: at - Duration::minutes(10),
            rules: vec![rule(RuleKind::ErrorRate, 5.0, 20.0, true), rule(RuleKind::Latency, 10_000.0, 180.0, false)],
            samples: 80,
            failures: 16,
            window_minutes: 5,
            top_tenants: vec![TenantImpact { tenant: "hotel-7".into(), failures: 9, samples: 20 }],
        }
    }

    #[test]
    fn an_alert_always_says_its_error_rate_and_sample_count() {
        let f = figures();
        assert_eq!(f.headline(), "error rate 20% (16 of 80 calls failed in the last 5 min)");
        assert_eq!(f.breached().map(RuleFigure::line).collect::<Vec<_>>(), ["Error Rate 20% (threshold 5%, 5 min)"]);
        assert_eq!(f.impact(), "16 of 80 calls of invite-user failed in the last 5 min; most affected: hotel-7 (9/20)");
    }

    #[test]
    fn the_peak_keeps_the_worst_of_each_figure() {
        let mut peak = Peak::default();
        let mut f = figures();
        peak.take(&f);
        f.rules[0].reading.as_mut().unwrap().value = 12.0;
        f.failures = 10;
        peak.take(&f);
        assert_eq!(peak.error_rate, Some(20.0));
        assert_eq!(peak.line(), "error rate 20%, average latency 0.2 s");
        let vars = AlertFigures::Function(f).p1_vars(Some(&peak), "2026-11-26T12:20:00Z".parse().unwrap());
        assert_eq!(vars["error_rate"], "12.5% when declared, peak 20%");
        assert_eq!(vars["duration"], "20 min");
    }
}
