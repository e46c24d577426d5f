//! Wakes the core when a timer or a sweep falls due, samples arrive or a post waits for a retry, in real time.

use bellhop_commands::{ChatPort, Core};
use std::sync::atomic::{AtomicBool, Ordering};
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
    let settling = Arc::new(AtomicBool::new(false));
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
        settle_plans(&core, &port, &wake, &settling);
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

/// Approved plans run beside the loop, one pass at a time: a purge that takes minutes must not
/// hold back timers, alerts and posts. When the pass ends the loop wakes to post its outcome.
fn settle_plans(core: &Arc<Core>, port: &Arc<dyn ChatPort>, wake: &Arc<Notify>, settling: &Arc<AtomicBool>) {
    if settling.swap(true, Ordering::SeqCst) {
        return;
    }
    let (core, port, wake, settling) = (core.clone(), port.clone(), wake.clone(), settling.clone());
    tokio::spawn(async move {
        let _done = Done(settling, wake);
        if let Err(error) = core.settle_plans(port.as_ref()).await {
            tracing::error!(error = format!("{error:#}"), "cannot settle the approved plans");
        }
    });
}

/// Ends a settling pass however it ends (a panic included), so the next one can start.
struct Done(Arc<AtomicBool>, Arc<Notify>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
        self.1.notify_one();
    }
}
