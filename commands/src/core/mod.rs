//! The core: parses, checks access, runs, audits, and turns failures into one sentence.

mod delivery;
mod deploys;
mod dispatch;
mod plan_runs;
mod posts;
mod tick;

pub use tick::TickReport;

use crate::actor::Actor;
use crate::chat_port::MessageRef;
use crate::clock::Clock;
use crate::command::spec::{CommandSpec, Suggest};
use crate::command::{self, Command, Invocation};
use crate::context::Context;
use crate::error::CommandError;
use crate::health::{HealthChecker, HealthSettings, Sweep};
use crate::incident::IncidentSettings;
use crate::incident::ListState;
use crate::outbox::Part;
use crate::post::{Post, Reply};
use crate::store::{AuditEntry, Store};
use crate::subject::{Subject, SubjectKind};

/// The reaction on an alert's post that declares an incident from it.
const DECLARE_EMOJI: &str = "🚨";
use crate::target_db::TargetDb;
use crate::templates::Templates;
use std::sync::Arc;
use tracing::Instrument as _;

pub struct Core {
    pub(crate) ctx: Context,
    pub(crate) health: HealthChecker,
    pub(crate) incidents: IncidentSettings,
    pub(crate) alerts: crate::alerts::AlertDuty,
    pub(crate) remediation: crate::remediation::RemediationSettings,
    /// The Management API's deploys and backups (`deploys.rs`).
    pub(crate) deploys: crate::deploy::DeployDuty,
    /// When every pending plan was last read against its post (none: at the next pass).
    pub(crate) plans_rechecked: std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    /// The pass over the plans to check running beside the loop, if any.
    pub(crate) plan_pass: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Approved plans running, each in a task of its own, and how many may run at once.
    pub(crate) plan_runs: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
    pub(crate) plan_slots: Arc<tokio::sync::Semaphore>,
    /// How long handled events, delivered operations and reactions are kept.
    pub(crate) retention: chrono::Duration,
    /// The last day this process ran (or saw run) the retention job.
    pub(crate) pruned_day: std::sync::Mutex<Option<chrono::NaiveDate>>,
    /// People whose suggestion is reading the target now.
    pub(crate) suggesting: dashmap::DashSet<String>,
    /// Counts the reaction events handled (see [`Core::reactions_handled`]).
    reactions_handled: tokio::sync::watch::Sender<u64>,
}

impl Core {
    /// What maintenance is handed.
    pub(crate) fn maintenance_ctx(&self) -> crate::maintenance::Ctx<'_> {
        crate::maintenance::Ctx { ctx: &self.ctx, health: &self.health, notice_before: self.incidents.maintenance_notice }
    }

    /// What the incident feature is handed.
    pub(crate) fn incident_ctx(&self) -> crate::incident::Ctx<'_> {
        crate::incident::Ctx { ctx: &self.ctx, settings: &self.incidents }
    }
}

/// The alert duties, as the loop and the adapters reach them.
impl Core {
    /// What the alert duties are handed.
    pub fn alerting(&self) -> crate::alerts::Alerting<'_> {
        crate::alerts::Alerting { ctx: &self.ctx, duty: &self.alerts, health: &self.health, on_call: self.incidents.on_call.as_ref() }
    }

    /// The rules and the sweep interval (default: the runbook's rules, a sweep every 5 minutes).
    pub fn with_alerts(mut self, settings: crate::alerts::AlertSettings, sweep_every: std::time::Duration) -> Self {
        self.alerts = crate::alerts::AlertDuty::new(settings, sweep_every, self.ctx.clock.clone());
        self
    }

    /// The alert engine, for the HTTP ingest to feed.
    pub fn alert_engine(&self) -> &Arc<crate::alerts::AlertEngine> {
        self.alerts.alert_engine()
    }

    /// This process's name among replicas.
    pub fn replica(&self) -> &str {
        self.alerts.replica()
    }

    pub fn next_sweep(&self) -> chrono::DateTime<chrono::Utc> {
        self.alerts.next_sweep()
    }

    pub fn skip_sweeps_until(&self, from: chrono::DateTime<chrono::Utc>) {
        self.alerts.skip_sweeps_until(from)
    }

    pub async fn run_sweeps(&self) -> anyhow::Result<usize> {
        self.alerting().run_sweeps().await
    }

    pub async fn evaluate_alerts(&self) -> anyhow::Result<usize> {
        self.alerting().evaluate_alerts().await
    }

    pub async fn release_alerts(&self) {
        self.alerting().release_alerts().await
    }

    pub fn alerts_busy(&self) -> bool {
        self.alerting().alerts_busy()
    }

    pub async fn receive_webhook(&self, notification: &crate::alerts::Notification) -> anyhow::Result<crate::alerts::Receipt> {
        self.alerting().receive_webhook(notification).await
    }

    pub async fn announce_webhooks(&self) -> anyhow::Result<usize> {
        self.alerting().announce_webhooks().await
    }
}

/// The core lends its context to whatever is handed the core.
impl std::ops::Deref for Core {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl Core {
    pub fn new(health: HealthSettings, templates: Templates, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let alerts = crate::alerts::AlertDuty::new(Default::default(), std::time::Duration::from_secs(300), clock.clone());
        Ok(Core {
            ctx: Context::new(store, clock, templates),
            health: HealthChecker::new(health),
            incidents: IncidentSettings::default(),
            alerts,
            remediation: Default::default(),
            deploys: Default::default(),
            plans_rechecked: Default::default(),
            plan_pass: Default::default(),
            plan_runs: Default::default(),
            plan_slots: Arc::new(tokio::sync::Semaphore::new(crate::remediation::RUNNING_PLANS)),
            retention: chrono::Duration::days(30),
            pruned_day: Default::default(),
            suggesting: Default::default(),
            reactions_handled: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Adds `note` to who did it on every audit row this process writes: the shell's login and
    /// uid, or that it is a rehearsal, so the audit never passes one keyboard off as many people.
    pub fn with_audit_note(mut self, note: impl Into<String>) -> Self {
        self.ctx.audit_note = Some(note.into());
        self
    }

    /// How long handled events, delivered operations and reactions are kept (default 30 days).
    pub fn with_retention(mut self, retention: std::time::Duration) -> Self {
        self.retention = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
        self
    }

    /// Prunes what is older than the retention, once a day (one replica a day).
    pub async fn prune_when_due(&self) -> anyhow::Result<u64> {
        let now = self.clock.now();
        let today = now.date_naive();
        if *self.pruned_day.lock().unwrap_or_else(|e| e.into_inner()) == Some(today) {
            return Ok(0);
        }
        let claimed = self.store.claim_event(&format!("retention:{today}"), now).await?;
        *self.pruned_day.lock().unwrap_or_else(|e| e.into_inner()) = Some(today);
        if !claimed {
            return Ok(0);
        }
        let pruned = self.store.prune(now - self.retention).await?;
        tracing::info!(pruned, "the retention job pruned old rows");
        Ok(pruned)
    }

    /// Who is paged and how the runbook's clock runs (default: the runbook's own).
    pub fn with_incident_settings(mut self, incidents: IncidentSettings) -> Self {
        self.incidents = incidents;
        self
    }

    /// The production database the diagnostics read, when configured.
    pub fn with_target(mut self, target: Option<TargetDb>) -> Self {
        self.ctx.target = target;
        self
    }

    /// How the approval gate decides (default: two approvers, 15 minutes).
    pub fn with_remediation(mut self, remediation: crate::remediation::RemediationSettings) -> Self {
        self.remediation = remediation;
        self
    }

    /// One health sweep, for `bellhop check` and for commands that validate.
    pub async fn sweep(&self) -> Sweep {
        self.health.sweep().await
    }

    /// Parses and runs what a person typed; every failure becomes a reply only they see.
    pub async fn handle(&self, actor: &Actor, invocation: &Invocation) -> Reply {
        let span = tracing::info_span!("command", name = %invocation.name(), actor = %actor.id, channel = invocation.channel.as_deref());
        let started = std::time::Instant::now();
        let result = match Command::parse(invocation) {
            Ok((command, spec)) => {
                let running = self.execute(actor, command, spec, invocation.channel.as_deref()).instrument(span);
                crate::chats::Origin::scope(invocation.chat.clone(), running).await
            }
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
        if let Some(spec) = invocation.spec() {
            crate::metrics::command_took(spec.name, started.elapsed());
        }
        reply
    }

    /// Runs a parsed command for `actor`, typed in `channel`, after checking they may.
    async fn execute(&self, actor: &Actor, command: Command, spec: &CommandSpec, channel: Option<&str>) -> Result<Reply, CommandError> {
        if !spec.access.allows(actor) {
            return Err(CommandError::user(format!("`/{}` is for {}; ask an admin for the role.", spec.name, spec.access.describe())));
        }
        // Each command's future is boxed at its own size: inline, every command in flight would
        // carry the largest one's state (13 KB), and a burst of `/health` allocates, and faults
        // in, that much per interaction.
        match command {
            Command::Help => Ok(command::help(actor)),
            Command::Health => Box::pin(command::health(&self.health)).await,
            Command::TemplateList => Ok(command::template_list(&self.templates)),
            Command::TemplateShow { name } => command::template_show(&self.templates, &name),
            Command::Incident(command) => Box::pin(crate::incident::run(&self.incident_ctx(), actor, channel, command)).await,
            Command::Maintenance(command) => Box::pin(crate::maintenance::run(&self.maintenance_ctx(), actor, command)).await,
            Command::Outbox(command) => Box::pin(command::outbox_run(self, actor, command)).await,
            Command::Diagnose(which) => Box::pin(command::diagnose_run(self, which)).await,
            Command::AuditRecent { limit } => Box::pin(command::audit_recent_run(self, limit)).await,
            Command::Remediate(request) => Box::pin(crate::remediation::run(&self.remediation_ctx(), actor, channel, request)).await,
            Command::Deploy(command) => Box::pin(crate::deploy::run(&self.deploy_ctx(), actor, command)).await,
            Command::BreakGlass { plan, reason } => {
                Box::pin(crate::remediation::break_glass::run(&self.remediation_ctx(), actor, plan, &reason)).await
            }
        }
    }

    /// Runs a command for something nobody typed (an alert, a webhook): as bellhop itself,
    /// audited under `source`.
    pub async fn system(&self, source: &str, invocation: &Invocation) -> Reply {
        self.handle(&Actor::system(source), invocation).await
    }

    /// Claims an inbound event (a Discord interaction, a webhook delivery) for this replica:
    /// true for exactly one caller, so two bellhops on one store act on it once.
    pub async fn claim_event(&self, key: &str) -> anyhow::Result<bool> {
        self.store.claim_event(key, self.clock.now()).await
    }

    /// Whether a message is one bellhop posted: adapters drop reactions on anything else before
    /// spending a request on who reacted.
    pub async fn is_ours(&self, message: &MessageRef) -> bool {
        self.store.is_our_message(message).await.unwrap_or_else(|error| {
            tracing::warn!(error = format!("{error:#}"), "cannot look a message up; treating it as not bellhop's");
            false
        })
    }

    /// A person's reaction on one of bellhop's messages. Recorded once however often the event
    /// arrives; what it means is up to the message's subject (approvals build on it).
    pub async fn reaction(&self, actor: &Actor, message: &MessageRef, emoji: &str, added: bool) -> ReactionOutcome {
        let span = tracing::info_span!("reaction", actor = %actor.id, message = %message.message, emoji, added);
        let outcome = self.record_reaction(actor, message, emoji, added).instrument(span).await.unwrap_or_else(|error| {
            tracing::error!(error = format!("{error:#}"), "cannot record a reaction");
            ReactionOutcome::Failed
        });
        self.reactions_handled.send_modify(|handled| *handled += 1);
        outcome
    }

    /// How many reaction events this core has handled (recorded, repeated, or not its own), for
    /// whoever waits on one: an adapter's tests wait on this, not on the store.
    pub fn reactions_handled(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reactions_handled.subscribe()
    }

    async fn record_reaction(&self, actor: &Actor, message: &MessageRef, emoji: &str, added: bool) -> anyhow::Result<ReactionOutcome> {
        let Some(binding) = self.store.message_binding(message).await? else {
            if !self.store.is_our_message(message).await? {
                return Ok(ReactionOutcome::NotOurs);
            }
            self.audit(actor, &reaction_invocation(message, emoji, added), reaction_outcome(actor, None)).await;
            return Ok(ReactionOutcome::Recorded);
        };
        // What it is about is read before the transaction: with SQLite it holds the one connection.
        let plan = match (binding.subject.kind, binding.role) {
            (SubjectKind::Plan, Part::Approval) => crate::remediation::Plan::from_stored(&self.store, binding.subject.id).await?,
            _ => None,
        };
        let waits = match binding.subject.kind {
            SubjectKind::Checklist => Some(crate::deploy::reasons_to_wait(&self.deploy_ctx(), self.clock.now()).await?),
            _ => None,
        };
        let declares = added && emoji == DECLARE_EMOJI && binding.subject.kind == SubjectKind::Alert;
        let effect = declares
            .then(|| Effect::Declare { alert: binding.subject.id, roles: actor.roles.iter().map(|r| r.as_str().to_string()).collect() });
        let effect = effect.map(|e| serde_json::to_string(&e)).transpose()?;
        // The reaction, its audit entry and what it changes (a vote, the post, a check to run)
        // commit together: a repeated event changes nothing, a failed one is not half-recorded.
        let mut tx = self.store.begin(self.clock.now()).await?;
        let changed = match added {
            true => tx.add_reaction(message, &actor.person(), emoji, effect.as_deref()).await?,
            false => tx.remove_reaction(message, &actor.person(), emoji).await?,
        };
        if !changed {
            tx.commit().await?;
            return Ok(ReactionOutcome::Repeated);
        }
        tx.audit(&self.entry(actor, &reaction_invocation(message, emoji, added), reaction_outcome(actor, Some(binding.subject)))).await?;
        if let Some(plan) = &plan {
            if let Some(said) = crate::remediation::on_reaction(&self.remediation_ctx(), &mut tx, plan, actor, emoji, added).await? {
                tx.audit(&crate::remediation::audit_entry(&self.remediation_ctx(), actor, plan.id, said)).await?;
            }
        }
        if let Some(waits) = &waits {
            let id = binding.subject.id;
            if let Some(said) = crate::deploy::on_reaction(&self.deploy_ctx(), &mut tx, id, actor, emoji, added, waits).await? {
                tracing::info!(checklist = id, said, "a checklist's item changed");
            }
        }
        tx.commit().await?;
        if declares {
            self.declare_from_alert(actor, message, emoji, binding.subject.id).await;
        }
        Ok(ReactionOutcome::Recorded)
    }

    /// 🚨 on an alert's post: the person who reacted declares a P1 from it, as if they had typed
    /// `/incident declare from_alert:N`, unless an open incident was declared from it already;
    /// a person without the role is refused in the audit. Done, the reaction's effect is cleared;
    /// failed, it is retried by the loop.
    async fn declare_from_alert(&self, actor: &Actor, message: &MessageRef, emoji: &str, alert: i64) {
        let declared = async {
            let Some(found) = self.store.alert(alert).await? else { return anyhow::Ok(()) };
            if let Some(open) = self.store.incidents(ListState::Open, 100).await?.into_iter().find(|i| i.alert_id == Some(alert)) {
                let said = format!("ok: alert {alert} is already {}", open.code());
                self.audit(actor, &reaction_invocation(message, emoji, true), said).await;
                return Ok(());
            }
            let invocation = Invocation::new("incident declare")
                .option("severity", "P1")
                .option("title", crate::text::ellipsize(&found.figures.title(), 100))
                .option("from_alert", alert.to_string());
            let reply = self.handle(actor, &invocation).await;
            tracing::info!(alert, outcome = %reply.post.title, "declare from an alert's 🚨");
            Ok(())
        };
        let result = match declared.await {
            Ok(()) => self.store.reaction_effect_done(message, &actor.person(), emoji).await,
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            tracing::warn!(alert, error = format!("{error:#}"), "a 🚨 could not declare its incident yet; the loop tries again");
        }
    }

    /// Runs again the effects of reactions that did not finish (bellhop stopped, the store
    /// failed): a 🚨's declaration. Returns how many it tried.
    pub async fn retry_reaction_effects(&self) -> anyhow::Result<usize> {
        let waiting = self.store.reaction_effects(self.clock.now() - chrono::Duration::seconds(30)).await?;
        for (message, person, emoji, effect) in &waiting {
            match serde_json::from_str::<Effect>(effect) {
                Ok(Effect::Declare { alert, roles }) => {
                    let actor = Actor::new(person.id.clone(), person.name.clone(), roles.iter().filter_map(|r| r.parse().ok()));
                    self.declare_from_alert(&actor, message, emoji, alert).await;
                }
                Err(error) => {
                    tracing::error!(%error, "a reaction's effect does not read; dropping it");
                    self.store.reaction_effect_done(message, person, emoji).await?;
                }
            }
        }
        Ok(waiting.len())
    }

    /// Suggestions for an option while `actor` types it: (label, value), at most 25. Only
    /// people with a bellhop role get any; a suggestion that reads the target runs at most once
    /// per person at a time (a fast typist gets nothing for the keystrokes in between), so
    /// typing never starves the diagnostics, let alone an approved plan, of connections.
    pub async fn suggest(&self, actor: &Actor, source: Suggest, partial: &str) -> Vec<(String, String)> {
        if !actor.has_any_role() {
            return Vec::new();
        }
        let typed = partial;
        let partial = partial.to_lowercase();
        let candidates: Vec<(String, String)> = match source {
            // The target filters and shapes these itself: a list keeps the names typed before.
            Suggest::FlagNames => {
                let Some(target) = &self.target else { return Vec::new() };
                let Some(_turn) = Turn::take(&self.suggesting, &actor.id) else { return Vec::new() };
                return crate::remediation::flags::suggest(target, typed).await;
            }
            Suggest::Templates => self.templates.names().iter().map(|n| (n.clone(), n.clone())).collect(),
            Suggest::OpenIncidents | Suggest::AnyIncident => {
                let state = if source == Suggest::OpenIncidents { ListState::Open } else { ListState::All };
                let found = self.store.incidents(state, 100).await.unwrap_or_else(|error| {
                    tracing::warn!(error = format!("{error:#}"), "cannot list incidents for suggestions");
                    Vec::new()
                });
                found.into_iter().map(|i| (format!("{} · {} · {}", i.code(), i.severity, i.title), i.code())).collect()
            }
            Suggest::PendingPlans => {
                let found = self.store.pending_plans(self.clock.now(), 100).await.unwrap_or_default();
                let label = |p: &crate::store::PlanRow| {
                    format!("{} · /{} · asked by @{}", crate::remediation::plan::code(p.id), p.action, p.requester.name)
                };
                found.iter().map(|p| (label(p), crate::remediation::plan::code(p.id))).collect()
            }
            Suggest::Outbox => {
                let found = self.store.outbox_entries(100).await.unwrap_or_default();
                found.into_iter().map(|e| (format!("#{} · {}", e.id, e.what), e.id.to_string())).collect()
            }
        };
        candidates
            .into_iter()
            .filter(|(label, _)| label.to_lowercase().contains(&partial))
            .take(25)
            .map(|(label, value)| (crate::text::ellipsize(&label, 100), value))
            .collect()
    }

    async fn audit(&self, actor: &Actor, invocation: &Invocation, outcome: String) {
        if let Err(error) = self.store.record_audit(&self.entry(actor, invocation, outcome)).await {
            tracing::warn!(error = format!("{error:#}"), "cannot record the audit entry");
        }
    }

    fn entry(&self, actor: &Actor, invocation: &Invocation, outcome: String) -> AuditEntry {
        AuditEntry {
            at: self.clock.now(),
            actor_id: actor.id.clone(),
            actor_name: self.audit_name(&actor.name),
            command: crate::text::ellipsize(&format!("/{}", invocation.name()), 200),
            outcome: crate::text::ellipsize(&outcome, 500),
        }
    }
}

/// What a reaction still sets off once recorded, kept with it until done.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Effect {
    /// 🚨 on an alert's post: declare an incident from it, as the person with these roles.
    Declare { alert: i64, roles: Vec<String> },
}

/// A reaction as the audit names it: `/react 12 ✅`.
fn reaction_invocation(message: &MessageRef, emoji: &str, added: bool) -> Invocation {
    let verb = if added { "react" } else { "unreact" };
    Invocation::new(&format!("{verb} {} {emoji}", message.message))
}

/// How the audit says a reaction went: what it was on, and the roles of who gave it.
fn reaction_outcome(actor: &Actor, subject: Option<Subject>) -> String {
    let about = subject.map(|s| format!(" on {s}")).unwrap_or_default();
    let roles: Vec<&str> = actor.roles.iter().map(|r| r.as_str()).collect();
    let roles = if roles.is_empty() { "no role".to_string() } else { roles.join(", ") };
    format!("ok{about}, by a person with {roles}")
}

/// One person's suggestion reading the target, while it runs.
struct Turn<'a> {
    running: &'a dashmap::DashSet<String>,
    person: String,
}

impl<'a> Turn<'a> {
    /// None while that person already has one running.
    fn take(running: &'a dashmap::DashSet<String>, person: &str) -> Option<Turn<'a>> {
        running.insert(person.to_string()).then(|| Turn { running, person: person.to_string() })
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.running.remove(&self.person);
    }
}

/// What became of a reaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReactionOutcome {
    /// On a message bellhop did not post: ignored.
    NotOurs,
    /// Recorded (and audited).
    Recorded,
    /// The same reaction arrived before (a retry, another replica): nothing changed.
    Repeated,
    /// bellhop could not record it; the log says why.
    Failed,
}
