//! A plan: an action with its normalised parameters and preview, who asked, when it expires,
//! and a hash of all of it, so what runs is exactly what was approved.

use super::action::{Action, Cutoff};
pub use super::effects::code;
use super::effects::{Executed, Preview, Progress};
use super::settings::RemediationSettings;
use super::{confirm, flags, rls, rollback, sessions};
use crate::actor::Person;
use crate::error::UserError;
use crate::store::PlanRow;
use crate::target_db::TargetDb;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

impl Action {
    /// The command that asked for it, as people type it.
    pub fn command(&self) -> &'static str {
        match self {
            Action::SetFlags { enable: false, .. } => "flags disable",
            Action::SetFlags { enable: true, .. } => "flags enable",
            Action::PurgeSessions { .. } => "sessions purge",
            Action::ConfirmStuck { .. } => "auth confirm-stuck",
            Action::RollbackMigration { .. } => "migrations rollback",
            Action::RlsLockdown => "rls lockdown",
            Action::RlsRestore { .. } => "rls restore",
        }
    }

    /// What it will do, in a sentence.
    pub fn describe(&self) -> String {
        match self {
            Action::SetFlags { names, enable, reason } => {
                let verb = if *enable { "Enable" } else { "Disable" };
                let why = reason.as_ref().map(|r| format!(" (reason: {r})")).unwrap_or_default();
                format!("{verb} the feature flag(s) {}{why}.", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
            }
            Action::PurgeSessions { older_than_secs, user, before } => {
                let age = age(*older_than_secs);
                let whose = user.as_ref().map(|u| format!(" of the user `{u}`")).unwrap_or_default();
                let cutoff = frozen(*before);
                format!("Delete the sessions{whose} created more than {age} ago{cutoff}, with their refresh tokens and MFA claims.")
            }
            Action::ConfirmStuck { older_than_secs, before } => {
                let age = age(*older_than_secs);
                let cutoff = frozen(*before);
                format!("Confirm the email of email users who signed up more than {age} ago{cutoff} and are still unconfirmed.")
            }
            Action::RollbackMigration { version, file, .. } => format!(
                "Roll back the migration `{version}`: run `{file}` and delete the version from \
                 supabase_migrations.schema_migrations in one transaction, committed only if users and tenants hold."
            ),
            Action::RlsLockdown => "Revoke every privilege anon holds on the public tables (the runbook's emergency REVOKE), \
                 then check as anon that public.users is refused."
                .to_string(),
            Action::RlsRestore { lockdown, grants } => {
                format!("Grant anon back the {} privilege(s) that {}'s lockdown revoked.", grants.len(), code(*lockdown))
            }
        }
    }

    /// Completes the parameters before the preview — an undo names what it undoes, an age
    /// becomes the time it means now on the target's clock (the clock its rows were stamped
    /// with) — so the plan approved is the whole plan.
    pub async fn resolve(
        self,
        store: &crate::store::Store,
        settings: &RemediationSettings,
        target: &TargetDb,
    ) -> Result<Action, UserError> {
        let now = match self {
            Action::PurgeSessions { .. } | Action::ConfirmStuck { .. } => target.now().await.map_err(|e| UserError::new(e.to_string()))?,
            _ => DateTime::<Utc>::default(),
        };
        let cutoff = |secs: i64| chrono::Duration::try_seconds(secs).and_then(|age| now.checked_sub_signed(age));
        match self {
            Action::PurgeSessions { older_than_secs, user, .. } => {
                Ok(Action::PurgeSessions { older_than_secs, user, before: cutoff(older_than_secs) })
            }
            Action::ConfirmStuck { older_than_secs, .. } => Ok(Action::ConfirmStuck { older_than_secs, before: cutoff(older_than_secs) }),
            Action::RollbackMigration { version, .. } => rollback::resolve(version, settings).await,
            Action::RlsRestore { .. } => {
                let (lockdown, grants) = rls::resolve_restore(store).await?;
                Ok(Action::RlsRestore { lockdown, grants })
            }
            other => Ok(other),
        }
    }

    /// Counts what it would touch, read-only; an unknown flag or user is the person's mistake.
    pub async fn preview(&self, target: &TargetDb) -> Result<Preview, UserError> {
        match self {
            Action::SetFlags { names, enable, .. } => flags::preview(target, names, *enable).await,
            Action::PurgeSessions { older_than_secs, user, before } => {
                sessions::preview(target, Cutoff::new(*before, *older_than_secs), user.as_deref()).await
            }
            Action::ConfirmStuck { older_than_secs, before } => confirm::preview(target, Cutoff::new(*before, *older_than_secs)).await,
            Action::RollbackMigration { version, file, bytes, sha256, .. } => {
                rollback::preview(target, version, file, *bytes, sha256).await
            }
            Action::RlsLockdown => rls::preview_lockdown(target).await,
            Action::RlsRestore { lockdown, grants } => rls::preview_restore(target, *lockdown, grants).await,
        }
    }

    /// What the drift guard compares with the approved preview just before the action runs: the
    /// rows it would touch. A purge counts its sessions alone: the preview's refresh tokens and
    /// MFA claims cost two joins over tables of a million rows, and the guard reads neither.
    pub async fn recount(&self, target: &TargetDb) -> Result<Preview, UserError> {
        match self {
            Action::PurgeSessions { older_than_secs, user, before } => {
                sessions::recount(target, Cutoff::new(*before, *older_than_secs), user.as_deref()).await
            }
            _ => self.preview(target).await,
        }
    }

    /// Runs it on the target; `approved` is the preview people approved, `fresh` the one the
    /// drift guard just made. The error is one sentence. Once its change is committed, an action
    /// is done: a read-back that fails says so in its verification, never as a failure.
    pub async fn execute(
        &self,
        target: &TargetDb,
        settings: &RemediationSettings,
        approved: &Preview,
        fresh: &Preview,
        progress: &dyn Progress,
    ) -> Result<Executed, String> {
        match self {
            Action::SetFlags { names, enable, .. } => flags::execute(target, names, *enable).await,
            Action::PurgeSessions { older_than_secs, user, before } => {
                // No more than was approved, give or take the drift guard's margin.
                let most = approved.rows.saturating_add(settings.margin(approved.rows));
                let cutoff = Cutoff::new(*before, *older_than_secs);
                sessions::execute(target, cutoff, user.as_deref(), settings.purge_batch, fresh.rows, most, progress).await
            }
            Action::ConfirmStuck { older_than_secs, before } => confirm::execute(target, Cutoff::new(*before, *older_than_secs)).await,
            Action::RollbackMigration { version, sha256, .. } => rollback::execute(target, settings, version, sha256).await,
            Action::RlsLockdown => rls::lockdown(target).await,
            Action::RlsRestore { grants, .. } => rls::restore(target, grants).await,
        }
    }
}

/// How a plan ended, stored before it is posted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub rows: i64,
    pub figures: BTreeMap<String, i64>,
    pub verification: String,
    pub duration_ms: i64,
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved: Option<serde_json::Value>,
}

/// A plan read back from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub id: i64,
    pub action: Action,
    pub preview: Preview,
    pub requester: Person,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub hash: String,
    pub state: super::PlanState,
    pub outcome: Option<Outcome>,
    /// The incident in whose thread it was asked.
    pub incident: Option<i64>,
    /// Approvals needed when not the configured number (break-glass).
    pub quorum: Option<i64>,
    /// When its approvals first reached quorum: a plan approved before its expiry may still run.
    pub quorum_at: Option<DateTime<Utc>>,
}

impl Plan {
    pub fn code(&self) -> String {
        code(self.id)
    }

    /// Whether its approvals reached quorum before it expired (the check still has to confirm them).
    pub fn approved_in_time(&self) -> bool {
        self.quorum_at.is_some_and(|at| at < self.expires)
    }

    /// Distinct approvals it needs.
    pub fn needed(&self, settings: &RemediationSettings) -> usize {
        self.quorum.and_then(|q| usize::try_from(q).ok()).unwrap_or(settings.approvals_required)
    }

    /// Whether the stored fields still hash to what was approved.
    pub fn intact(&self) -> bool {
        hash(&self.action, &self.preview, &self.requester, self.created, self.expires) == self.hash
    }

    /// The action as it runs: a plan stored before cutoffs were frozen gets the cutoff its age
    /// meant when it was made. (Its hash covers the action as stored.)
    pub fn runnable_action(&self) -> Action {
        let cutoff = |secs: i64| chrono::Duration::try_seconds(secs).and_then(|age| self.created.checked_sub_signed(age));
        match self.action.clone() {
            Action::PurgeSessions { older_than_secs, user, before: None } => {
                Action::PurgeSessions { older_than_secs, user, before: cutoff(older_than_secs) }
            }
            Action::ConfirmStuck { older_than_secs, before: None } => {
                Action::ConfirmStuck { older_than_secs, before: cutoff(older_than_secs) }
            }
            action => action,
        }
    }

    /// The plan `id` as stored, if there is one.
    pub async fn from_stored(store: &crate::store::Store, id: i64) -> anyhow::Result<Option<Plan>> {
        store.plan(id).await?.map(Plan::from_row).transpose()
    }

    pub(crate) fn from_row(row: PlanRow) -> anyhow::Result<Plan> {
        Ok(Plan {
            id: row.id,
            action: serde_json::from_str(&row.params)?,
            preview: serde_json::from_str(&row.preview)?,
            requester: row.requester,
            created: row.created,
            expires: row.expires,
            hash: row.hash,
            state: row.state.parse().map_err(anyhow::Error::msg)?,
            outcome: row.outcome.as_deref().map(serde_json::from_str).transpose()?,
            incident: row.incident,
            quorum: row.quorum,
            quorum_at: row.quorum_at,
        })
    }
}

/// An age as people say it: `7 days`, `1 day 3 h`.
/// The absolute cutoff an age became when the plan was made: what approvers approve, since it
/// does not move while they decide or while the plan runs.
fn frozen(before: Option<chrono::DateTime<chrono::Utc>>) -> String {
    before.map(|at| format!(" (before <time:{}:f>)", at.timestamp())).unwrap_or_default()
}

fn age(secs: i64) -> String {
    crate::text::span(chrono::Duration::try_seconds(secs).unwrap_or(chrono::Duration::MAX))
}

/// SHA-256 over the plan's canonical JSON (action, parameters, preview, requester, times).
pub fn hash(action: &Action, preview: &Preview, requester: &Person, created: DateTime<Utc>, expires: DateTime<Utc>) -> String {
    let canonical = serde_json::json!({
        "action": action,
        "preview": preview,
        "requester": requester.id,
        "created_ms": created.timestamp_millis(),
        "expires_ms": expires.timestamp_millis(),
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_needs_both_margins() {
        let settings = RemediationSettings::default();
        assert!(!settings.drifted(1_000, 1_100), "100 rows is within the margin");
        assert!(settings.drifted(1_000, 1_101));
        assert!(!settings.drifted(50, 149), "99 rows more is within the 100-row margin");
        assert!(!settings.drifted(100_000, 109_000), "9 % is within the margin");
        assert!(settings.drifted(100_000, 110_001));
        assert!(!settings.drifted(i64::MAX, i64::MIN), "no overflow");
    }

    #[test]
    fn ages_read_as_people_say_them() {
        let week = Action::PurgeSessions { older_than_secs: 7 * 86_400, user: None, before: None };
        assert!(week.describe().starts_with("Delete the sessions created more than 7 days ago,"), "{}", week.describe());
        let odd = Action::ConfirmStuck { older_than_secs: 86_400 + 3 * 3_600, before: None };
        assert!(odd.describe().contains("more than 1 day 3 h ago"), "{}", odd.describe());
        let huge = Action::ConfirmStuck { older_than_secs: i64::MAX, before: None }.describe();
        assert!(huge.contains("days"), "no overflow: {huge}");
    }

    #[test]
    fn the_hash_covers_every_parameter() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let alice = Person::new("shell:alice", "alice");
        let action = Action::SetFlags { names: vec!["a".into()], enable: false, reason: None };
        let preview = Preview { rows: 1, ..Preview::default() };
        let one = hash(&action, &preview, &alice, at, at);
        let other = Action::SetFlags { names: vec!["b".into()], enable: false, reason: None };
        assert_ne!(one, hash(&other, &preview, &alice, at, at));
        assert_ne!(one, hash(&action, &Preview { rows: 2, ..Preview::default() }, &alice, at, at));
        assert_eq!(one, hash(&action, &preview, &Person::new("shell:alice", "someone else"), at, at), "names are only shown");
    }

    #[test]
    fn a_rollback_plan_stored_without_its_sql_keeps_its_hash() {
        let stored = r#"{"action":"rollback_migration","version":"1","file":"1.down.sql","bytes":9,"sha256":"ab"}"#;
        let action: Action = serde_json::from_str(stored).unwrap();
        assert!(matches!(&action, Action::RollbackMigration { sql, .. } if sql.is_empty()));
        assert_eq!(serde_json::to_string(&action).unwrap(), stored, "the same JSON, so the same hash");
        let Action::RollbackMigration { version, file, bytes, sha256, .. } = action else { unreachable!() };
        let with_sql = Action::RollbackMigration { version, file, bytes, sha256, sql: "SELECT 1;".into() };
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let alice = Person::new("shell:alice", "alice");
        let without: Action = serde_json::from_str(stored).unwrap();
        let preview = Preview::default();
        assert_ne!(hash(&with_sql, &preview, &alice, at, at), hash(&without, &preview, &alice, at, at), "the hash covers the SQL");
    }
}
