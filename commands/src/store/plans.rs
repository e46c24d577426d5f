//! Remediation plans and their votes: every state change is one conditional UPDATE, so a plan
//! runs at most once however many reaction events, replicas or restarts race for it.

use super::{from_millis, millis, Store, Tx};
use crate::actor::Person;
use chrono::{DateTime, Utc};

/// A plan as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanRow {
    pub id: i64,
    pub action: String,
    pub params: String,
    pub preview: String,
    pub requester: Person,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub hash: String,
    pub state: String,
    pub outcome: Option<String>,
}

/// A new plan's fields.
pub struct NewPlan<'a> {
    pub action: &'a str,
    pub params: &'a str,
    pub preview: &'a str,
    pub requester: &'a Person,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub hash: &'a str,
}

/// One person's ✅ or ❌ on a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub person: Person,
    pub emoji: String,
    pub counted: bool,
    /// Why it was not counted (empty when counted).
    pub reason: String,
}

type Row = (i64, String, String, String, String, String, i64, i64, String, String, Option<String>);

const PLAN_COLUMNS: &str = "id, action, params, preview, requester_id, requester_name, created_ms, expires_ms, hash, state, outcome";

fn plan_row(row: Row) -> PlanRow {
    let (id, action, params, preview, requester_id, requester_name, created, expires, hash, state, outcome) = row;
    PlanRow {
        id,
        action,
        params,
        preview,
        requester: Person::new(requester_id, requester_name),
        created: from_millis(created),
        expires: from_millis(expires),
        hash,
        state,
        outcome,
    }
}

impl Tx<'_> {
    pub async fn insert_plan(&mut self, new: &NewPlan<'_>) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (action, params, preview, requester_id, requester_name, created_ms, expires_ms, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(new.action)
        .bind(new.params)
        .bind(new.preview)
        .bind(&new.requester.id)
        .bind(&new.requester.name)
        .bind(millis(new.created))
        .bind(millis(new.expires))
        .bind(new.hash)
        .fetch_one(self.conn())
        .await?;
        Ok(id)
    }

    /// Takes the plan's row for an edit of its post while it is still pending: false when it
    /// moved on. On PostgreSQL the row stays locked until commit, so edits queue in state order.
    pub async fn touch_pending_plan(&mut self, id: i64) -> anyhow::Result<bool> {
        let done =
            sqlx::query("UPDATE plans SET version = version + 1 WHERE id = $1 AND state = 'pending'").bind(id).execute(self.conn()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// pending → executing, only before expiry: true for exactly one caller.
    pub async fn claim_plan(&mut self, id: i64, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE plans SET state = 'executing', started_ms = $2, version = version + 1
             WHERE id = $1 AND state = 'pending' AND expires_ms > $2",
        )
        .bind(id)
        .bind(millis(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// pending → `state` (rejected, expired): false when it had already moved on.
    pub async fn close_pending_plan(&mut self, id: i64, state: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET state = $2, finished_ms = $3, version = version + 1 WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .bind(state)
            .bind(millis(now))
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// executing → `state` (done, failed, aborted) with its outcome.
    pub async fn finish_plan(&mut self, id: i64, state: &str, outcome: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE plans SET state = $2, outcome = $3, finished_ms = $4, version = version + 1
             WHERE id = $1 AND state = 'executing'",
        )
        .bind(id)
        .bind(state)
        .bind(outcome)
        .bind(millis(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    pub async fn plan(&self, id: i64) -> anyhow::Result<Option<PlanRow>> {
        let row: Option<Row> =
            sqlx::query_as(&format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(plan_row))
    }

    /// The last plan of `action` (as typed: `rls lockdown`) that ran to the end.
    pub async fn latest_done_plan(&self, action: &str) -> anyhow::Result<Option<PlanRow>> {
        let row: Option<Row> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plans WHERE action = $1 AND state = 'done' ORDER BY finished_ms DESC, id DESC LIMIT 1"
        ))
        .bind(action)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(plan_row))
    }

    /// Plans asked for between `from` and `to` (an incident's life), oldest first.
    pub async fn plans_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> anyhow::Result<Vec<PlanRow>> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("SELECT {PLAN_COLUMNS} FROM plans WHERE created_ms >= $1 AND created_ms <= $2 ORDER BY id"))
                .bind(millis(from))
                .bind(millis(to))
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(plan_row).collect())
    }

    /// Records a vote; false when this person's vote with this emoji was already there.
    pub async fn record_vote(&self, plan: i64, vote: &Vote, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO plan_votes (plan_id, person_id, person_name, emoji, counted, reason, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (plan_id, person_id, emoji) DO NOTHING",
        )
        .bind(plan)
        .bind(&vote.person.id)
        .bind(&vote.person.name)
        .bind(&vote.emoji)
        .bind(i64::from(vote.counted))
        .bind(&vote.reason)
        .bind(millis(now))
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Withdraws a vote; false when there was none.
    pub async fn remove_vote(&self, plan: i64, person: &Person, emoji: &str) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM plan_votes WHERE plan_id = $1 AND person_id = $2 AND emoji = $3")
            .bind(plan)
            .bind(&person.id)
            .bind(emoji)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A plan's votes, first come first.
    pub async fn votes(&self, plan: i64) -> anyhow::Result<Vec<Vote>> {
        let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
            "SELECT person_id, person_name, emoji, counted, reason FROM plan_votes WHERE plan_id = $1 ORDER BY at_ms, person_id",
        )
        .bind(plan)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, emoji, counted, reason)| Vote { person: Person::new(id, name), emoji, counted: counted != 0, reason })
            .collect())
    }
}
