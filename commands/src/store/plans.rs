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
    pub incident: Option<i64>,
    pub quorum: Option<i64>,
    /// When its approvals first reached quorum, if they did.
    pub quorum_at: Option<DateTime<Utc>>,
    /// When it started running, if it did.
    pub started: Option<DateTime<Utc>>,
    /// When it was decided: done, failed, rejected or expired.
    pub finished: Option<DateTime<Utc>>,
}

/// The plans table's row, column for column.
#[derive(sqlx::FromRow)]
struct Record {
    id: i64,
    action: String,
    params: String,
    preview: String,
    requester_id: String,
    requester_name: String,
    created_ms: i64,
    expires_ms: i64,
    hash: String,
    state: String,
    outcome: Option<String>,
    incident_id: Option<i64>,
    quorum: Option<i64>,
    quorum_ms: Option<i64>,
    started_ms: Option<i64>,
    finished_ms: Option<i64>,
}

impl From<Record> for PlanRow {
    fn from(r: Record) -> PlanRow {
        PlanRow {
            id: r.id,
            action: r.action,
            params: r.params,
            preview: r.preview,
            requester: Person::new(r.requester_id, r.requester_name),
            created: from_millis(r.created_ms),
            expires: from_millis(r.expires_ms),
            hash: r.hash,
            state: r.state,
            outcome: r.outcome,
            incident: r.incident_id,
            quorum: r.quorum,
            quorum_at: r.quorum_ms.map(from_millis),
            started: r.started_ms.map(from_millis),
            finished: r.finished_ms.map(from_millis),
        }
    }
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
    pub incident: Option<i64>,
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

/// How a vote changed when the post's reactions were read again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteChange {
    /// On the post, not recorded before (given while bellhop was down).
    Seen(Vote),
    /// Recorded, no longer on the post.
    Gone(Vote),
    /// Still there, but counted differently (the person's roles changed).
    Rejudged(Vote),
}

const PLAN_COLUMNS: &str = "id, action, params, preview, requester_id, requester_name, created_ms, expires_ms, hash, state, outcome,
     incident_id, quorum, quorum_ms, started_ms, finished_ms";

/// One person's vote, once: a repeated one changes nothing.
fn insert_vote(plan: i64, vote: &Vote, now: DateTime<Utc>) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments<'_>> {
    sqlx::query(
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
}

impl Tx<'_> {
    pub async fn insert_plan(&mut self, new: &NewPlan<'_>) -> anyhow::Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO plans (action, params, preview, requester_id, requester_name, created_ms, expires_ms, hash, incident_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(new.action)
        .bind(new.params)
        .bind(new.preview)
        .bind(&new.requester.id)
        .bind(&new.requester.name)
        .bind(millis(new.created))
        .bind(millis(new.expires))
        .bind(new.hash)
        .bind(new.incident)
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

    /// pending → executing, only if it was approved before its expiry (its quorum reached in
    /// time, else now): true for exactly one caller, who holds the plan until `lease` (and
    /// extends it while it runs).
    pub async fn claim_plan(&mut self, id: i64, now: DateTime<Utc>, lease: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE plans SET state = 'executing', started_ms = $2, lease_ms = $3, check_ms = NULL, version = version + 1
             WHERE id = $1 AND state = 'pending' AND expires_ms > COALESCE(quorum_ms, $2)",
        )
        .bind(id)
        .bind(millis(now))
        .bind(millis(lease))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// pending → `state` (rejected, expired): false when it had already moved on.
    pub async fn close_pending_plan(&mut self, id: i64, state: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE plans SET state = $2, finished_ms = $3, check_ms = NULL, version = version + 1 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(state)
        .bind(millis(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// executing → `state` (done, failed, aborted) with its outcome. A plan marked interrupted
    /// because its runner went quiet too long gets its real outcome when the runner comes back.
    pub async fn finish_plan(&mut self, id: i64, state: &str, outcome: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "UPDATE plans SET state = $2, outcome = $3, finished_ms = $4, lease_ms = NULL, version = version + 1
             WHERE id = $1 AND state IN ('executing', 'interrupted')",
        )
        .bind(id)
        .bind(state)
        .bind(outcome)
        .bind(millis(now))
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lowers the approvals a pending plan needs (break-glass); false when it is no longer pending.
    pub async fn set_plan_quorum(&mut self, id: i64, quorum: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET quorum = $2 WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .bind(quorum)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a vote with the rest of the transaction.
    pub async fn record_vote(&mut self, plan: i64, vote: &Vote, now: DateTime<Utc>) -> anyhow::Result<bool> {
        Ok(insert_vote(plan, vote, now).execute(self.conn()).await?.rows_affected() == 1)
    }

    /// Claims the right to write what a check read from the post: false when a vote changed
    /// since `version` was read (a reaction landed while the post was read), and then what was
    /// read may be older than the votes.
    pub async fn votes_unchanged_since(&mut self, id: i64, version: i64) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET version = version + 1 WHERE id = $1 AND version = $2 AND state = 'pending'")
            .bind(id)
            .bind(version)
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes the recorded votes with these `emojis` what the post shows now (other votes, like a
    /// break-glass, are not reactions and stay): added, taken back, or judged anew (a role given
    /// or taken away). Returns what changed.
    pub async fn replace_votes(&mut self, plan: i64, emojis: &[&str], now_on_post: &[Vote]) -> anyhow::Result<Vec<VoteChange>> {
        let now = self.now();
        let mut recorded = self.votes(plan).await?;
        recorded.retain(|v| emojis.contains(&v.emoji.as_str()));
        let same = |a: &Vote, b: &Vote| a.person.id == b.person.id && a.emoji == b.emoji;
        let mut changes = Vec::new();
        for old in &recorded {
            match now_on_post.iter().find(|new| same(old, new)) {
                None => {
                    self.remove_vote(plan, &old.person, &old.emoji).await?;
                    changes.push(VoteChange::Gone(old.clone()));
                }
                Some(new) if new.counted != old.counted || new.reason != old.reason => {
                    sqlx::query("UPDATE plan_votes SET counted = $4, reason = $5 WHERE plan_id = $1 AND person_id = $2 AND emoji = $3")
                        .bind(plan)
                        .bind(&new.person.id)
                        .bind(&new.emoji)
                        .bind(i64::from(new.counted))
                        .bind(&new.reason)
                        .execute(self.conn())
                        .await?;
                    changes.push(VoteChange::Rejudged(new.clone()));
                }
                Some(_) => {}
            }
        }
        for new in now_on_post.iter().filter(|new| !recorded.iter().any(|old| same(old, new))) {
            if self.record_vote(plan, new, now).await? {
                changes.push(VoteChange::Seen(new.clone()));
            }
        }
        Ok(changes)
    }

    /// Withdraws a vote with the rest of the transaction; false when there was none.
    pub async fn remove_vote(&mut self, plan: i64, person: &Person, emoji: &str) -> anyhow::Result<bool> {
        Ok(delete_vote(plan, person, emoji).execute(self.conn()).await?.rows_affected() == 1)
    }

    /// The plan's votes as this transaction sees them.
    pub async fn votes(&mut self, plan: i64) -> anyhow::Result<Vec<Vote>> {
        Ok(select_votes(plan).fetch_all(self.conn()).await?.into_iter().map(vote).collect())
    }

    /// Asks for a check of the plan's reactions: its approvals reached quorum at `at` (kept from
    /// the first time, so a plan approved in time still runs when its check comes later).
    pub async fn want_plan_check(&mut self, id: i64, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET check_ms = $2, quorum_ms = COALESCE(quorum_ms, $2) WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .bind(millis(at))
            .execute(self.conn())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

fn delete_vote<'a>(plan: i64, person: &'a Person, emoji: &'a str) -> sqlx::query::Query<'a, sqlx::Any, sqlx::any::AnyArguments<'a>> {
    sqlx::query("DELETE FROM plan_votes WHERE plan_id = $1 AND person_id = $2 AND emoji = $3").bind(plan).bind(&person.id).bind(emoji)
}

type VoteRow = (String, String, String, i64, String);

fn select_votes(plan: i64) -> sqlx::query::QueryAs<'static, sqlx::Any, VoteRow, sqlx::any::AnyArguments<'static>> {
    sqlx::query_as("SELECT person_id, person_name, emoji, counted, reason FROM plan_votes WHERE plan_id = $1 ORDER BY at_ms, person_id")
        .bind(plan)
}

fn vote((id, name, emoji, counted, reason): VoteRow) -> Vote {
    Vote { person: Person::new(id, name), emoji, counted: counted != 0, reason }
}

impl Store {
    pub async fn plan(&self, id: i64) -> anyhow::Result<Option<PlanRow>> {
        let row: Option<Record> =
            sqlx::query_as(&format!("SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(PlanRow::from))
    }

    /// Asks for a check of the plan's reactions in a transaction of its own (see [`Tx::want_plan_check`]).
    pub async fn want_plan_check(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let mut tx = self.begin(at).await?;
        let wanted = tx.want_plan_check(id, at).await?;
        tx.commit().await?;
        Ok(wanted)
    }

    /// Every pending plan is checked against its post (unless a check is already due): what a
    /// bellhop that was down or disconnected missed.
    pub async fn want_all_plan_checks(&self, at: DateTime<Utc>) -> anyhow::Result<u64> {
        let done = sqlx::query("UPDATE plans SET check_ms = $1 WHERE state = 'pending' AND (check_ms IS NULL OR check_ms > $1)")
            .bind(millis(at))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// The check found fewer approvals than the quorum (a role taken away, a ✅ withdrawn): the
    /// plan waits for a new quorum.
    pub async fn quorum_lost(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE plans SET quorum_ms = NULL WHERE id = $1 AND state = 'pending'").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// A check could not read the plan's post; returns how many in a row failed.
    pub async fn plan_check_failed(&self, id: i64) -> anyhow::Result<i64> {
        sqlx::query("UPDATE plans SET check_failures = check_failures + 1 WHERE id = $1").bind(id).execute(self.pool()).await?;
        Ok(sqlx::query_scalar("SELECT check_failures FROM plans WHERE id = $1").bind(id).fetch_one(self.pool()).await?)
    }

    /// A check read the post: the failures in a row start again from none.
    pub async fn plan_check_read(&self, id: i64) -> anyhow::Result<()> {
        sqlx::query("UPDATE plans SET check_failures = 0 WHERE id = $1 AND check_failures > 0").bind(id).execute(self.pool()).await?;
        Ok(())
    }

    /// The plan's first write to the target starts now: from here, a stop means "interrupted".
    /// False when the plan is no longer executing (its lease ran out and it was marked): then it
    /// must not start.
    pub async fn plan_writing(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET writing_ms = $2 WHERE id = $1 AND state = 'executing'")
            .bind(id)
            .bind(millis(at))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims the checks due by `now` until `until`: one statement, so one bellhop gets each.
    /// Only plans of `chats` are claimed: another chat's wait for a process that reads its posts.
    pub async fn claim_plan_checks(
        &self,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        chats: &crate::chats::ChatFilter,
    ) -> anyhow::Result<Vec<i64>> {
        let chat = "(SELECT chat FROM subject_chats WHERE subject = 'plan:' || CAST(plans.id AS TEXT))";
        let sql = format!(
            "UPDATE plans SET check_ms = $2 WHERE state = 'pending' AND check_ms <= $1 AND {} RETURNING id",
            super::outbox::chat_condition(chat, chats, 3)
        );
        let mut query = sqlx::query_scalar(&sql).bind(millis(now)).bind(millis(until));
        for name in super::outbox::chat_names(chats) {
            query = query.bind(name);
        }
        let mut ids: Vec<i64> = query.fetch_all(self.pool()).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// A finished check: nothing more to do unless a reaction asked again meanwhile.
    pub async fn end_plan_check(&self, id: i64, claimed_until: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE plans SET check_ms = NULL WHERE id = $1 AND check_ms = $2")
            .bind(id)
            .bind(millis(claimed_until))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The runner of an executing plan is still at it.
    /// False when the plan is no longer executing: its lease ran out and it was marked.
    pub async fn extend_plan_lease(&self, id: i64, until: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE plans SET lease_ms = $2 WHERE id = $1 AND state = 'executing'")
            .bind(id)
            .bind(millis(until))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every plan whose runner let its lease run out: executing → interrupted when its first
    /// write had started (`interrupted` is its outcome), else → aborted (`unstarted`): it changed
    /// nothing. Returns them.
    pub async fn interrupt_stale_plans(&self, now: DateTime<Utc>, interrupted: &str, unstarted: &str) -> anyhow::Result<Vec<i64>> {
        let mut ids: Vec<i64> = Vec::new();
        for (state, outcome, started) in [("interrupted", interrupted, "IS NOT NULL"), ("aborted", unstarted, "IS NULL")] {
            let sql = format!(
                "UPDATE plans SET state = $2, outcome = $3, finished_ms = $1, version = version + 1
                 WHERE state = 'executing' AND COALESCE(lease_ms, 0) <= $1 AND writing_ms {started} RETURNING id"
            );
            let found: Vec<i64> = sqlx::query_scalar(&sql).bind(millis(now)).bind(state).bind(outcome).fetch_all(self.pool()).await?;
            ids.extend(found);
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// The plan's version: it moves with every change of its votes or state.
    pub async fn plan_version(&self, id: i64) -> anyhow::Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT version FROM plans WHERE id = $1").bind(id).fetch_optional(self.pool()).await?)
    }

    /// The check read the post while a vote changed: it runs again at the next pass.
    pub async fn check_again(&self, id: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE plans SET check_ms = $2 WHERE id = $1 AND state = 'pending'")
            .bind(id)
            .bind(millis(at))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Plans still waiting for approval at `now`, newest first.
    pub async fn pending_plans(&self, now: DateTime<Utc>, limit: i64) -> anyhow::Result<Vec<PlanRow>> {
        let rows: Vec<Record> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plans WHERE state = 'pending' AND expires_ms > $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(millis(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(PlanRow::from).collect())
    }

    /// The last plan of `action` (as typed: `rls lockdown`) that ran to the end.
    pub async fn latest_done_plan(&self, action: &str) -> anyhow::Result<Option<PlanRow>> {
        let row: Option<Record> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plans WHERE action = $1 AND state = 'done' ORDER BY finished_ms DESC, id DESC LIMIT 1"
        ))
        .bind(action)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(PlanRow::from))
    }

    /// Plans alive between `from` and `to` (an incident's life), oldest first: asked for, run or
    /// decided in it, or still waiting or running through it — one asked for before the
    /// incident but run during it included.
    pub async fn plans_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> anyhow::Result<Vec<PlanRow>> {
        let rows: Vec<Record> = sqlx::query_as(&format!(
            "SELECT {PLAN_COLUMNS} FROM plans
             WHERE created_ms <= $2
               AND (created_ms >= $1 OR finished_ms >= $1 OR (finished_ms IS NULL AND (started_ms IS NOT NULL OR expires_ms >= $1)))
             ORDER BY id"
        ))
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(PlanRow::from).collect())
    }

    /// Records a vote; false when this person's vote with this emoji was already there.
    pub async fn record_vote(&self, plan: i64, vote: &Vote, now: DateTime<Utc>) -> anyhow::Result<bool> {
        Ok(insert_vote(plan, vote, now).execute(self.pool()).await?.rows_affected() == 1)
    }

    /// Withdraws a vote; false when there was none.
    pub async fn remove_vote(&self, plan: i64, person: &Person, emoji: &str) -> anyhow::Result<bool> {
        Ok(delete_vote(plan, person, emoji).execute(self.pool()).await?.rows_affected() == 1)
    }

    /// A plan's votes, first come first.
    pub async fn votes(&self, plan: i64) -> anyhow::Result<Vec<Vote>> {
        Ok(select_votes(plan).fetch_all(self.pool()).await?.into_iter().map(vote).collect())
    }
}
