//! Where things live in the chat: which subject each delivered message belongs to, each
//! subject's own place, people's reactions, and inbound events already handled.

use super::{millis, Store, Tx};
use crate::actor::Person;
use crate::chat_port::MessageRef;
use crate::outbox::Binding;
use crate::subject::Subject;
use chrono::{DateTime, Utc};

impl Store {
    /// Records a delivered message, bound to its subject when it has one. A key seen before
    /// (the shell numbers messages afresh on each run) now means the new message.
    pub async fn record_message(&self, message: &MessageRef, binding: Option<&Binding>, now: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO messages (channel_key, message_key, subject, role, at_ms) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (channel_key, message_key) DO UPDATE SET subject = excluded.subject, role = excluded.role, at_ms = excluded.at_ms",
        )
        .bind(&message.channel)
        .bind(&message.message)
        .bind(binding.map(|b| b.subject.to_string()))
        .bind(binding.map(|b| b.role.as_str()))
        .bind(millis(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Whether bellhop posted this message (through its outbox).
    pub async fn is_our_message(&self, message: &MessageRef) -> anyhow::Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM messages WHERE channel_key = $1 AND message_key = $2")
            .bind(&message.channel)
            .bind(&message.message)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    /// The subject and part a message was posted for.
    pub async fn message_binding(&self, message: &MessageRef) -> anyhow::Result<Option<Binding>> {
        let row: Option<(Option<String>, Option<String>)> =
            sqlx::query_as("SELECT subject, role FROM messages WHERE channel_key = $1 AND message_key = $2")
                .bind(&message.channel)
                .bind(&message.message)
                .fetch_optional(self.pool())
                .await?;
        let Some((Some(subject), Some(role))) = row else { return Ok(None) };
        let subject = subject.parse().map_err(|e| anyhow::anyhow!("a message's subject `{subject}` does not read: {e}"))?;
        let role = role.parse().map_err(|_| anyhow::anyhow!("a message's part `{role}` is not one bellhop knows"))?;
        Ok(Some(Binding { subject, role }))
    }

    /// The newest message bound to `binding`.
    pub async fn bound_message(&self, binding: &Binding) -> anyhow::Result<Option<MessageRef>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT channel_key, message_key FROM messages WHERE subject = $1 AND role = $2 ORDER BY at_ms DESC LIMIT 1")
                .bind(binding.subject.to_string())
                .bind(binding.role.as_str())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(channel, message)| MessageRef { channel, message }))
    }

    /// Makes `channel_key` the subject's own place (an incident's thread).
    pub async fn set_place(&self, subject: Subject, channel_key: &str) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO places (subject, channel_key) VALUES ($1, $2)
             ON CONFLICT (subject) DO UPDATE SET channel_key = excluded.channel_key",
        )
        .bind(subject.to_string())
        .bind(channel_key)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn place_of(&self, subject: Subject) -> anyhow::Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT channel_key FROM places WHERE subject = $1")
            .bind(subject.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// The subjects whose place is `channel_key` (a thread, `#inc-3`), newest first.
    pub async fn subjects_in(&self, channel_key: &str) -> anyhow::Result<Vec<Subject>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT subject FROM places WHERE channel_key = $1").bind(channel_key).fetch_all(self.pool()).await?;
        let mut subjects: Vec<Subject> = rows.iter().filter_map(|s| s.parse().ok()).collect();
        subjects.sort_by(|a, b| b.cmp(a));
        Ok(subjects)
    }

    /// Records a person's reaction; false when it was already there (a repeated event).
    pub async fn add_reaction(&self, message: &MessageRef, person: &Person, emoji: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.begin(now).await?;
        let added = tx.add_reaction(message, person, emoji, None).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Reactions whose effect (a declaration) is still to do, given before `before`.
    pub async fn reaction_effects(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<(MessageRef, Person, String, String)>> {
        let rows: Vec<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT channel_key, message_key, person_id, person_name, emoji, effect FROM reactions
             WHERE effect IS NOT NULL AND at_ms < $1 ORDER BY at_ms LIMIT 20",
        )
        .bind(millis(before))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(channel, message, id, name, emoji, effect)| (MessageRef { channel, message }, Person { id, name }, emoji, effect))
            .collect())
    }

    /// A reaction's effect is done.
    pub async fn reaction_effect_done(&self, message: &MessageRef, person: &Person, emoji: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE reactions SET effect = NULL WHERE channel_key = $1 AND message_key = $2 AND person_id = $3 AND emoji = $4")
            .bind(&message.channel)
            .bind(&message.message)
            .bind(&person.id)
            .bind(emoji)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Who reacted to a message with `emoji`, first come first.
    pub async fn reactions_on(&self, message: &MessageRef, emoji: &str) -> anyhow::Result<Vec<Person>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT person_id, person_name FROM reactions WHERE channel_key = $1 AND message_key = $2 AND emoji = $3 ORDER BY at_ms, person_id",
        )
        .bind(&message.channel)
        .bind(&message.message)
        .bind(emoji)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(|(id, name)| Person { id, name }).collect())
    }

    /// Claims an inbound event (a Discord interaction id): true for the first replica only.
    pub async fn claim_event(&self, key: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("INSERT INTO handled_events (event_key, at_ms) VALUES ($1, $2) ON CONFLICT (event_key) DO NOTHING")
            .bind(key)
            .bind(millis(now))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Tx<'_> {
    /// Records a person's reaction with what it still has to set off (`effect`, JSON); false when
    /// it was already there (a repeated event), and then nothing more happens.
    pub async fn add_reaction(&mut self, message: &MessageRef, person: &Person, emoji: &str, effect: Option<&str>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO reactions (channel_key, message_key, person_id, emoji, person_name, at_ms, effect) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (channel_key, message_key, person_id, emoji) DO NOTHING",
        )
        .bind(&message.channel)
        .bind(&message.message)
        .bind(&person.id)
        .bind(emoji)
        .bind(&person.name)
        .bind(millis(self.now()))
        .bind(effect)
        .execute(&mut *self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a person's reaction; false when it was not there.
    pub async fn remove_reaction(&mut self, message: &MessageRef, person: &Person, emoji: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM reactions WHERE channel_key = $1 AND message_key = $2 AND person_id = $3 AND emoji = $4")
            .bind(&message.channel)
            .bind(&message.message)
            .bind(&person.id)
            .bind(emoji)
            .execute(&mut *self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
