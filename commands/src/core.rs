//! The core: parses, checks access, runs, audits, and turns failures into one sentence.

use crate::actor::Actor;
use crate::clock::Clock;
use crate::command::{self, Command, Invocation};
use crate::error::CommandError;
use crate::health::{HealthChecker, HealthSettings, Sweep};
use crate::incident::IncidentSettings;
use crate::post::{Post, Reply};
use crate::store::{AuditEntry, Store};
use crate::templates::Templates;
use std::sync::Arc;

pub struct Core {
    pub(crate) health: HealthChecker,
    pub(crate) templates: Templates,
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) incidents: IncidentSettings,
}

impl Core {
    pub fn new(health: HealthSettings, templates: Templates, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        Ok(Core { health: HealthChecker::new(health)?, templates, store, clock, incidents: IncidentSettings::default() })
    }

    /// Who is paged and how the runbook's clock runs (default: the runbook's own).
    pub fn with_incident_settings(mut self, incidents: IncidentSettings) -> Self {
        self.incidents = incidents;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn template_names(&self) -> &[String] {
        self.templates.names()
    }

    /// One health sweep, for `bellhop check` and for commands that validate.
    pub async fn sweep(&self) -> Sweep {
        self.health.sweep().await
    }

    /// Parses and runs what a person typed; every failure becomes a reply only they see.
    pub async fn handle(&self, actor: &Actor, invocation: &Invocation) -> Reply {
        let result = match Command::parse(invocation) {
            Ok(command) => self.execute(actor, command, invocation.channel.as_deref()).await,
            Err(error) => Err(error.into()),
        };
        let (reply, outcome) = match result {
            Ok(reply) => (reply, "ok".to_string()),
            Err(CommandError::User(error)) => (Reply::invoker(Post::error(error.message())), format!("refused: {error}")),
            Err(CommandError::Internal(error)) => {
                let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
                tracing::error!(reference, command = invocation.name(), error = format!("{error:#}"), "command failed");
                let sentence = format!("Something went wrong on bellhop's side (ref {reference}); the details are in its log.");
                (Reply::invoker(Post::error(sentence)), format!("error {reference}"))
            }
        };
        self.audit(actor, invocation, outcome).await;
        reply
    }

    /// Runs a parsed command for `actor`, typed in `channel`, after checking they may.
    pub async fn execute(&self, actor: &Actor, command: Command, channel: Option<&str>) -> Result<Reply, CommandError> {
        let spec = command.spec();
        if !spec.access.allows(actor) {
            return Err(CommandError::user(format!("`/{}` is for {}; ask an admin for the role.", spec.name, spec.access.describe())));
        }
        match command {
            Command::Help => Ok(command::help(actor)),
            Command::Health => command::health(&self.health).await,
            Command::TemplateList => Ok(command::template_list(&self.templates)),
            Command::TemplateShow { name } => command::template_show(&self.templates, &name),
            Command::Incident(command) => crate::incident::run(self, actor, channel, command).await,
            Command::Maintenance(command) => crate::maintenance::run(self, actor, command).await,
        }
    }

    /// A reaction on one of bellhop's messages. Recorded for the audit trail; approvals build on it.
    pub async fn reaction(&self, actor: &Actor, message: &str, emoji: &str, added: bool) {
        let verb = if added { "react" } else { "unreact" };
        let invocation = Invocation::new(&format!("{verb} {message} {emoji}"));
        let roles: Vec<&str> = actor.roles.iter().map(|r| r.as_str()).collect();
        let roles = if roles.is_empty() { "no role".to_string() } else { roles.join(", ") };
        self.audit(actor, &invocation, format!("ok, by a person with {roles}")).await;
    }

    async fn audit(&self, actor: &Actor, invocation: &Invocation, outcome: String) {
        let entry = AuditEntry {
            at: self.clock.now(),
            actor_id: actor.id.clone(),
            actor_name: actor.name.clone(),
            command: crate::text::ellipsize(&format!("/{}", invocation.name()), 200),
            outcome: crate::text::ellipsize(&outcome, 500),
        };
        if let Err(error) = self.store.record_audit(&entry).await {
            tracing::warn!(error = format!("{error:#}"), "cannot record the audit entry");
        }
    }
}
