//! Alerts wired into the core: sweeps become samples, evaluations become one post per alert,
//! edited as the figures change and followed by a resolve notice, each claimed once in the store.

use crate::alerts::{AlertEngine, AlertSettings, Change, Sample, Transition};
use crate::core::Core;
use crate::health::Status;
use crate::outbox::{Binding, Op};
use crate::post::{ChannelName, Destination, Post};
use crate::store::Maintenance;
use crate::subject::{Subject, SubjectKind};
use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};
use tracing::Instrument as _;

/// The engine and when the next scheduled sweep is due.
pub(crate) struct Alerting {
    pub engine: Arc<AlertEngine>,
    pub sweep_every: Duration,
    pub next_sweep: Mutex<DateTime<Utc>>,
}

impl Alerting {
    pub fn new(settings: AlertSettings, sweep_every: std::time::Duration, clock: Arc<dyn crate::clock::Clock>) -> Alerting {
        let every = Duration::from_std(sweep_every).unwrap_or(Duration::minutes(5)).max(Duration::seconds(1));
        let first = clock.now() + every;
        Alerting { engine: Arc::new(AlertEngine::new(settings, clock)), sweep_every: every, next_sweep: Mutex::new(first) }
    }
}

/// A probe's name as a sample's function: `rest (plans)` is `rest`.
fn sample_name(probe: &str) -> String {
    probe.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect()
}

/// The alert's subject: one firing of one (rule, function).
pub fn alert_subject(id: i64) -> Subject {
    Subject { kind: SubjectKind::Alert, id }
}

impl Core {
    /// The rules and the sweep interval (default: the runbook's rules, a sweep every 5 minutes).
    pub fn with_alerts(mut self, settings: AlertSettings, sweep_every: std::time::Duration) -> Self {
        self.alerting = Alerting::new(settings, sweep_every, self.clock.clone());
        self
    }

    /// The alert engine, for the HTTP ingest to feed.
    pub fn alert_engine(&self) -> &Arc<AlertEngine> {
        &self.alerting.engine
    }

    /// Hands the alerts the store says are firing back to the engine (at start), so none is
    /// announced twice and one that recovered while bellhop was down resolves once.
    pub async fn restore_alerts(&self) -> anyhow::Result<usize> {
        let firing = self.store.firing_alerts().await?;
        for (rule, function, phase) in &firing {
            self.alerting.engine.restore(*rule, function, phase.clone());
        }
        Ok(firing.len())
    }

    /// When the next scheduled sweep is due.
    pub fn next_sweep(&self) -> DateTime<Utc> {
        *self.alerting.next_sweep.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves the sweep schedule up to `from` without sweeping the time before it: a virtual
    /// clock that jumps days ahead needs only the sweeps whose samples its windows still hold.
    pub fn skip_sweeps_until(&self, from: DateTime<Utc>) {
        let mut next = self.alerting.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
        if *next < from {
            *next = from;
        }
    }

    /// Runs the scheduled sweeps that are due (at most one per call: a bellhop that slept long
    /// sweeps now, not once per missed interval). Returns how many ran.
    pub async fn run_sweeps(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        {
            let mut next = self.alerting.next_sweep.lock().unwrap_or_else(|e| e.into_inner());
            if *next > now {
                return Ok(0);
            }
            let following = *next + self.alerting.sweep_every;
            *next = if following > now { following } else { now + self.alerting.sweep_every };
        }
        self.sweep_and_evaluate().await?;
        Ok(1)
    }

    /// One health sweep, one sample per probe of the platform, then an evaluation.
    pub async fn sweep_and_evaluate(&self) -> anyhow::Result<usize> {
        let sweep = self.health.sweep().await;
        let now = self.clock.now();
        for probe in &sweep.targets {
            // A skipped or misconfigured probe says nothing about the platform's health.
            let ok = match probe.status {
                Status::Up | Status::Slow => true,
                Status::Down => false,
                Status::Skipped | Status::Misconfigured => continue,
            };
            let latency = probe.latency.map(|l| u64::try_from(l.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0);
            if let Err(error) = self.alerting.engine.ingest(&Sample::new(sample_name(&probe.name), ok, latency, now)) {
                tracing::warn!(probe = probe.name, %error, "a probe's sample was refused");
            }
        }
        self.evaluate_alerts().await
    }

    /// Judges every alert now and announces what changed and this bellhop claimed; returns how
    /// many changes it announced. One failing announcement does not hold back the others.
    pub async fn evaluate_alerts(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let transitions = self.alerting.engine.evaluate(now);
        if transitions.is_empty() {
            return Ok(0);
        }
        let windows: Vec<Maintenance> = self.store.upcoming_maintenance(now).await?.into_iter().filter(|w| w.start <= now).collect();
        let mut announced = 0;
        for transition in &transitions {
            let span = tracing::info_span!(
                "alert",
                rule = transition.rule.key(),
                function = transition.function,
                change = transition.change.key()
            );
            match self.announce(transition, windows.first()).instrument(span).await {
                Ok(true) => announced += 1,
                Ok(false) => {}
                Err(error) => tracing::error!(error = format!("{error:#}"), "cannot announce an alert"),
            }
        }
        Ok(announced)
    }

    async fn announce(&self, transition: &Transition, window: Option<&Maintenance>) -> anyhow::Result<bool> {
        let timing = &self.alerting.engine.settings().timing;
        let mut tx = self.store.begin(transition.at).await?;
        let Some(claim) = tx.claim_alert(transition, timing).await? else { return Ok(false) };
        let subject = alert_subject(claim.id);
        let post = self.alert_post(transition, claim.id, window)?;
        let ops = match (transition.change, window) {
            (Change::Fired, _) => {
                let to = Destination::Channel { channel: ChannelName::Ops };
                vec![Op::Post { to, post, bind: Some(Binding::new(subject, "alert")) }]
            }
            // Held during maintenance: said once when it fired, not edited or paged again.
            (Change::Updated | Change::Renotified, Some(_)) => Vec::new(),
            (Change::Updated | Change::Renotified, None) => vec![Op::Edit { of: Binding::new(subject, "alert"), post }],
            (Change::Resolved, _) => {
                let to = Destination::Channel { channel: ChannelName::Ops };
                let notice = crate::alerting_posts::resolved_notice(transition, claim.id);
                vec![
                    Op::Edit { of: Binding::new(subject, "alert"), post },
                    Op::Post { to, post: notice, bind: Some(Binding::new(subject, "resolved")) },
                ]
            }
        };
        for op in &ops {
            tx.enqueue(op).await?;
        }
        tx.commit().await?;
        tracing::info!(alert = claim.id, "alert announced");
        Ok(true)
    }

    fn alert_post(&self, transition: &Transition, id: i64, window: Option<&Maintenance>) -> anyhow::Result<Post> {
        let body = crate::alerting_posts::p1_text(&self.templates, transition)?;
        Ok(crate::alerting_posts::alert_post(transition, id, body, window))
    }
}
