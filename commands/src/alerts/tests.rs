//! The engine on an injected clock: an alert's whole life, damping, re-notifying, restarts.

use super::*;
use crate::clock::{Clock, ManualClock};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

/// Only the error-rate rule, so each test watches one alert.
fn error_rate_only() -> AlertSettings {
    AlertSettings { rules: vec![Rule::runbook(RuleKind::ErrorRate)], ..AlertSettings::default() }
}

struct Bench {
    engine: AlertEngine,
    clock: Arc<ManualClock>,
}

impl Bench {
    fn new(settings: AlertSettings) -> Bench {
        let clock = Arc::new(ManualClock::new(t0()));
        Bench { engine: AlertEngine::new(settings, clock.clone()), clock }
    }

    /// `calls` samples of invite-user now, `failing` of them failed (by tenant hotel-N for N < 3).
    fn traffic(&self, calls: u64, failing: u64) {
        for i in 0..calls {
            let sample = Sample::new("invite-user", i >= failing, 200, self.clock.now()).for_tenant(format!("hotel-{}", i % 3));
            self.engine.ingest(&sample).unwrap();
        }
    }

    /// Advances by `minutes`, a minute at a time with `calls`/`failing` traffic each minute,
    /// evaluating after each; returns the changes seen.
    fn run(&self, minutes: i64, calls: u64, failing: u64) -> Vec<Transition> {
        let mut seen = Vec::new();
        for _ in 0..minutes {
            self.clock.advance(Duration::minutes(1));
            self.traffic(calls, failing);
            seen.extend(self.engine.evaluate(self.clock.now()));
        }
        seen
    }
}

fn changes(transitions: &[Transition]) -> Vec<Change> {
    transitions.iter().map(|t| t.change).collect()
}

/// The changes that announce something new (edits of the figures left out).
fn announcements(transitions: &[Transition]) -> Vec<Change> {
    transitions.iter().map(|t| t.change).filter(|c| *c != Change::Updated).collect()
}

#[test]
fn an_alert_is_pending_then_fires_once_then_resolves_once() {
    let bench = Bench::new(error_rate_only());
    let first = bench.run(1, 20, 3);
    assert!(first.is_empty(), "a breach must hold for a minute before firing");
    assert!(matches!(bench.engine.phase(RuleKind::ErrorRate, "invite-user"), Phase::Pending { .. }));
    let fired = bench.run(1, 20, 3);
    assert_eq!(changes(&fired), [Change::Fired]);
    let (figure, threshold) = fired[0].figure().unwrap();
    assert_eq!((figure.as_str(), threshold.as_str()), ("15%", "5%"));
    assert_eq!(fired[0].duration(), Duration::minutes(1));
    assert_eq!(fired[0].top_tenants.iter().map(|t| t.tenant.as_str()).collect::<Vec<_>>(), ["hotel-0", "hotel-1", "hotel-2"]);
    assert!(bench.run(3, 20, 3).is_empty(), "the same figure is neither edited nor re-announced");
    // Recovery: the 5 min window must dilute the failures, then stay clear for clear_for (5 min).
    let recovery = bench.run(15, 20, 0);
    assert_eq!(announcements(&recovery), [Change::Resolved]);
    assert!(recovery.iter().all(|t| t.since == fired[0].since), "one alert from breach to resolve");
    assert_eq!(bench.engine.phase(RuleKind::ErrorRate, "invite-user"), Phase::Ok);
}

#[test]
fn a_breach_shorter_than_for_never_fires() {
    let bench = Bench::new(error_rate_only());
    bench.clock.advance(Duration::seconds(30));
    bench.traffic(40, 10);
    assert!(bench.engine.evaluate(bench.clock.now()).is_empty());
    bench.clock.advance(Duration::minutes(5));
    bench.traffic(400, 0);
    assert!(bench.engine.evaluate(bench.clock.now()).is_empty());
    assert_eq!(bench.engine.phase(RuleKind::ErrorRate, "invite-user"), Phase::Ok);
}

#[test]
fn too_few_samples_never_fire_even_all_failing() {
    let bench = Bench::new(error_rate_only());
    assert!(bench.run(10, 1, 1).is_empty(), "5 failing samples a window are under the minimum of 20");
}

#[test]
fn a_flapping_function_stays_one_alert() {
    let bench = Bench::new(error_rate_only());
    assert_eq!(changes(&bench.run(2, 20, 10)), [Change::Fired]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.extend(bench.run(6, 100, 0)); // clears the window, but not for 5 min of quiet
        seen.extend(bench.run(1, 100, 100));
    }
    assert!(announcements(&seen).is_empty(), "{:?}", changes(&seen));
    assert_eq!(announcements(&bench.run(12, 100, 0)), [Change::Resolved], "and it resolves once it stays clear");
}

#[test]
fn a_firing_alert_is_renotified_and_its_post_updated_when_figures_change() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 4);
    let later = bench.run(5, 20, 10);
    assert!(changes(&later).contains(&Change::Updated), "{:?}", changes(&later));
    let steady = bench.run(30, 20, 10);
    assert_eq!(changes(&steady).iter().filter(|c| **c == Change::Renotified).count(), 1);
}

#[test]
fn after_a_restart_a_firing_alert_is_not_announced_again_and_resolves_when_recovered() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    let announced = bench.engine.phase(RuleKind::ErrorRate, "invite-user");
    let restarted = Bench::new(error_rate_only());
    restarted.clock.set(bench.clock.now());
    restarted.engine.restore(RuleKind::ErrorRate, "invite-user", announced);
    assert!(restarted.run(2, 20, 10).is_empty(), "no duplicate announcement");
    let recovered = restarted.run(12, 20, 0);
    assert_eq!(announcements(&recovered), [Change::Resolved]);
}

#[test]
fn an_alert_whose_function_went_silent_resolves_after_a_window_without_samples() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    let silent = bench.run(12, 0, 0);
    assert_eq!(changes(&silent), [Change::Resolved]);
    assert_eq!(silent[0].reading, None);
    assert_eq!(bench.engine.counts(), PhaseCounts::default());
}

#[test]
fn every_runbook_rule_fires_for_its_own_kind_of_trouble() {
    let bench = Bench::new(AlertSettings::default());
    for _ in 0..3 {
        bench.clock.advance(Duration::minutes(1));
        for i in 0..60 {
            let sample = Sample::new("delete-user", i % 4 != 0, 12_000, bench.clock.now());
            bench.engine.ingest(&sample).unwrap();
        }
        bench.engine.evaluate(bench.clock.now());
    }
    assert_eq!(bench.engine.counts().firing, 4);
}

#[test]
fn a_batch_with_one_bad_sample_is_refused_whole() {
    let bench = Bench::new(error_rate_only());
    let good = Sample::new("invite-user", true, 1, t0());
    let bad = Sample::new("invite user", true, 1, t0());
    assert_eq!(bench.engine.ingest_all(&[good.clone(), bad]).unwrap_err().0, 1);
    assert_eq!(bench.engine.ingested(), 0);
    assert_eq!(bench.engine.ingest_all(&[good.clone(), good]), Ok(2));
    assert_eq!(bench.engine.ingested(), 2);
}
