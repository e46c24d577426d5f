//! Hands the outbox to an adapter's `ChatPort`, one operation at a time: each is claimed on its
//! own, and its failure is recorded on it alone (retry later, dead, gone) while the loop goes on.
//! Delivery is at least once: a bellhop that dies after the chat accepted an operation but
//! before recording it will do it again when the lease runs out.

use crate::chat_port::{ChatPort, DeliveryError, MessageRef, Place};
use crate::chats::Chats;
use crate::core::Core;
use crate::outbox::{Binding, Op, Part, Queued};
use crate::post::{ChannelName, Destination};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use tracing::Instrument as _;

/// Retries before an operation is dead-lettered: 5 s doubling up to 5 min, about an hour and a half.
const MAX_ATTEMPTS: i64 = 20;
const LONGEST_BACKOFF_S: i64 = 300;

impl Core {
    /// Does what waits in the outbox, in order within each lane; returns how many operations
    /// were done. One that fails waits (or dies) alone: other lanes go on.
    pub async fn deliver_outbox(&self, chats: impl Into<Chats>) -> anyhow::Result<usize> {
        let chats = chats.into();
        let mut done = 0;
        let mut tried = HashSet::new();
        let filter = chats.filter();
        loop {
            let ready = self.store.ready_ops(self.clock.now(), 50, &filter).await?;
            let fresh: Vec<_> = ready.into_iter().filter(|item| tried.insert(item.as_ref().map_or_else(|(id, _)| *id, |q| q.id))).collect();
            if fresh.is_empty() {
                return Ok(done);
            }
            for item in fresh {
                match item {
                    Ok(queued) => {
                        // The store selected this process's chats only.
                        let Some(port) = chats.port(queued.chat.as_deref()) else { continue };
                        let span = tracing::info_span!("deliver", op = queued.id, lane = %queued.lane, chat = queued.chat.as_deref());
                        if self.deliver_one(port.as_ref(), &queued).instrument(span).await {
                            done += 1;
                        }
                    }
                    Err((id, reason)) => {
                        tracing::error!(op = id, reason, "an outbox operation does not read; burying it");
                        if let Err(error) = self.store.op_dead(id, self.clock.now(), &reason).await {
                            tracing::error!(op = id, error = format!("{error:#}"), "cannot bury an unreadable operation");
                        }
                    }
                }
            }
        }
    }

    /// Claims, performs and records one operation; true when it was done.
    async fn deliver_one(&self, port: &dyn ChatPort, queued: &Queued) -> bool {
        match self.store.claim_op(queued.id, self.clock.now()).await {
            Ok(true) => {}
            Ok(false) => return false,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "cannot claim an operation");
                return false;
            }
        }
        let result = self.perform(port, &queued.op).await;
        let now = self.clock.now();
        let recorded = match &result {
            Ok(()) => self.store.op_done(queued.id, now).await,
            Err(error) => self.op_failed(queued, error, now).await,
        };
        if let Err(error) = recorded {
            tracing::error!(error = format!("{error:#}"), "cannot record an operation's outcome; its lease will run out");
        }
        result.is_ok()
    }

    async fn perform(&self, port: &dyn ChatPort, op: &Op) -> Result<(), DeliveryError> {
        let now = self.clock.now();
        match op {
            Op::Post { to, post, bind } => {
                let place = self.place(to).await?;
                let message = port.post(&place, post).await?;
                self.store.record_message(&message, bind.as_ref(), now).await.map_err(DeliveryError::Retry)
            }
            Op::Edit { of, post } => port.edit(&self.bound(of).await?, post).await,
            Op::React { on, emoji } => port.react(&self.bound(on).await?, emoji).await,
            Op::OpenThread { from, slug, title } => {
                let key = port.open_thread(&self.bound(from).await?, slug, title).await?;
                self.store.set_place(from.subject, &key).await.map_err(DeliveryError::Retry)
            }
        }
    }

    /// Where a post goes. A subject whose place could not be opened gets its posts where its
    /// kickoff is, rather than nowhere.
    async fn place(&self, to: &Destination) -> Result<Place, DeliveryError> {
        Ok(match to {
            Destination::Channel { channel } => Place::Channel(*channel),
            Destination::Key { key } => Place::Key(key.clone()),
            Destination::Place { subject } => match self.store.place_of(*subject).await.map_err(DeliveryError::Retry)? {
                Some(key) => Place::Key(key),
                None => match self.store.bound_message(&Binding::new(*subject, Part::Kickoff)).await.map_err(DeliveryError::Retry)? {
                    Some(kickoff) => Place::Key(kickoff.channel),
                    None => return Err(DeliveryError::Permanent(anyhow::anyhow!("{subject} has no place in the chat"))),
                },
            },
        })
    }

    async fn bound(&self, binding: &Binding) -> Result<MessageRef, DeliveryError> {
        match self.store.bound_message(binding).await.map_err(DeliveryError::Retry)? {
            Some(message) => Ok(message),
            None => Err(DeliveryError::Gone(anyhow::anyhow!("{}'s {} message was never delivered", binding.subject, binding.role))),
        }
    }

    async fn op_failed(&self, queued: &Queued, error: &DeliveryError, now: DateTime<Utc>) -> anyhow::Result<()> {
        let reason = error.to_string();
        match error {
            DeliveryError::Retry(_) if queued.attempts + 1 < MAX_ATTEMPTS => {
                let backoff = Duration::seconds((5_i64 << queued.attempts.clamp(0, 10)).min(LONGEST_BACKOFF_S));
                tracing::warn!(error = reason, attempts = queued.attempts + 1, retry_in = %backoff, "cannot deliver; it waits for a retry");
                self.store.op_retry(queued.id, now + backoff, &reason).await
            }
            DeliveryError::Throttled(after, _) if queued.attempts + 1 < MAX_ATTEMPTS => {
                let wait = Duration::from_std(*after).unwrap_or(Duration::seconds(LONGEST_BACKOFF_S)).max(Duration::seconds(1));
                tracing::warn!(error = reason, retry_in = %wait, "the chat asks to wait; the operation waits that long");
                self.store.op_retry(queued.id, now + wait, &reason).await
            }
            DeliveryError::Gone(_) => {
                tracing::info!(error = reason, "the message is gone; dropping the operation");
                self.store.op_dead(queued.id, now, &reason).await
            }
            DeliveryError::Retry(_) | DeliveryError::Throttled(..) | DeliveryError::Permanent(_) => {
                tracing::error!(error = reason, kind = error.kind(), "cannot deliver; giving the operation up");
                self.store.op_dead(queued.id, now, &reason).await?;
                crate::metrics::op_dead();
                self.dead_letter_notice(queued, &reason, now).await
            }
        }
    }

    /// One notice per dead operation, in the ops channel; when the ops channel is what failed,
    /// the log is all there is.
    async fn dead_letter_notice(&self, queued: &Queued, reason: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let to_ops = matches!(&queued.op, Op::Post { to: Destination::Channel { channel: ChannelName::Ops }, .. });
        if to_ops || queued.lane == format!("channel:{}", ChannelName::Ops.as_str()) {
            tracing::error!(op = queued.id, reason, "a notice for the ops channel could not be delivered");
            return Ok(());
        }
        let post = super::posts::undeliverable(&queued.op.describe(), reason, queued.id);
        self.notify_ops(now, post).await
    }
}
