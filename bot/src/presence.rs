//! Which adapter delivers a store's posts. The outbox is one queue per store: a bot and a shell on
//! one store would each deliver the other's approval posts and pages, to the wrong place. Each
//! says on the store that it is there, renewing a lease while it runs, and neither starts on a
//! store the other holds. Leases are kept in wall-clock time, whatever clock the core runs on.

use crate::config::ConfigError;
use bellhop_commands::Core;
use std::sync::Arc;
use std::time::Duration;

/// How long a presence outlives its last renewal (a process killed with -9).
const HELD_FOR: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    Discord,
    Shell,
}

impl Adapter {
    fn lease(self) -> &'static str {
        match self {
            Adapter::Discord => "chat",
            Adapter::Shell => "chat:shell",
        }
    }

    fn other(self) -> Adapter {
        match self {
            Adapter::Discord => Adapter::Shell,
            Adapter::Shell => Adapter::Discord,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Adapter::Discord => "`bellhop run`",
            Adapter::Shell => "a `bellhop shell`",
        }
    }
}

/// This process's presence on its store; given up by [`Presence::release`] or when the process
/// stops renewing it.
pub struct Presence {
    core: Arc<Core>,
    adapter: Adapter,
    renewing: tokio::task::JoinHandle<()>,
}

/// Says on the store that `adapter` runs on it, unless the other adapter does: then the error
/// names it and nothing is held.
pub async fn claim(core: &Arc<Core>, adapter: Adapter) -> anyhow::Result<Presence> {
    let other = adapter.other();
    if let Some(holder) = core.store().lease_holder(other.lease(), chrono::Utc::now()).await? {
        return Err(ConfigError(vec![format!(
            "BELLHOP_DATABASE_URL: {} (replica {holder}) is using this store; {} on it would deliver its posts to the wrong place. Give each a store of its own.",
            other.name(),
            adapter.name(),
        )])
        .into());
    }
    hold(core, adapter).await;
    let renewing = tokio::spawn({
        let core = core.clone();
        async move {
            loop {
                tokio::time::sleep(HELD_FOR / 3).await;
                hold(&core, adapter).await;
            }
        }
    });
    Ok(Presence { core: core.clone(), adapter, renewing })
}

async fn hold(core: &Core, adapter: Adapter) {
    let now = chrono::Utc::now();
    let until = now + chrono::Duration::from_std(HELD_FOR).unwrap_or_default();
    if let Err(error) = core.store().hold_lease(adapter.lease(), core.replica(), now, until).await {
        tracing::warn!(error = format!("{error:#}"), "cannot say on the store that this adapter runs on it");
    }
}

impl Presence {
    /// A clean stop: the other adapter may start on the store at once.
    pub async fn release(self) {
        self.renewing.abort();
        if let Err(error) = self.core.store().release_lease(self.adapter.lease(), self.core.replica()).await {
            tracing::warn!(error = format!("{error:#}"), "cannot give the store's presence lease up");
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
