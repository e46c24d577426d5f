//! The alert engine: samples in; on each evaluation, every function's rules judged over their
//! windows and what its one post should say, proposed. A proposal changes the engine only once
//! the store has claimed it ([`AlertEngine::commit`]): a claim that failed is proposed again at the
//! next evaluation, and one another replica won is replaced by what the store holds
//! ([`AlertEngine::adopt`]).

use super::figures::{FunctionFigures, Peak, RuleFigure, TenantImpact};
use super::rules::{Rule, RuleKind, Verdict};
use super::sample::{Bounds, Sample, SampleError};
use super::state::{step, Phase, Timing};
use super::webhook::WebhookSettings;
use super::window::{BucketRow, Windows};
use crate::clock::Clock;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The rules and the timing of alerts, from config (defaults: the runbook's).
#[derive(Clone, Debug, PartialEq)]
pub struct AlertSettings {
    pub rules: Vec<Rule>,
    pub timing: Timing,
    /// How many tenants an alert names as most affected.
    pub top_tenants: usize,
    /// Distinct functions tracked at once; samples for new names beyond it are refused.
    pub max_functions: usize,
    pub webhooks: WebhookSettings,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            rules: RuleKind::ALL.into_iter().map(Rule::runbook).collect(),
            timing: Timing { clear_for: Duration::minutes(5), renotify_every: Duration::minutes(30), update_every: Duration::seconds(10) },
            top_tenants: 3,
            max_functions: 200,
            webhooks: WebhookSettings::default(),
        }
    }
}

/// How many functions are pending and firing, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseCounts {
    pub pending: u64,
    pub firing: u64,
}

/// One function's alert state: each rule's phase, and its open alert (the post) if it fires.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The store's version of this state; a claim names it and wins only if it still holds.
    #[serde(skip)]
    pub version: i64,
    #[serde(default)]
    pub phases: BTreeMap<RuleKind, Phase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenAlert>,
}

/// A function's alert while it fires: what its post shows and when it last changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenAlert {
    /// The alert's id (the subject `alert:ID`); 0 until the store gives it one.
    pub id: i64,
    pub since: DateTime<Utc>,
    pub edited: DateTime<Utc>,
    pub reminded: DateTime<Utc>,
    /// The figures the post shows (`FunctionFigures::shown`), to edit only when they change.
    pub shown: String,
    /// The rules the post shows as breached.
    pub firing: BTreeSet<RuleKind>,
    pub peak: Peak,
}

/// What an evaluation would announce for one function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The first rule breached: a new post.
    Fired,
    /// Breaches or figures changed: an edit (at most one per `update_every`).
    Updated,
    /// Still firing after `renotify_every`: a reminder.
    Reminded,
    /// No rule breached any more: the resolve.
    Resolved,
}

impl Change {
    pub fn key(self) -> &'static str {
        match self {
            Change::Fired => "fired",
            Change::Updated => "updated",
            Change::Reminded => "reminded",
            Change::Resolved => "resolved",
        }
    }
}

/// A change to announce once the store has claimed it.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub function: String,
    pub change: Change,
    pub figures: FunctionFigures,
    /// The state once the claim commits (`version` is the one the claim expects to find).
    pub next: Series,
    /// The open alert before this change (none when it fires).
    pub before: Option<OpenAlert>,
    /// Rules that began or stopped breaching since the post last showed them.
    pub started: Vec<RuleKind>,
    pub cleared: Vec<RuleKind>,
}

/// Samples in, proposals out. Cheap to share: ingest takes one shard lock.
pub struct AlertEngine {
    settings: AlertSettings,
    clock: Arc<dyn Clock>,
    windows: Windows,
    retention: Duration,
    series: Mutex<BTreeMap<String, Series>>,
    ingested: AtomicU64,
    refused: AtomicU64,
}

impl AlertEngine {
    pub fn new(settings: AlertSettings, clock: Arc<dyn Clock>) -> AlertEngine {
        let longest = settings.rules.iter().map(|r| r.window.as_secs()).max().unwrap_or(60).max(300);
        let retention = i64::try_from(longest).unwrap_or(i64::MAX / 2).min(86_400);
        AlertEngine {
            windows: Windows::new(retention, settings.max_functions),
            settings,
            clock,
            retention: Duration::seconds(retention),
            series: Mutex::new(BTreeMap::new()),
            ingested: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    pub fn settings(&self) -> &AlertSettings {
        &self.settings
    }

    fn series(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Series>> {
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks and counts one sample; `at` defaults to now.
    pub fn ingest(&self, sample: &Sample<'_>) -> Result<(), SampleError> {
        self.ingest_all(std::slice::from_ref(sample)).map(|_| ()).map_err(|(_, error)| error)
    }

    /// Checks every sample first and counts them only if all are valid: a batch is taken whole
    /// or not at all. On refusal, returns the index of the first bad sample.
    pub fn ingest_all(&self, samples: &[Sample<'_>]) -> Result<usize, (usize, SampleError)> {
        let now = self.clock.now();
        let bounds = Bounds::new(now, self.retention);
        let mut new_names = BTreeSet::new();
        for (index, sample) in samples.iter().enumerate() {
            sample.check(&bounds).map_err(|e| (index, e))?;
            let same_as_before = index > 0 && samples[index - 1].function == sample.function;
            if !same_as_before
                && !self.windows.tracks(&sample.function)
                && new_names.insert(&*sample.function)
                && !self.windows.room_for(new_names.len())
            {
                self.refused.fetch_add(samples.len() as u64, Ordering::Relaxed);
                return Err((index, SampleError::TooManyFunctions(self.settings.max_functions)));
            }
        }
        let taken = self.windows.record_all(samples, now);
        self.ingested.fetch_add(taken, Ordering::Relaxed);
        Ok(samples.len())
    }

    /// One function's figures over the last 15 minutes (what the longest runbook rule reads).
    pub fn recent(&self, function: &str, now: DateTime<Utc>) -> super::WindowStats {
        self.windows.stats(function, now, 15 * 60)
    }

    /// One function's figures over the `window_secs` ending at `at` (whole ten-second buckets).
    pub fn stats(&self, function: &str, at: DateTime<Utc>, window_secs: i64) -> super::WindowStats {
        self.windows.stats(function, at, window_secs)
    }

    /// Every function with samples in the windows, here or at another replica.
    pub fn functions(&self) -> Vec<String> {
        self.windows.functions()
    }

    /// Samples counted since start.
    pub fn ingested(&self) -> u64 {
        self.ingested.load(Ordering::Relaxed)
    }

    /// Samples refused because their function would exceed `max_functions`.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// This replica's buckets changed since the last flush.
    pub fn take_dirty(&self) -> Vec<BucketRow> {
        self.windows.take_dirty()
    }

    /// Buckets whose flush failed, to flush again.
    pub fn mark_dirty(&self, rows: &[BucketRow]) {
        self.windows.mark_dirty(rows)
    }

    /// Other replicas' buckets, read from the store.
    pub fn merge_remote(&self, rows: Vec<(String, BucketRow)>) {
        self.windows.merge_remote(rows)
    }

    /// Forgets series idle for longer than the longest window; returns how many.
    pub fn drop_idle(&self, now: DateTime<Utc>) -> usize {
        self.windows.drop_idle(now)
    }

    /// The oldest bucket slot any window still reads.
    pub fn oldest_slot(&self, now: DateTime<Utc>) -> i64 {
        self.windows.oldest_slot(now)
    }

    /// Judges every function at `now`. Changes that announce nothing (a breach starting its
    /// hold, a peak) are kept at once; the rest are returned, to keep only once claimed.
    pub fn evaluate(&self, now: DateTime<Utc>) -> Vec<Proposal> {
        let mut series = self.series();
        let mut functions = self.windows.functions();
        functions.extend(series.keys().cloned());
        functions.sort();
        functions.dedup();
        let mut proposals = Vec::new();
        for function in functions {
            let old = series.get(&function).cloned().unwrap_or_default();
            match self.judge(&function, &old, now) {
                (next, None) => {
                    if next.phases.is_empty() && next.open.is_none() && next.version == 0 {
                        series.remove(&function);
                    } else {
                        series.insert(function, next);
                    }
                }
                (_, Some(proposal)) => proposals.push(proposal),
            }
        }
        proposals
    }

    fn judge(&self, function: &str, old: &Series, now: DateTime<Utc>) -> (Series, Option<Proposal>) {
        let timing = &self.settings.timing;
        let mut phases = BTreeMap::new();
        let mut rules = Vec::new();
        for rule in &self.settings.rules {
            let stats = self.windows.stats(function, now, i64::try_from(rule.window.as_secs()).unwrap_or(i64::MAX));
            let verdict = rule.judge(&stats);
            let phase = step(old.phases.get(&rule.kind).unwrap_or(&Phase::Ok), &verdict, rule, timing, now);
            let reading = match verdict {
                Verdict::Breached(r) | Verdict::Within(r) => Some(r),
                Verdict::TooFewSamples => None,
            };
            rules.push(RuleFigure {
                rule: rule.kind,
                threshold: rule.threshold,
                window_minutes: i64::try_from(rule.window.as_secs() / 60).unwrap_or(0),
                reading,
                firing: phase.is_firing(),
            });
            if phase != Phase::Ok {
                phases.insert(rule.kind, phase);
            }
        }
        let firing: BTreeSet<RuleKind> = rules.iter().filter(|r| r.firing).map(|r| r.rule).collect();
        let since = phases.values().filter_map(|p| if let Phase::Firing { since, .. } = p { Some(*since) } else { None }).min();
        let figures = self.figures(function, now, rules, old.open.as_ref().map(|o| o.since).or(since).unwrap_or(now));
        let mut next = Series { version: old.version, phases, open: old.open.clone() };
        let change = match (&old.open, firing.is_empty()) {
            (None, true) => None,
            (None, false) => {
                let mut peak = Peak::default();
                peak.take(&figures);
                let shown = figures.shown();
                next.open =
                    Some(OpenAlert { id: 0, since: figures.since, edited: now, reminded: now, shown, firing: firing.clone(), peak });
                Some(Change::Fired)
            }
            (Some(open), false) => {
                let mut open = open.clone();
                open.peak.take(&figures);
                let shown = figures.shown();
                let change = if shown != open.shown && now - open.edited >= timing.update_every {
                    (open.edited, open.shown, open.firing) = (now, shown, firing.clone());
                    Some(Change::Updated)
                } else if now - open.reminded >= timing.renotify_every && !all_clearing(&next.phases) {
                    open.reminded = now;
                    Some(Change::Reminded)
                } else {
                    None
                };
                next.open = Some(open);
                change
            }
            (Some(_), true) => {
                next.open = None;
                Some(Change::Resolved)
            }
        };
        let Some(change) = change else { return (next, None) };
        let shown_before = old.open.as_ref().map(|o| o.firing.clone()).unwrap_or_default();
        let shown_now = next.open.as_ref().map(|o| o.firing.clone()).unwrap_or_default();
        let proposal = Proposal {
            function: function.to_string(),
            change,
            figures,
            before: old.open.clone(),
            started: shown_now.difference(&shown_before).copied().collect(),
            cleared: shown_before.difference(&shown_now).copied().collect(),
            next,
        };
        (old.clone(), Some(proposal))
    }

    fn figures(&self, function: &str, now: DateTime<Utc>, rules: Vec<RuleFigure>, since: DateTime<Utc>) -> FunctionFigures {
        let window = self.settings.rules.iter().find(|r| r.kind == RuleKind::ErrorRate).map_or(300, |r| r.window.as_secs());
        let stats = self.windows.stats(function, now, i64::try_from(window).unwrap_or(300));
        FunctionFigures {
            function: function.to_string(),
            at: now,
            since,
            rules,
            samples: stats.total,
            failures: stats.failures,
            window_minutes: i64::try_from(window / 60).unwrap_or(5),
            top_tenants: top_tenants(stats.tenants, self.settings.top_tenants),
        }
    }

    /// The store claimed `proposal`: it is the function's state now, at the store's new
    /// `version`, and (when it fired) with the alert's id.
    pub fn commit(&self, proposal: &Proposal, version: i64, alert_id: i64) {
        let mut next = proposal.next.clone();
        next.version = version;
        if let Some(open) = &mut next.open {
            open.id = alert_id;
        }
        self.series().insert(proposal.function.clone(), next);
    }

    /// Takes what the store holds for `function` (another replica announced first, or this one
    /// became the evaluator), replacing what this replica believed.
    pub fn adopt(&self, function: &str, series: Series) {
        self.series().insert(function.to_string(), series);
    }

    /// Forgets every function's state (this replica stopped evaluating).
    pub fn forget(&self) {
        self.series().clear();
    }

    /// One function's state (the default when none is kept).
    pub fn state(&self, function: &str) -> Series {
        self.series().get(function).cloned().unwrap_or_default()
    }

    /// How many functions are pending and firing.
    pub fn counts(&self) -> PhaseCounts {
        let mut counts = PhaseCounts::default();
        for series in self.series().values() {
            if series.open.is_some() {
                counts.firing += 1;
            } else if series.phases.values().any(|p| matches!(p, Phase::Pending { .. })) {
                counts.pending += 1;
            }
        }
        counts
    }

    /// Whether anything is going on that the next evaluation could change.
    pub fn busy(&self) -> bool {
        self.windows.tracked() > 0 || !self.series().is_empty()
    }
}

fn top_tenants(mut tenants: Vec<(String, u64, u64)>, keep: usize) -> Vec<TenantImpact> {
    tenants.retain(|(_, failures, _)| *failures > 0);
    tenants.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    tenants.into_iter().take(keep).map(|(tenant, failures, samples)| TenantImpact { tenant, failures, samples }).collect()
}

/// Whether every rule still firing is only waiting to clear (its figures back within, or too few):
/// then a reminder that the function "still fails" would be wrong; the resolve is on its way.
fn all_clearing(phases: &BTreeMap<RuleKind, Phase>) -> bool {
    phases.values().all(|phase| matches!(phase, Phase::Firing { quiet_since: Some(_), .. }))
}
