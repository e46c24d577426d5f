//! What the core does when nobody typed anything: fire the timers that fell due, and hand the
//! outbox to an adapter's `ChatPort`.

use crate::chat_port::{ChatPort, Place};
use crate::core::Core;
use crate::post::Destination;
use crate::timers::{Owner, Timer, TimerOutcome};
use chrono::{DateTime, Utc};

impl Core {
    /// Fires every timer due by now, each exactly once however many bellhops share the store;
    /// returns how many this one fired. Their posts wait in the outbox.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        let now = self.clock.now();
        let mut fired = 0;
        loop {
            let due = self.store.due_timers(now, 50).await?;
            if due.is_empty() {
                return Ok(fired);
            }
            for timer in &due {
                if self.fire(timer, now).await? {
                    fired += 1;
                }
            }
        }
    }

    async fn fire(&self, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut outcome = match timer.owner {
            Owner::Incident(id) => crate::incident::timer_posts(self, timer, id, now).await?,
            Owner::Maintenance(id) => crate::maintenance::timer_posts(self, timer, id, now).await?,
        };
        let late = now - timer.due > chrono::Duration::from_std(self.incidents.late_after)?;
        let mut tx = self.store.begin(now).await?;
        if !tx.claim_timer(timer.id).await? {
            return Ok(false);
        }
        for (destination, post) in &mut outcome.posts {
            if late {
                let note = crate::incident::posts::late_note(timer.due, now);
                post.body = if post.body.is_empty() { note } else { format!("{}\n{note}", post.body) };
            }
            tx.enqueue(destination, post).await?;
        }
        if let TimerOutcome { next: Some((job, due)), .. } = &outcome {
            tx.schedule(timer.owner, job, *due).await?;
        }
        tx.commit().await?;
        tracing::debug!(timer = timer.id, kind = timer.job.kind(), late, "timer fired");
        Ok(true)
    }

    /// Delivers what waits in the outbox, oldest first; a post that fails waits and is retried
    /// with backoff, and the posts behind it wait too, so nothing arrives out of order.
    pub async fn deliver_outbox(&self, port: &dyn ChatPort) -> anyhow::Result<usize> {
        let mut delivered = 0;
        loop {
            let now = self.clock.now();
            let ready = self.store.ready_posts(now, 50).await?;
            let before = delivered;
            for outgoing in ready {
                let place = match &outgoing.destination {
                    Destination::Channel { channel } => Place::Channel(*channel),
                    Destination::Incident { id, title, open: true } => Place::NewIncident { id: *id, title: title.clone() },
                    Destination::Incident { id, open: false, .. } => {
                        match self.store.incident(*id).await?.and_then(|i| i.channel_key) {
                            Some(key) => Place::Incident { id: *id, key },
                            // Its kickoff, which opens the place, has not been delivered yet.
                            None => continue,
                        }
                    }
                };
                if !self.store.claim_post(outgoing.id, now).await? {
                    continue;
                }
                match port.deliver(&place, &outgoing.post).await {
                    Ok(done) => {
                        let opened = match place {
                            Place::NewIncident { id, .. } => Some(id),
                            _ => None,
                        };
                        self.store.post_delivered(outgoing.id, now, &done.channel_key, &done.message_key, opened).await?;
                        delivered += 1;
                    }
                    Err(error) => {
                        let retry = self.store.post_failed(outgoing.id, now).await?;
                        tracing::warn!(post = outgoing.id, error = format!("{error:#}"), %retry, "cannot deliver a post; it waits for a retry");
                        return Ok(delivered);
                    }
                }
            }
            if delivered == before {
                return Ok(delivered);
            }
        }
    }

    /// When the core next has something to do on its own: a timer or a retry.
    pub async fn next_wake(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let timer = self.store.next_due().await?;
        let retry = self.store.next_retry().await?;
        Ok(match (timer, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}
