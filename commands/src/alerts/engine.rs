//! The alert engine: takes samples in, and on each evaluation turns windows into transitions.

use super::rules::{Rule, RuleKind, Verdict};
use super::sample::{Sample, SampleError};
use super::state::{step, Phase, Timing};
use super::transition::{TenantImpact, Transition};
use super::window::{WindowStats, Windows};
use crate::clock::Clock;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The rules and the timing of alerts, from config (defaults: the runbook's).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSettings {
    pub rules: Vec<Rule>,
    pub timing: Timing,
    /// How many tenants an alert names as most affected.
    pub top_tenants: usize,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            rules: RuleKind::ALL.into_iter().map(Rule::runbook).collect(),
            timing: Timing { clear_for: Duration::minutes(5), renotify_every: Duration::minutes(30), update_every: Duration::minutes(1) },
            top_tenants: 3,
        }
    }
}

/// How many alerts are in each phase, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseCounts {
    pub pending: u64,
    pub firing: u64,
}

/// Samples in, transitions out. Cheap to share: ingest takes one shard lock.
pub struct AlertEngine {
    settings: AlertSettings,
    clock: Arc<dyn Clock>,
    windows: Windows,
    retention: Duration,
    phases: Mutex<BTreeMap<(RuleKind, String), Phase>>,
    ingested: AtomicU64,
}

impl AlertEngine {
    pub fn new(settings: AlertSettings, clock: Arc<dyn Clock>) -> AlertEngine {
        let longest = settings.rules.iter().map(|r| r.window.as_secs()).max().unwrap_or(60);
        let retention = i64::try_from(longest).unwrap_or(i64::MAX / 2).min(86_400);
        AlertEngine {
            settings,
            clock,
            windows: Windows::new(retention),
            retention: Duration::seconds(retention),
            phases: Mutex::new(BTreeMap::new()),
            ingested: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    /// Checks and counts one sample; `at` defaults to now.
    pub fn ingest(&self, sample: &Sample) -> Result<(), SampleError> {
        let at = sample.check(self.clock.now(), self.retention)?;
        if !self.windows.record(&sample.function, sample.ok, sample.latency_ms, sample.tenant.as_deref(), at) {
            return Err(SampleError::TooOld(self.retention.num_minutes()));
        }
        self.ingested.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Checks every sample first and counts them only if all are valid: a batch is taken whole
    /// or not at all. On refusal, returns the index of the first bad sample.
    pub fn ingest_all(&self, samples: &[Sample]) -> Result<usize, (usize, SampleError)> {
        let now = self.clock.now();
        for (index, sample) in samples.iter().enumerate() {
            sample.check(now, self.retention).map_err(|e| (index, e))?;
        }
        for sample in samples {
            let at = sample.at.unwrap_or(now);
            if self.windows.record(&sample.function, sample.ok, sample.latency_ms, sample.tenant.as_deref(), at) {
                self.ingested.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(samples.len())
    }

    /// One function's figures over the last 15 minutes (what the longest runbook rule reads).
    pub fn recent(&self, function: &str, now: DateTime<Utc>) -> crate::alerts::WindowStats {
        self.windows.stats(function, now, 15 * 60)
    }

    /// Samples counted since start.
    pub fn ingested(&self) -> u64 {
        self.ingested.load(Ordering::Relaxed)
    }

    /// Judges every (rule, function) at `now` and returns what changed, in (rule, function) order.
    pub fn evaluate(&self, now: DateTime<Utc>) -> Vec<Transition> {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        let mut functions = self.windows.functions();
        functions.extend(phases.keys().map(|(_, f)| f.clone()));
        functions.sort();
        functions.dedup();
        let mut out = Vec::new();
        for rule in &self.settings.rules {
            for function in &functions {
                let key = (rule.kind, function.clone());
                let old = phases.get(&key).cloned().unwrap_or(Phase::Ok);
                let window = i64::try_from(rule.window.as_secs()).unwrap_or(i64::MAX);
                let stats = self.windows.stats(function, now, window);
                let verdict = rule.judge(&stats);
                let (new, change) = step(&old, &verdict, rule, &self.settings.timing, now);
                if let Some(change) = change {
                    out.push(self.transition(rule, function, change, &old, &new, verdict, stats, now));
                }
                match new {
                    Phase::Ok => phases.remove(&key),
                    new => phases.insert(key, new),
                };
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn transition(
        &self,
        rule: &Rule,
        function: &str,
        change: super::state::Change,
        old: &Phase,
        new: &Phase,
        verdict: Verdict,
        stats: WindowStats,
        now: DateTime<Utc>,
    ) -> Transition {
        let since = match (new, old) {
            (Phase::Firing { since, .. }, _) | (_, Phase::Firing { since, .. }) => *since,
            _ => now,
        };
        let reading = match verdict {
            Verdict::Breached(r) | Verdict::Within(r) => Some(r),
            Verdict::TooFewSamples => None,
        };
        Transition {
            rule: rule.kind,
            function: function.to_string(),
            change,
            reading,
            since,
            at: now,
            window_minutes: i64::try_from(rule.window.as_secs() / 60).unwrap_or(0),
            top_tenants: top_tenants(stats.tenants, self.settings.top_tenants),
            phase: new.clone(),
        }
    }

    /// Puts back an alert's phase read from the store after a restart, so an alert already
    /// announced is not announced again, and resolves once the windows show it recovered.
    pub fn restore(&self, rule: RuleKind, function: &str, phase: Phase) {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        match phase {
            Phase::Ok => phases.remove(&(rule, function.to_string())),
            phase => phases.insert((rule, function.to_string()), phase),
        };
    }

    /// The phase of one alert (ok when none is recorded).
    pub fn phase(&self, rule: RuleKind, function: &str) -> Phase {
        let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        phases.get(&(rule, function.to_string())).cloned().unwrap_or(Phase::Ok)
    }

    /// How many alerts are pending and firing.
    pub fn counts(&self) -> PhaseCounts {
        let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        let mut counts = PhaseCounts::default();
        for phase in phases.values() {
            match phase {
                Phase::Pending { .. } => counts.pending += 1,
                Phase::Firing { .. } => counts.firing += 1,
                Phase::Ok => {}
            }
        }
        counts
    }
}

fn top_tenants(mut tenants: Vec<(String, u64, u64)>, keep: usize) -> Vec<TenantImpact> {
    tenants.retain(|(_, failures, _)| *failures > 0);
    tenants.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    tenants.into_iter().take(keep).map(|(tenant, failures, samples)| TenantImpact { tenant, failures, samples }).collect()
}
