//! The loop's deploy duties: the functions' versions on the statistics' schedule (one replica
//! per interval; each version recorded once, with the function's figures before it), and the
//! daily backup check (one replica a day; a post in ops when the newest backup is over 26 h).

use super::model::BACKUP_MAX_AGE;
use super::{figures, posts, Ctx};
use crate::post::{ChannelName, Destination};
use crate::store::FunctionDeploy;
use chrono::{DateTime, Duration};

/// After a failed backup read, the next try.
const BACKUP_RETRY: Duration = Duration::minutes(5);

impl Ctx<'_> {
    /// Reads the functions' versions when a poll is due and no other replica took this interval;
    /// returns how many new versions were recorded.
    pub async fn poll_deploys(&self) -> anyhow::Result<usize> {
        let Some(api) = &self.duty.api else { return Ok(0) };
        let now = self.clock.now();
        let every = self.duty.every.num_milliseconds().max(1);
        {
            let mut next = self.duty.next_poll.lock().unwrap_or_else(|e| e.into_inner());
            if next.is_some_and(|at| at > now) {
                return Ok(0);
            }
            let slot_end = (now.timestamp_millis().div_euclid(every) + 1) * every;
            *next = Some(DateTime::from_timestamp_millis(slot_end).unwrap_or(now + self.duty.every));
        }
        let slot = now.timestamp_millis().div_euclid(every);
        if !self.store.claim_event(&format!("deploys:{slot}"), now).await? {
            return Ok(0);
        }
        let functions = api.functions(now).await?;
        let mut recorded = 0;
        for function in functions.iter().filter(|f| api.watched(f)) {
            let Some(version) = function.version else { continue };
            let before = figures::snapshot(self.engine, std::slice::from_ref(&function.slug), now);
            let deploy = FunctionDeploy {
                function: function.slug.clone(),
                version,
                deployed: function.deployed_at().filter(|at| *at <= now).unwrap_or(now),
                seen: now,
                figures_before: serde_json::to_string(&before)?,
            };
            if self.store.record_deploy(&deploy).await? {
                tracing::info!(function = deploy.function, version, deployed = %deploy.deployed, "a deploy recorded");
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    /// Once a day (one replica): reads the backups and posts in ops when the newest is over 26 h.
    /// True when this replica ran the day's check.
    pub async fn check_backups(&self) -> anyhow::Result<bool> {
        let Some(api) = &self.duty.api else { return Ok(false) };
        let now = self.clock.now();
        let today = now.date_naive();
        {
            let state = self.duty.backups.lock().unwrap_or_else(|e| e.into_inner());
            if state.done == Some(today) || state.retry_at.is_some_and(|at| at > now) {
                return Ok(false);
            }
        }
        let backups = match api.backups(now).await {
            Ok(backups) => backups,
            Err(error) => {
                self.duty.backups.lock().unwrap_or_else(|e| e.into_inner()).retry_at = Some(now + BACKUP_RETRY);
                return Err(error.into());
            }
        };
        let newest = backups.newest();
        let stale = newest.is_none_or(|at| now - at > BACKUP_MAX_AGE);
        let mut tx = self.store.begin(now).await?;
        let claimed = tx.claim_work(&format!("backups:{today}")).await?;
        if claimed && stale {
            tx.post(Destination::Channel { channel: ChannelName::Ops }, posts::backup_stale(newest, backups.pitr_enabled, now)).await?;
        }
        tx.commit().await?;
        *self.duty.backups.lock().unwrap_or_else(|e| e.into_inner()) = super::BackupCheck { done: Some(today), retry_at: None };
        if claimed {
            tracing::info!(stale, newest = ?newest, "the day's backup check");
        }
        Ok(claimed)
    }
}
