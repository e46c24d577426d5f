//! What the core does when nobody typed anything: fire the timers that fell due, each on its
//! own, and say when it next has something to do.

use crate::core::Core;
use crate::outbox::Op;
use crate::post::{ChannelName, Destination, Post};
use crate::subject::SubjectKind;
use crate::timers::{Timer, TimerOutcome};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use tracing::Instrument as _;

/// A timer that fails this often is given up (with a notice to the ops channel).
const TIMER_ATTEMPTS: i64 = 5;

impl Core {
    /// Fires every timer due by now, each exactly once however many bellhops share the store;
    /// returns how many this one fired. Their posts wait in the outbox. A timer that fails is
    /// retried later on its own; the others fire regardless.
    pub async fn run_due(&self) -> anyhow::Result<usize> {
        let mut fired = 0;
        let mut seen = HashSet::new();
        loop {
            let now = self.clock.now();
            let due: Vec<Timer> = self.store.due_timers(now, 50).await?.into_iter().filter(|t| seen.insert(t.id)).collect();
            if due.is_empty() {
                return Ok(fired);
            }
            for timer in &due {
                let span = tracing::info_span!("timer", id = timer.id, owner = %timer.owner, kind = timer.job.kind());
                match self.fire(timer, now).instrument(span.clone()).await {
                    Ok(true) => fired += 1,
                    Ok(false) => {}
                    Err(error) => self.timer_failed(timer, now, error).instrument(span).await,
                }
            }
        }
    }

    async fn fire(&self, timer: &Timer, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut outcome = match timer.owner.kind {
            SubjectKind::Incident => crate::incident::timer_posts(&self.incident_ctx(), timer, timer.owner.id, now).await?,
            SubjectKind::Maintenance => crate::maintenance::timer_posts(&self.maintenance_ctx(), timer, timer.owner.id, now).await?,
            SubjectKind::Plan => crate::remediation::timer(&self.remediation_ctx(), timer, now).await?,
            SubjectKind::Alert | SubjectKind::Checklist => TimerOutcome::default(),
        };
        let late = now - timer.due > Duration::from_std(self.incidents.late_after)?;
        let mut tx = self.store.begin(now).await?;
        if !tx.claim_timer(timer.id).await? {
            return Ok(false);
        }
        for op in &mut outcome.ops {
            if let (true, Op::Post { post, .. }) = (late, op) {
                let note = crate::incident::posts::late_note(timer.due, now);
                post.body = if post.body.is_empty() { note } else { format!("{}\n{note}", post.body) };
            }
        }
        for op in &outcome.ops {
            tx.enqueue(op).await?;
        }
        if let TimerOutcome { next: Some((job, due)), .. } = &outcome {
            tx.schedule(timer.owner, job, *due).await?;
        }
        tx.commit().await?;
        tracing::debug!(late, "timer fired");
        Ok(true)
    }

    /// Records a failure on that timer alone: retried with backoff, then given up with a notice.
    async fn timer_failed(&self, timer: &Timer, now: DateTime<Utc>, error: anyhow::Error) {
        let reason = format!("{error:#}");
        let recorded = if timer.attempts + 1 >= TIMER_ATTEMPTS {
            tracing::error!(error = reason, "a timer failed too often; giving it up");
            let notice = super::posts::timer_given_up(timer.job.kind(), &timer.owner.to_string(), TIMER_ATTEMPTS, &reason);
            match self.store.give_up_timer(timer.id, now, &reason).await {
                Ok(()) => self.notify_ops(now, notice).await,
                Err(error) => Err(error),
            }
        } else {
            let retry = now + Duration::minutes(1 << timer.attempts.clamp(0, 4));
            tracing::warn!(error = reason, %retry, "a timer failed; it will try again");
            self.store.timer_failed(timer.id, retry, &reason).await.map(|_| ())
        };
        if let Err(error) = recorded {
            tracing::error!(error = format!("{error:#}"), "cannot record a timer's failure");
        }
    }

    /// A notice for the on-call team, queued in the ops channel's lane.
    pub(crate) async fn notify_ops(&self, now: DateTime<Utc>, post: Post) -> anyhow::Result<()> {
        let mut tx = self.store.begin(now).await?;
        tx.post(Destination::Channel { channel: ChannelName::Ops }, post).await?;
        tx.commit().await
    }

    /// When the core next has something to do on its own: a timer, an operation that can run,
    /// the scheduled sweep, or the alerts' next share of counts (every second).
    pub async fn next_wake(&self, chats: &crate::chats::Chats) -> anyhow::Result<DateTime<Utc>> {
        let now = self.clock.now();
        let mut next = self.next_sweep().min(now + Duration::seconds(1));
        for at in [self.store.next_due().await?, self.store.next_op(&chats.filter()).await?].into_iter().flatten() {
            next = next.min(at);
        }
        if self.store.groups_waiting().await? {
            next = now;
        }
        Ok(next)
    }
}
