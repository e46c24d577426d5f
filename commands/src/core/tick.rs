//! The core's loop, one tick at a time: everything that is due, in a fixed order, each step on
//! its own (one failing is logged and counted, and never skips the others). Adapters call
//! [`Core::tick`] when woken and nothing else; a new duty is one step here.

use crate::chats::Chats;
use crate::core::Core;
use std::sync::Arc;

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Timers fired.
    pub timers: usize,
    /// Function deploys recorded from the Management API.
    pub deploys: usize,
    /// Health sweeps run here.
    pub sweeps: usize,
    /// Alert changes announced (bellhop's own rules).
    pub alerts: usize,
    /// Webhook groups announced.
    pub webhooks: usize,
    /// Reactions whose effect (a 🚨's declaration) was tried again.
    pub reactions: usize,
    /// Whether a pass over the approved plans started beside the loop.
    pub plans: bool,
    /// Old rows pruned by the retention job.
    pub pruned: u64,
    /// Chat operations delivered.
    pub delivered: usize,
    /// The steps that failed (each logged with its cause).
    pub failed: Vec<&'static str>,
}

impl Core {
    /// Runs everything that is due: timers, the scheduled sweep, alert evaluation, webhook
    /// announcements, plan checks (started beside the loop: a purge may take minutes), the
    /// retention job, then the outbox.
    pub async fn tick(self: &Arc<Self>, chats: impl Into<Chats>) -> TickReport {
        let chats = chats.into();
        let mut report = TickReport::default();
        fn step<T: Default>(report: &mut TickReport, name: &'static str, result: anyhow::Result<T>) -> T {
            result.unwrap_or_else(|error| {
                tracing::error!(step = name, error = format!("{error:#}"), "a step of the loop failed; the others go on");
                report.failed.push(name);
                T::default()
            })
        }
        report.timers = step(&mut report, "timers", self.run_due().await);
        report.sweeps = step(&mut report, "sweeps", self.run_sweeps().await);
        // Before the alerts: an alert firing now names a deploy seen in this same tick.
        report.deploys = step(&mut report, "deploys", self.poll_platform().await);
        report.alerts = step(&mut report, "alerts", self.evaluate_alerts().await);
        report.webhooks = step(&mut report, "webhooks", self.announce_webhooks().await);
        report.reactions = step(&mut report, "reactions", self.retry_reaction_effects().await);
        report.plans = self.start_plan_checks(&chats);
        report.pruned = step(&mut report, "retention", self.prune_when_due().await);
        report.delivered = step(&mut report, "outbox", self.deliver_outbox(&chats).await);
        report
    }

    /// Checks the plans at quorum beside the loop, one pass at a time (reading a post's
    /// reactions takes as long as the chat takes); each plan that may run starts in a task of its
    /// own. When the pass touched a plan, the loop is woken to post what it did. False when a pass is
    /// still running.
    fn start_plan_checks(self: &Arc<Self>, chats: &Chats) -> bool {
        let mut running = self.plan_pass.lock().unwrap_or_else(|e| e.into_inner());
        if running.as_ref().is_some_and(|task| !task.is_finished()) {
            return false;
        }
        let (core, chats) = (self.clone(), chats.clone());
        *running = Some(tokio::spawn(async move {
            if let Err(error) = core.check_plans(&chats).await {
                tracing::error!(error = format!("{error:#}"), "cannot check the plans at quorum");
            }
        }));
        true
    }

    /// Waits until the pass over the plans that the last tick started has ended, and every plan
    /// it started has run.
    pub async fn plan_runs_finished(&self) {
        let pass = self.plan_pass.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(Err(error)) = match pass {
            Some(task) => Some(task.await),
            None => None,
        } {
            tracing::error!(%error, "the pass over the plans stopped");
        }
        loop {
            let runs: Vec<_> = std::mem::take(&mut *self.plan_runs.lock().unwrap_or_else(|e| e.into_inner()));
            if runs.is_empty() {
                return;
            }
            for run in runs {
                if let Err(error) = run.await {
                    tracing::error!(%error, "a plan's run stopped");
                }
            }
        }
    }
}
