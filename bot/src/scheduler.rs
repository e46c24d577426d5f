//! Wakes the core when a timer or a sweep falls due, samples arrive or a post waits for a retry, in real time.

use bellhop_commands::{ChatPort, Core};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Another bellhop on the same store may add timers this one does not hear of: look at least
/// this often.
const LONGEST_NAP: Duration = Duration::from_secs(30);
/// A post that cannot go yet (its incident's place is not open) must not spin the loop.
const SHORTEST_NAP: Duration = Duration::from_millis(200);

/// Runs until the task is dropped. `wake` cuts a nap short (after a command queued posts).
pub async fn run(core: Arc<Core>, port: Arc<dyn ChatPort>, wake: Arc<Notify>) {
    loop {
        if let Err(error) = core.run_due().await {
            tracing::error!(error = format!("{error:#}"), "cannot fire due timers");
        }
        if let Err(error) = core.run_sweeps().await {
            tracing::error!(error = format!("{error:#}"), "cannot run the health sweep");
        }
        // After every sweep and every ingest (which wakes this loop): cheap when nothing changed.
        if let Err(error) = core.evaluate_alerts().await {
            tracing::error!(error = format!("{error:#}"), "cannot evaluate the alerts");
        }
        if let Err(error) = core.settle_plans(port.as_ref()).await {
            tracing::error!(error = format!("{error:#}"), "cannot settle the approved plans");
        }
        if let Err(error) = core.deliver_outbox(port.as_ref()).await {
            tracing::error!(error = format!("{error:#}"), "cannot deliver the outbox");
        }
        let nap = match core.next_wake().await.map(|at| Some(at.map_or(core.next_sweep(), |at| at.min(core.next_sweep())))) {
            Ok(Some(at)) => (at - core.clock().now()).to_std().unwrap_or_default().clamp(SHORTEST_NAP, LONGEST_NAP),
            Ok(None) => LONGEST_NAP,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot read the next timer");
                LONGEST_NAP
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = wake.notified() => {}
        }
    }
}
