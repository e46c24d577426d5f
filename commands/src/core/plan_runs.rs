//! The loop's plan checks: one pass at a time beside the loop, each approved plan run in a task
//! of its own within a bound. What a check and a run do is the remediation feature's.

use crate::chats::Chats;
use crate::core::Core;
use crate::remediation::{self, Claimed};
use chrono::Duration;
use std::sync::Arc;
use tracing::Instrument as _;

/// Pending plans are read against their posts this often, besides at quorum: a reaction whose
/// event was lost (a reconnection) still counts.
const RECHECK_EVERY_S: i64 = 300;

impl Core {
    /// What the remediation feature is handed.
    pub(crate) fn remediation_ctx(&self) -> remediation::Ctx<'_> {
        remediation::Ctx { ctx: &self.ctx, settings: &self.remediation, escalation: &self.incidents.escalation }
    }

    /// Reads pending plans against their posts (at quorum, every few minutes, and after a
    /// restart or a reconnection), marks the plans whose runner stopped, and starts each plan
    /// that may run in a task of its own. Returns how many it started.
    pub async fn check_plans(self: &Arc<Self>, chats: impl Into<Chats>) -> anyhow::Result<usize> {
        let chats = chats.into();
        let now = self.clock.now();
        let recheck = {
            let mut last = self.plans_rechecked.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|at| now - at >= Duration::seconds(RECHECK_EVERY_S));
            if due {
                *last = Some(now);
            }
            due
        };
        let (ready, touched) = remediation::claim_ready_plans(&self.remediation_ctx(), &chats, recheck).await?;
        let started = ready.len();
        for claimed in ready {
            self.start_plan(claimed);
        }
        // What the pass changed is posted by the next tick; a pass that touched nothing wakes
        // nobody (it did, and an idle bellhop ticked ten times a second).
        if touched > 0 {
            self.wake();
        }
        Ok(started)
    }

    /// Every pending plan is read against its post at the next pass (after a reconnection, whose
    /// lost reaction events the chat does not replay).
    pub fn recheck_plans(&self) {
        *self.plans_rechecked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.wake();
    }

    /// Runs a claimed plan in a task of its own, within the bound on plans running at once.
    fn start_plan(self: &Arc<Self>, claimed: Claimed) {
        let core = self.clone();
        let span = tracing::info_span!("plan", id = claimed.plan.id, action = claimed.plan.action.command());
        let task = tokio::spawn(
            async move {
                let cx = core.remediation_ctx();
                let Some(Ok(_slot)) = remediation::holding_claim(&cx, claimed.plan.id, core.plan_slots.clone().acquire_owned()).await
                else {
                    return;
                };
                if let Err(error) = remediation::execute(&cx, &claimed).await {
                    tracing::error!(error = format!("{error:#}"), "a plan's run ended in error; its lease will mark it");
                }
                core.wake();
            }
            .instrument(span),
        );
        self.plan_runs.lock().unwrap_or_else(|e| e.into_inner()).push(task);
    }
}
