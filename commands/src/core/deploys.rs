//! The core's share of the deploy feature: its context, the Management API it polls, and the
//! loop's step that records deploys and checks the backups.

use crate::core::Core;

impl Core {
    /// What the deploy feature is handed.
    pub(crate) fn deploy_ctx(&self) -> crate::deploy::Ctx<'_> {
        crate::deploy::Ctx {
            ctx: &self.ctx,
            duty: &self.deploys,
            engine: self.alerts.alert_engine(),
            health: &self.health,
            rollbacks_dir: self.remediation.rollbacks_dir.as_deref(),
        }
    }

    /// The Supabase Management API (`SUPABASE_API_URL`) and how often to poll it: the
    /// functions' versions, and the day's backup check. None: neither happens.
    pub fn with_management(
        mut self,
        management: Option<(crate::management_api::ManagementSettings, std::time::Duration)>,
    ) -> anyhow::Result<Self> {
        self.deploys = crate::deploy::DeployDuty::new(management)?;
        Ok(self)
    }

    /// The loop's step: records new function versions when a poll is due, then the day's backup
    /// check. Returns how many deploys were recorded.
    pub async fn poll_platform(&self) -> anyhow::Result<usize> {
        let cx = self.deploy_ctx();
        let recorded = cx.poll_deploys().await;
        let backups = cx.check_backups().await;
        let recorded = recorded?;
        backups?;
        Ok(recorded)
    }
}
