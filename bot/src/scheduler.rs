//! Runs the core's loop in real time, for the chats this process delivers: a tick whenever something is due (a timer, a sweep, a
//! post waiting for a retry, the alerts' share of counts) or someone woke the core (a command,
//! samples, a webhook, a reaction).

use bellhop_commands::{Chats, Core};
use std::sync::Arc;
use std::time::Duration;

/// Another bellhop on the same store may add timers this one does not hear of: look at least
/// this often.
const LONGEST_NAP: Duration = Duration::from_secs(30);
/// A post that cannot go yet (its incident's place is not open) must not spin the loop; and a
/// burst of samples wakes the loop at most this often, so judging them never starves ingest.
const SHORTEST_NAP: Duration = Duration::from_millis(100);

/// How long a stop waits for the tick in progress (a post being delivered) to end.
const FINISH_WITHIN: Duration = Duration::from_secs(10);

/// Runs until the task is dropped.
pub async fn run(core: Arc<Core>, chats: impl Into<Chats>) {
    let (_keep, stop) = tokio::sync::watch::channel(false);
    run_until(core, chats.into(), stop).await
}

/// The loop in a task of its own, stopped by [`Loop::stop`] between two ticks: a stop never cuts
/// a delivery short, which would leave its operation claimed, and its post late, until the
/// claim runs out.
pub struct Loop {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Loop {
    pub fn start(core: Arc<Core>, chats: Chats) -> Loop {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        Loop { stop, task: tokio::spawn(run_until(core, chats, stopped)) }
    }

    /// Ends the loop once the tick in progress is done (within a bound).
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(FINISH_WITHIN, &mut self.task).await.is_err() {
            tracing::warn!("the loop did not finish its tick within {FINISH_WITHIN:?}; stopping it");
            self.task.abort();
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run_until(core: Arc<Core>, chats: Chats, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        let started = tokio::time::Instant::now();
        let report = core.tick(&chats).await;
        if *stop.borrow() {
            return;
        }
        if !report.failed.is_empty() {
            tracing::debug!(failed = ?report.failed, "a tick had failing steps");
        }
        let nap = match core.next_wake(&chats).await {
            Ok(at) => (at - core.clock().now()).to_std().unwrap_or_default().clamp(SHORTEST_NAP, LONGEST_NAP),
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot tell when the loop is due next");
                LONGEST_NAP
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = core.woken() => tokio::time::sleep_until(started + SHORTEST_NAP).await,
            _ = stop.changed() => return,
        }
    }
}
