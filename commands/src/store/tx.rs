//! One transaction over the store: everything a command or a timer changes lands together or
//! not at all (the incident, its timeline entry, its timers and the posts announcing it).

use super::millis;
use crate::actor::Person;
use crate::outbox::Op;
use crate::subject::Subject;
use crate::timers::Job;
use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

pub struct Tx<'a> {
    tx: Transaction<'a, Any>,
    now: DateTime<Utc>,
}

/// A new incident's fields.
pub struct NewIncident<'a> {
    pub severity: &'a str,
    pub title: &'a str,
    pub impact: &'a str,
    pub affected: &'a str,
    pub commander: &'a Person,
    pub declared_by: &'a Person,
    /// The alert it is declared from, with its figures now and the worst so far (JSON).
    pub alert: Option<(i64, String, Option<String>)>,
    /// `service` or `security`.
    pub kind: &'a str,
}

impl<'a> Tx<'a> {
    pub(super) fn new(tx: Transaction<'a, Any>, now: DateTime<Utc>) -> Self {
        Tx { tx, now }
    }

    /// The transaction's connection, for the store's other modules.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// The time the transaction is stamped with.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub async fn commit(self) -> anyhow::Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn insert_incident(&mut self, new: &NewIncident<'_>) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (severity, title, impact, affected, commander, commander_id, declared_by, declared_by_id, declared_ms,
                 alert_id, alert_figures, alert_peak, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(new.severity)
        .bind(new.title)
        .bind(new.impact)
        .bind(new.affected)
        .bind(&new.commander.name)
        .bind(&new.commander.id)
        .bind(&new.declared_by.name)
        .bind(&new.declared_by.id)
        .bind(millis(self.now))
        .bind(new.alert.as_ref().map(|(id, _, _)| *id))
        .bind(new.alert.as_ref().map(|(_, figures, _)| figures.as_str()))
        .bind(new.alert.as_ref().and_then(|(_, _, peak)| peak.as_deref()))
        .bind(new.kind)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    pub async fn set_severity(&mut self, id: i64, severity: &str) -> anyhow::Result<()> {
        sqlx::query("UPDATE incidents SET severity = $1 WHERE id = $2").bind(severity).bind(id).execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn set_commander(&mut self, id: i64, commander: &Person) -> anyhow::Result<()> {
        sqlx::query("UPDATE incidents SET commander = $1, commander_id = $2 WHERE id = $3")
            .bind(&commander.name)
            .bind(&commander.id)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records the acknowledgement; false when someone acknowledged first.
    pub async fn ack_incident(&mut self, id: i64, by: &Person) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE incidents SET acked_ms = $1, acked_by = $2, acked_by_id = $3 WHERE id = $4 AND acked_ms IS NULL")
            .bind(millis(self.now))
            .bind(&by.name)
            .bind(&by.id)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Resolves the incident; false when it was already resolved (by someone else, just now).
    pub async fn resolve_incident(&mut self, id: i64, root_cause: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE incidents SET resolved_ms = $1, root_cause = $2 WHERE id = $3 AND resolved_ms IS NULL")
            .bind(millis(self.now))
            .bind(root_cause)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_maintenance(
        &mut self,
        kind: &str,
        summary: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        by: &Person,
    ) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO maintenance (kind, summary, start_ms, end_ms, created_by, created_by_id, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(kind)
        .bind(summary)
        .bind(millis(start))
        .bind(millis(end))
        .bind(&by.name)
        .bind(&by.id)
        .bind(millis(self.now))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// False when the window had already ended or been cancelled.
    pub async fn cancel_maintenance(&mut self, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE maintenance SET cancelled_ms = $1 WHERE id = $2 AND cancelled_ms IS NULL AND end_ms > $1")
            .bind(millis(self.now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn schedule(&mut self, owner: Subject, job: &Job, due: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO timers (owner, kind, job, due_ms) VALUES ($1, $2, $3, $4)")
            .bind(owner.to_string())
            .bind(job.kind())
            .bind(serde_json::to_string(job)?)
            .bind(millis(due))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Cancels the owner's pending timers of these kinds (all kinds when `kinds` is empty).
    pub async fn cancel_timers(&mut self, owner: Subject, kinds: &[&str]) -> anyhow::Result<u64> {
        let pending = "UPDATE timers SET cancelled_ms = $1 WHERE owner = $2 AND fired_ms IS NULL AND cancelled_ms IS NULL";
        if kinds.is_empty() {
            let done = sqlx::query(pending).bind(millis(self.now)).bind(owner.to_string()).execute(&mut *self.tx).await?;
            return Ok(done.rows_affected());
        }
        let mut cancelled = 0;
        for kind in kinds {
            let sql = format!("{pending} AND kind = $3");
            let done = sqlx::query(&sql).bind(millis(self.now)).bind(owner.to_string()).bind(*kind).execute(&mut *self.tx).await?;
            cancelled += done.rows_affected();
        }
        Ok(cancelled)
    }

    /// Claims a due timer for this bellhop: true for exactly one caller, however many race.
    pub async fn claim_timer(&mut self, id: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE timers SET fired_ms = $1 WHERE id = $2 AND fired_ms IS NULL AND cancelled_ms IS NULL")
            .bind(millis(self.now))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a chat operation; it runs only after this transaction commits, in the chat its
    /// subject belongs to.
    pub async fn enqueue(&mut self, op: &Op) -> anyhow::Result<()> {
        let chat = self.chat_for(op).await?;
        sqlx::query("INSERT INTO chat_ops (lane, op, created_ms, next_attempt_ms, chat) VALUES ($1, $2, $3, $3, $4)")
            .bind(op.lane())
            .bind(serde_json::to_string(op)?)
            .bind(millis(self.now))
            .bind(chat)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// The chat an operation goes to: its subject's, which the subject's first operation records
    /// (the chat of the command that queued it, or none for the home chat); an operation about no
    /// subject goes to the command's chat.
    async fn chat_for(&mut self, op: &Op) -> anyhow::Result<Option<String>> {
        let origin = crate::chats::Origin::current();
        let Some(subject) = op.subject() else { return Ok(origin) };
        let subject = subject.to_string();
        let owner: Option<String> =
            sqlx::query_scalar("SELECT chat FROM subject_chats WHERE subject = $1").bind(&subject).fetch_optional(&mut *self.tx).await?;
        if let Some(owner) = owner {
            return Ok(Some(owner).filter(|chat| !chat.is_empty()));
        }
        sqlx::query("INSERT INTO subject_chats (subject, chat) VALUES ($1, $2)")
            .bind(&subject)
            .bind(origin.as_deref().unwrap_or_default())
            .execute(&mut *self.tx)
            .await?;
        Ok(origin)
    }

    /// Queues a plain post.
    pub async fn post(&mut self, to: crate::post::Destination, post: crate::post::Post) -> anyhow::Result<()> {
        self.enqueue(&Op::post(to, post)).await
    }
}
