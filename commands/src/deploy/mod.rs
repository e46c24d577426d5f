//! The runbook's *Testing & Validation*, *Edge Function Rollback* step 1 and *Backup & Recovery*:
//! the pre-deploy checklist that checks itself (`checklist.rs`), deploys marked and validated
//! (`validate.rs`), which function version went out when (read from the Management API on the
//! statistics' schedule, `poll.rs`), and the database's backups with a daily check.

pub mod checklist;
pub mod figures;
pub mod model;
mod poll;
pub mod posts;
mod store;
mod validate;

use crate::actor::Actor;
use crate::alerts::AlertEngine;
use crate::error::CommandError;
use crate::management_api::{ManagementApi, ManagementSettings};
use crate::post::Reply;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::path::Path;
use std::sync::Mutex;

pub use store::Mark;

/// What `/deploy …`, `/functions recent` and `/backups` were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeployCommand {
    Checklist { what: String },
    Check { item: usize },
    Done { what: String },
    Validate { minutes: usize },
    FunctionsRecent { limit: i64 },
    Backups,
}

/// The Management API and the schedule of its polls: the functions' versions, and the day's
/// backup check. Without `SUPABASE_ACCESS_TOKEN` there is nothing to poll.
pub(crate) struct DeployDuty {
    pub api: Option<ManagementApi>,
    every: Duration,
    next_poll: Mutex<Option<DateTime<Utc>>>,
    backups: Mutex<BackupCheck>,
}

#[derive(Default)]
struct BackupCheck {
    /// The day this replica ran the check (or saw another run it).
    done: Option<NaiveDate>,
    /// After a failed read, not before this.
    retry_at: Option<DateTime<Utc>>,
}

impl DeployDuty {
    pub fn new(management: Option<(ManagementSettings, std::time::Duration)>) -> anyhow::Result<DeployDuty> {
        let (api, every) = match management {
            Some((settings, every)) => (Some(ManagementApi::new(settings)?), Duration::from_std(every).unwrap_or(Duration::minutes(1))),
            None => (None, Duration::minutes(1)),
        };
        Ok(DeployDuty { api, every: every.max(Duration::seconds(1)), next_poll: Mutex::new(None), backups: Default::default() })
    }
}

impl Default for DeployDuty {
    fn default() -> Self {
        DeployDuty { api: None, every: Duration::minutes(1), next_poll: Mutex::new(None), backups: Default::default() }
    }
}

/// What the deploy commands and duties work with.
pub(crate) struct Ctx<'a> {
    pub ctx: &'a crate::context::Context,
    pub duty: &'a DeployDuty,
    pub engine: &'a AlertEngine,
    pub health: &'a crate::health::HealthChecker,
    pub rollbacks_dir: Option<&'a Path>,
}

impl std::ops::Deref for Ctx<'_> {
    type Target = crate::context::Context;

    fn deref(&self) -> &Self::Target {
        self.ctx
    }
}

pub(crate) async fn run(cx: &Ctx<'_>, actor: &Actor, command: DeployCommand) -> Result<Reply, CommandError> {
    let now = cx.clock.now();
    match command {
        DeployCommand::Checklist { what } => checklist::start(cx, actor, what).await,
        DeployCommand::Check { item } => checklist::check(cx, actor, item).await,
        DeployCommand::Done { what } => validate::mark(cx, actor, what).await,
        DeployCommand::Validate { minutes } => validate::validate(cx, minutes).await,
        DeployCommand::FunctionsRecent { limit } => {
            let deploys = cx.store.recent_deploys(limit).await?;
            Ok(Reply::invoker(posts::functions_recent(&deploys, now, cx.duty.api.is_some())))
        }
        DeployCommand::Backups => {
            let Some(api) = &cx.duty.api else {
                return Err(CommandError::user(
                    "bellhop reads backups from the Supabase Management API: set SUPABASE_ACCESS_TOKEN and SUPABASE_PROJECT_REF.",
                ));
            };
            let backups = api.backups(now).await.map_err(|e| CommandError::user(format!("Cannot read the backups: {e}.")))?;
            Ok(Reply::invoker(posts::backups(&backups, now)))
        }
    }
}

pub(crate) use checklist::on_reaction;
pub(crate) use checklist::reasons_to_wait;
