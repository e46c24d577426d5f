//! The engine on an injected clock: one alert per function from breach to resolve, damping,
//! throttled edits, reminders, and changes kept only once the store claimed them.

use super::*;
use crate::clock::{Clock, ManualClock};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

/// Only the error-rate rule, so a test watches one rule.
fn error_rate_only() -> AlertSettings {
    AlertSettings { rules: vec![Rule::runbook(RuleKind::ErrorRate)], ..AlertSettings::default() }
}

struct Bench {
    engine: AlertEngine,
    clock: Arc<ManualClock>,
    next_id: std::cell::Cell<i64>,
}

impl Bench {
    fn new(settings: AlertSettings) -> Bench {
        let clock = Arc::new(ManualClock::new(t0()));
        Bench { engine: AlertEngine::new(settings, clock.clone()), clock, next_id: std::cell::Cell::new(1) }
    }

    /// `calls` samples of invite-user now, `failing` of them failed (by tenant hotel-N for N < 3).
    fn traffic(&self, calls: u64, failing: u64) {
        for i in 0..calls {
            let sample = Sample::new("invite-user", i >= failing, 200, self.clock.now()).for_tenant(format!("hotel-{}", i % 3));
            self.engine.ingest(&sample).unwrap();
        }
    }

    /// Evaluates now, and keeps every proposal as a store that always grants the claim would.
    fn evaluate(&self) -> Vec<Proposal> {
        let proposals = self.engine.evaluate(self.clock.now());
        for proposal in &proposals {
            let id = match proposal.before {
                Some(ref open) => open.id,
                None => self.next_id.replace(self.next_id.get() + 1),
            };
            self.engine.commit(proposal, proposal.next.version + 1, id);
        }
        proposals
    }

    /// Advances by `minutes`, a minute at a time with `calls`/`failing` traffic each minute,
    /// evaluating after each; returns the changes announced.
    fn run(&self, minutes: i64, calls: u64, failing: u64) -> Vec<Proposal> {
        let mut seen = Vec::new();
        for _ in 0..minutes {
            self.clock.advance(Duration::minutes(1));
            self.traffic(calls, failing);
            seen.extend(self.evaluate());
        }
        seen
    }
}

fn changes(proposals: &[Proposal]) -> Vec<Change> {
    proposals.iter().map(|p| p.change).collect()
}

/// The changes that open or close an alert (edits and reminders left out).
fn announcements(proposals: &[Proposal]) -> Vec<Change> {
    proposals.iter().map(|p| p.change).filter(|c| matches!(c, Change::Fired | Change::Resolved)).collect()
}

#[test]
fn an_alert_is_pending_then_fires_once_then_resolves_once() {
    let bench = Bench::new(error_rate_only());
    assert!(bench.run(1, 20, 3).is_empty(), "a breach must hold for a minute before firing");
    assert!(matches!(bench.engine.state("invite-user").phases[&RuleKind::ErrorRate], Phase::Pending { .. }));
    let fired = bench.run(1, 20, 3);
    assert_eq!(changes(&fired), [Change::Fired]);
    let figures = &fired[0].figures;
    assert_eq!(figures.headline(), "error rate 15% (6 of 40 calls failed in the last 5 min)");
    assert_eq!(figures.breached().map(RuleFigure::line).collect::<Vec<_>>(), ["Error Rate 15% (threshold 5%, 5 min)"]);
    assert_eq!(figures.at - figures.since, Duration::minutes(1));
    assert_eq!(figures.top_tenants.iter().map(|t| t.tenant.as_str()).collect::<Vec<_>>(), ["hotel-0", "hotel-1", "hotel-2"]);
    // Recovery: the 5 min window must dilute the failures, then stay clear for clear_for (5 min).
    let recovery = bench.run(15, 20, 0);
    assert_eq!(announcements(&recovery), [Change::Resolved]);
    assert!(recovery.iter().all(|p| p.figures.since == figures.since), "one alert from breach to resolve");
    assert_eq!(bench.engine.state("invite-user").open, None);
}

#[test]
fn one_function_failing_past_three_rules_is_one_alert_naming_them_all() {
    let bench = Bench::new(AlertSettings::default());
    let mut seen = Vec::new();
    for _ in 0..3 {
        bench.clock.advance(Duration::minutes(1));
        bench.traffic(200, 40);
        seen.extend(bench.evaluate());
    }
    let fired: Vec<&Proposal> = seen.iter().filter(|p| p.change == Change::Fired).collect();
    assert_eq!(fired.len(), 1, "one alert for invite-user: {:?}", changes(&seen));
    let last = &seen.last().unwrap().figures;
    let breached: Vec<RuleKind> = last.breached().map(|r| r.rule).collect();
    assert_eq!(breached, [RuleKind::ErrorRate, RuleKind::Failures, RuleKind::SuccessRate]);
    assert!(last.headline().starts_with("error rate 20%"), "the error rate is always said: {}", last.headline());
    assert_eq!(fired[0].started, [RuleKind::Failures], "failures per minute fire at once; the rates hold a minute first");
    let grown = seen.iter().find(|p| p.change == Change::Updated).expect("the post was edited as the rates fired");
    assert_eq!(grown.started, [RuleKind::ErrorRate, RuleKind::SuccessRate]);
    assert_eq!(bench.engine.counts(), PhaseCounts { pending: 0, firing: 1 });
}

#[test]
fn a_breach_shorter_than_for_never_fires() {
    let bench = Bench::new(error_rate_only());
    bench.clock.advance(Duration::seconds(30));
    bench.traffic(40, 10);
    assert!(bench.evaluate().is_empty());
    bench.clock.advance(Duration::minutes(5));
    bench.traffic(400, 0);
    assert!(bench.evaluate().is_empty());
    assert_eq!(bench.engine.state("invite-user"), Series::default());
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
fn edits_come_at_most_every_ten_seconds_and_end_on_the_latest_figures() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 4);
    let mut edits = Vec::new();
    for second in 0..30 {
        bench.clock.advance(Duration::seconds(1));
        bench.traffic(10, 3 + second % 4);
        edits.extend(bench.evaluate().into_iter().filter(|p| p.change == Change::Updated));
    }
    assert!((2..=3).contains(&edits.len()), "30 s of changing figures, one edit per 10 s: {}", edits.len());
    for pair in edits.windows(2) {
        assert!(pair[1].figures.at - pair[0].figures.at >= Duration::seconds(10));
    }
    // Samples come within 10 s of the last edit: held back, then one more edit shows them.
    bench.clock.advance(Duration::seconds(3));
    bench.traffic(10, 9);
    assert!(bench.evaluate().iter().all(|p| p.change != Change::Updated), "within 10 s of the last edit");
    bench.clock.advance(Duration::seconds(10));
    let last: Vec<_> = bench.evaluate().into_iter().filter(|p| p.change == Change::Updated).collect();
    assert_eq!(last.len(), 1, "the figures changed since the last edit");
    assert_ne!(last[0].figures.shown(), edits.last().unwrap().figures.shown());
    let now = bench.engine.state("invite-user").open.unwrap();
    assert_eq!(now.shown, last[0].figures.shown(), "what the post shows is the latest");
    bench.clock.advance(Duration::seconds(10));
    assert!(bench.evaluate().iter().all(|p| p.change != Change::Updated), "nothing new, no edit");
}

#[test]
fn a_firing_alert_nobody_took_on_is_recalled_every_half_hour() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    let steady = bench.run(65, 20, 10);
    assert_eq!(changes(&steady).iter().filter(|c| **c == Change::Reminded).count(), 2);
}

#[test]
fn no_reminder_comes_while_every_rule_is_clearing() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    assert!(!changes(&bench.run(26, 20, 10)).contains(&Change::Reminded), "the half hour is not up yet");
    // Traffic stops just before the half hour: the rule waits a window to clear, and the reminder
    // falls due meanwhile.
    let silent = bench.run(12, 0, 0);
    assert!(!changes(&silent).contains(&Change::Reminded), "\"still failing\" while clearing: {:?}", changes(&silent));
    assert_eq!(announcements(&silent), [Change::Resolved]);
}

#[test]
fn a_change_the_store_did_not_claim_is_proposed_again() {
    let bench = Bench::new(error_rate_only());
    bench.run(1, 20, 10);
    bench.clock.advance(Duration::minutes(1));
    bench.traffic(20, 10);
    let lost = bench.engine.evaluate(bench.clock.now());
    assert_eq!(changes(&lost), [Change::Fired], "proposed, but its claim failed (the store was down)");
    assert!(bench.engine.state("invite-user").open.is_none(), "nothing changed before the claim");
    bench.clock.advance(Duration::seconds(5));
    assert_eq!(changes(&bench.evaluate()), [Change::Fired], "proposed again at the next evaluation");
    assert!(bench.engine.state("invite-user").open.is_some());
}

#[test]
fn a_state_another_replica_announced_is_taken_and_not_announced_again() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    let announced = bench.engine.state("invite-user");
    let other = Bench::new(error_rate_only());
    other.clock.set(bench.clock.now());
    other.engine.adopt("invite-user", announced);
    assert!(other.run(2, 20, 10).iter().all(|p| p.change == Change::Updated), "no second post");
    assert_eq!(announcements(&other.run(12, 20, 0)), [Change::Resolved]);
}

#[test]
fn an_alert_whose_function_went_silent_resolves_after_a_window_without_samples() {
    let bench = Bench::new(error_rate_only());
    bench.run(2, 20, 10);
    let silent = bench.run(12, 0, 0);
    assert_eq!(announcements(&silent), [Change::Resolved]);
    assert_eq!(silent.last().unwrap().figures.samples, 0);
    assert_eq!(bench.engine.counts(), PhaseCounts::default());
}

#[test]
fn every_runbook_rule_fires_for_its_own_kind_of_trouble_in_one_alert() {
    let bench = Bench::new(AlertSettings::default());
    let mut last = None;
    for _ in 0..3 {
        bench.clock.advance(Duration::minutes(1));
        for i in 0..60 {
            let sample = Sample::new("delete-user", i % 4 != 0, 12_000, bench.clock.now());
            bench.engine.ingest(&sample).unwrap();
        }
        last = bench.evaluate().pop().or(last);
    }
    assert_eq!(bench.engine.counts().firing, 1);
    assert_eq!(last.unwrap().figures.breached().count(), 4);
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

#[test]
fn samples_of_new_functions_beyond_the_limit_are_refused_whole_and_counted() {
    let bench = Bench::new(AlertSettings { max_functions: 2, ..error_rate_only() });
    let at = |f: &'static str| Sample::new(f, true, 1, t0());
    assert_eq!(bench.engine.ingest_all(&[at("a"), at("b")]), Ok(2));
    let refused = bench.engine.ingest_all(&[at("a"), at("c")]).unwrap_err();
    assert_eq!(refused, (1, SampleError::TooManyFunctions(2)));
    assert_eq!((bench.engine.ingested(), bench.engine.refused()), (2, 2), "the whole batch refused, and counted");
    assert_eq!(bench.engine.ingest(&at("a")), Ok(()), "a tracked function still counts");
}
