//! Reactions on bellhop's messages reach the core as they do from Discord: `reaction_added` and
//! `reaction_removed`, once per event however often Slack delivers it.

use super::people::Who;
use super::App;
use bellhop_commands::MessageRef;
use slack_morphism::prelude::*;

impl App {
    pub(super) async fn push(&self, event: SlackPushEventCallback) {
        let (user, name, item, added) = match event.event {
            SlackEventCallbackBody::ReactionAdded(r) => (r.user, r.reaction, r.item, true),
            SlackEventCallbackBody::ReactionRemoved(r) => (r.user, r.reaction, r.item, false),
            _ => return,
        };
        // bellhop's own reactions come back as events: they are not a person's.
        if user.0 == self.people.me {
            return;
        }
        let SlackReactionsItem::Message(item) = item else { return };
        let Some(channel) = item.origin.channel else { return };
        let message = MessageRef::new(channel.0, item.origin.ts.0);
        if !self.core.is_ours(&message).await {
            return;
        }
        // A redelivered event (no ack in time, or to another replica) is the same event: an
        // old "added" handled after a "removed" would bring a vote back.
        match self.core.claim_event(&format!("slack:event:{}", event.event_id.0)).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::error!(error = format!("{error:#}"), "cannot claim a Slack event; the next check of the post reads it");
                return;
            }
        }
        let actor = match self.people.who(&user.0, false).await {
            Ok(Who::Person(actor)) => actor,
            Ok(Who::Bot | Who::Departed(_)) => return,
            Err(error) => {
                tracing::warn!(%error, user = %user, "cannot read who reacted; the next check of the post reads it");
                self.core.recheck_plans();
                return;
            }
        };
        self.core.reaction(&actor, &message, &super::port::unicode(&name.0), added).await;
        // The reaction may have queued edits or a plan's outcome: deliver them now.
        self.core.wake();
    }
}
