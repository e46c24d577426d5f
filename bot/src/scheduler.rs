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

/// Runs until the task is dropped.
pub async fn run(core: Arc<Core>, chats: impl Into<Chats>) {
    let chats = chats.into();
    loop {
        let started = tokio::time::Instant::now();
        let report = core.tick(&chats).await;
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
        }
    }
}
