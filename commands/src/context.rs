//! What a feature works with: the store, the clock, the runbook's texts, the production database,
//! and a way to ask for a tick. Features take a `&Context` (and their own settings) instead of
//! the whole core, so they know nothing of the loop, the adapters or each other's state.

use crate::clock::Clock;
use crate::store::Store;
use crate::target_db::TargetDb;
use crate::templates::Templates;
use std::sync::Arc;

pub struct Context {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub templates: Templates,
    /// The production database the diagnostics read and approved plans write, when configured.
    pub target: Option<TargetDb>,
    /// Said on every audit row this process writes (who sits at a shell, a rehearsal).
    pub audit_note: Option<String>,
    /// Rung when a tick is wanted soon.
    wakeup: Arc<tokio::sync::Notify>,
}

impl Context {
    pub fn new(store: Store, clock: Arc<dyn Clock>, templates: Templates) -> Self {
        Context { store, clock, templates, target: None, audit_note: None, wakeup: Default::default() }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn target(&self) -> Option<&TargetDb> {
        self.target.as_ref()
    }

    /// Who did it, as an audit row names them.
    pub fn audit_name(&self, name: &str) -> String {
        match &self.audit_note {
            Some(note) => format!("{name} · {note}"),
            None => name.to_string(),
        }
    }

    /// Asks for a tick soon: a command queued posts, samples or a webhook arrived.
    pub fn wake(&self) {
        self.wakeup.notify_one();
    }

    /// What rings [`Context::wake`], for a task that outlives a borrow of the context.
    pub(crate) fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wakeup.clone()
    }

    /// Resolves when someone asked for a tick since the last one was asked for.
    pub async fn woken(&self) {
        self.wakeup.notified().await
    }
}
