//! The alert duties of a running bellhop, one step of `Core::tick`: sweep when a sweep is due (one
//! replica per interval), share this replica's sample counts through the store, and — on the one
//! replica holding the evaluator's lease — judge every function on everyone's counts and announce.

use super::Alerting;
use super::{AlertEngine, AlertSettings, Sample};
use crate::health::Status;
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// The lease one replica holds while it judges the alerts.
const LEASE: &str = "alerts";
/// How long the lease lasts without renewal: a replica that dies is replaced within this.
const LEASE_FOR: Duration = Duration::seconds(5);
/// How often counts are shared and the lease renewed.
const SHARE_EVERY: Duration = Duration::seconds(1);
/// Buckets written a little before the last read are read again: replicas' clocks differ.
const READ_OVERLAP: Duration = Duration::seconds(30);
const PRUNE_EVERY: Duration = Duration::minutes(1);

pub(crate) struct AlertDuty {
    pub engine: Arc<AlertEngine>,
    /// This process among replicas: its buckets in the store, its name on the lease.
    pub replica: String,
    sweep_every: Duration,
    next_sweep: Mutex<DateTime<Utc>>,
    /// One step at a time; the rest of the core never waits on it.
    state: tokio::sync::Mutex<DutyState>,
}

#[derive(Default)]
struct DutyState {
    shared: Option<DateTime<Utc>>,
    /// Other replicas' buckets are read from this time on.
    read_from: Option<DateTime<Utc>>,
    /// While this replica holds the evaluator's lease: until when.
    holding: Option<DateTime<Utc>>,
    pruned: Option<DateTime<Utc>>,
}

impl AlertDuty {
    pub fn new(settings: AlertSettings, sweep_every: std::time::Duration, clock: Arc<dyn crate::clock::Clock>) -> AlertDuty {
        let every = Duration::from_std(sweep_every).unwrap_or(Duration::minutes(5)).max(Duration::seconds(1));
        let first = next_boundary(clock.now(), every);
        AlertDuty {
            engine: Arc::new(AlertEngine::new(settings, clock)),
            replica: uuid::Uuid::new_v4().simple().to_string(),
            sweep_every: every,
            next_sweep: Mutex::new(first),
            state: Default::default(),
        }
    }
}

/// The first multiple of `every` since the epoch after `now`: replicas agree on when sweeps are due.
fn next_boundary(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let every_ms = every.num_milliseconds().max(1);
    let next = (now.timestamp_millis().div_euclid(every_ms) + 1) * every_ms;
    DateTime::from_timestamp_millis(next).unwrap_or(now + every)
}

/// A probe's name as a sample's function: `rest (plans)` is `rest`.
fn sample_name(probe: &str) -> String {
    probe.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect()
}

impl AlertDuty {
    /// The alert engine, for the HTTP ingest to feed.
    pub fn alert_engine(&self) -> &Arc<AlertEngine> {
        &self.engine
    }

    /// This process's name among replicas.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// When the next scheduled sweep is due.
    pub fn next_sweep(&self) -> DateTime<Utc> {
        *self.next_sweep.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the sweep schedule up to `from` without sweeping the time before it: a virtual
    /// clock that jumps days ahead needs only the sweeps whose samples its windows still hold.
    pub fn skip_sweeps_until(&self, from: DateTime<Utc>) {
        let mut next = self.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
        if *next < from {
            *next = next_boundary(from - Duration::milliseconds(1), self.sweep_every);
        }
    }
}

impl Alerting<'_> {
    /// Runs the scheduled sweep when one is due and no other replica ran it (at most one per
    /// call: a bellhop that slept long sweeps now, not once per missed interval). Returns how
    /// many ran here.
    pub async fn run_sweeps(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let due = {
            let mut next = self.duty.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
            if *next > now {
                return Ok(0);
            }
            let due = *next;
            *next = next_boundary(now, self.duty.sweep_every);
            due
        };
        let slot = due.timestamp_millis().div_euclid(self.duty.sweep_every.num_milliseconds().max(1));
        if !self.store.claim_event(&format!("sweep:{slot}"), now).await? {
            return Ok(0);
        }
        self.sweep_into_alerts().await;
        Ok(1)
    }

    /// One health sweep, one sample per probe of the platform.
    async fn sweep_into_alerts(&self) {
        let started = std::time::Instant::now();
        let sweep = self.health.sweep().await;
        crate::metrics::sweep_took(started.elapsed());
        let now = self.clock.now();
        for probe in &sweep.targets {
            // A skipped or misconfigured probe says nothing about the platform's health.
            let ok = match probe.status {
                Status::Up | Status::Slow => true,
                Status::Down => false,
                Status::Skipped | Status::Misconfigured => continue,
            };
            let latency = probe.latency.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0);
            if let Err(error) = self.duty.engine.ingest(&Sample::new(sample_name(&probe.name), ok, latency, now)) {
                tracing::warn!(probe = probe.name, %error, "a probe's sample was refused");
            }
        }
    }

    /// Shares this replica's counts, and, when it holds the evaluator's lease, judges every
    /// function on all replicas' counts and announces what changed. Returns how many changes
    /// this replica announced. Each announcement stands alone: one failing holds back no other,
    /// and is proposed again at the next evaluation.
    pub async fn evaluate_alerts(&self) -> anyhow::Result<usize> {
        let mut state = self.duty.state.lock().await;
        let now = self.clock.now();
        if state.shared.is_none_or(|at| now - at >= SHARE_EVERY) {
            self.share(&mut state, now).await?;
        }
        if state.holding.is_none() {
            return Ok(0);
        }
        let proposals = self.duty.engine.evaluate(now);
        if proposals.is_empty() {
            return Ok(0);
        }
        let window = self.store.upcoming_maintenance(now).await?.into_iter().find(|w| w.start <= now);
        let mut announced = 0;
        for proposal in &proposals {
            match self.announce(proposal, window.as_ref()).await {
                Ok(Some((version, id))) => {
                    self.duty.engine.commit(proposal, version, id);
                    crate::metrics::alert_announced(proposal.change.key());
                    announced += 1;
                }
                Ok(None) => {
                    tracing::info!(function = proposal.function, "another replica announced this alert change; taking its state");
                    match self.store.alert_series_of(&proposal.function).await {
                        Ok(series) => self.duty.engine.adopt(&proposal.function, series),
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot read an alert's state"),
                    }
                }
                Err(error) => tracing::error!(
                    function = proposal.function,
                    change = proposal.change.key(),
                    error = format!("{error:#}"),
                    "cannot announce an alert; it is proposed again at the next evaluation"
                ),
            }
        }
        Ok(announced)
    }

    /// Flushes this replica's counts, keeps (or takes, or loses) the evaluator's lease, and reads
    /// the other replicas' counts when it holds it.
    async fn share(&self, state: &mut DutyState, now: DateTime<Utc>) -> anyhow::Result<()> {
        let engine = &self.duty.engine;
        let rows = engine.take_dirty();
        if let Err(error) = self.store.flush_buckets(&self.duty.replica, &rows, now).await {
            engine.mark_dirty(&rows);
            return Err(error);
        }
        state.shared = Some(now);
        let held = self.store.hold_lease(LEASE, &self.duty.replica, now, now + LEASE_FOR).await?;
        match (held, state.holding.is_some()) {
            (true, false) => {
                tracing::info!(replica = %self.duty.replica, "this replica judges the alerts now");
                for (function, series) in self.store.alert_series().await? {
                    engine.adopt(&function, series);
                }
                state.read_from = None;
                self.close_legacy_alerts(now).await;
            }
            (false, true) => {
                tracing::info!(replica = %self.duty.replica, "another replica judges the alerts now");
                engine.forget();
            }
            _ => {}
        }
        state.holding = held.then_some(now + LEASE_FOR);
        if !held {
            return Ok(());
        }
        let oldest = engine.oldest_slot(now);
        let since = state.read_from.map_or(i64::MIN, |at| (at - READ_OVERLAP).timestamp_millis());
        let remote = self.store.read_buckets(&self.duty.replica, since, oldest).await?;
        engine.merge_remote(remote);
        state.read_from = Some(now);
        if state.pruned.is_none_or(|at| now - at >= PRUNE_EVERY) {
            engine.drop_idle(now);
            self.store.prune_buckets(oldest).await?;
            state.pruned = Some(now);
        }
        Ok(())
    }

    /// Gives the evaluator's lease up (a clean stop), so another replica takes over at once.
    pub async fn release_alerts(&self) {
        let mut state = self.duty.state.lock().await;
        let rows = self.duty.engine.take_dirty();
        if let Err(error) = self.store.flush_buckets(&self.duty.replica, &rows, self.clock.now()).await {
            tracing::warn!(error = format!("{error:#}"), "cannot share the last sample counts");
        }
        if state.holding.take().is_some() {
            if let Err(error) = self.store.release_lease(LEASE, &self.duty.replica).await {
                tracing::warn!(error = format!("{error:#}"), "cannot give the alerts' lease up");
            }
        }
    }

    /// Whether the alerts need judging again soon (something is counted, pending or firing).
    pub fn alerts_busy(&self) -> bool {
        self.duty.engine.busy()
    }
}
