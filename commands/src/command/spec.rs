//! The command registry: every command's name, options (with their types and limits), who may
//! run it and how it is parsed. The shell parses against it, `/help` prints it, and the Discord
//! adapter builds its slash commands from it, so Discord enforces the same limits as people type.

use super::{audit_recent, deploy, diagnose, incident, maintenance, outbox, remediation, Args, Command, Invocation, Value};
use crate::actor::{Actor, Role};
use crate::error::UserError;
use crate::post::Visibility;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Anyone,
    /// Any of responder, approver, admin.
    AnyRole,
    Role(Role),
}

impl Access {
    pub fn allows(self, actor: &Actor) -> bool {
        match self {
            Access::Anyone => true,
            Access::AnyRole => actor.has_any_role(),
            Access::Role(role) => actor.has(role),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Access::Anyone => "anyone",
            Access::AnyRole => "a responder, approver or admin",
            Access::Role(Role::Responder) => "a responder",
            Access::Role(Role::Approver) => "an approver",
            Access::Role(Role::Admin) => "an admin",
        }
    }
}

/// What an option holds; adapters offer the matching input (Discord: string, choice, integer,
/// user picker) with the same limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Free text of at most `max_len` characters.
    Text { max_len: usize },
    /// One of a closed set, spelled as here.
    Choice(&'static [&'static str]),
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A person: the adapter resolves them to an id (Discord's user picker, the shell's `@name`).
    User,
}

/// Where suggestions for an option come from, while the person types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suggest {
    Templates,
    OpenIncidents,
    AnyIncident,
    Outbox,
    /// The target's feature flags; in a comma-separated list, the last name is completed.
    FlagNames,
    PendingPlans,
}

#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub kind: Kind,
    pub suggest: Option<Suggest>,
}

impl OptionSpec {
    pub const fn text(name: &'static str, description: &'static str, max_len: usize) -> Self {
        OptionSpec { name, description, required: true, kind: Kind::Text { max_len }, suggest: None }
    }

    pub const fn choice(name: &'static str, description: &'static str, choices: &'static [&'static str]) -> Self {
        OptionSpec { name, description, required: true, kind: Kind::Choice(choices), suggest: None }
    }

    pub const fn integer(name: &'static str, description: &'static str, min: i64, max: i64) -> Self {
        OptionSpec { name, description, required: true, kind: Kind::Integer { min, max }, suggest: None }
    }

    pub const fn user(name: &'static str, description: &'static str) -> Self {
        OptionSpec { name, description, required: true, kind: Kind::User, suggest: None }
    }

    pub const fn optional(self) -> Self {
        OptionSpec { required: false, ..self }
    }

    pub const fn suggest(self, suggest: Suggest) -> Self {
        OptionSpec { suggest: Some(suggest), ..self }
    }
}

/// Turns checked options into a command.
pub type Parse = fn(&Args) -> Result<Command, UserError>;

#[derive(Clone, Copy)]
pub struct CommandSpec {
    /// The words after the slash: `health`, `template show`.
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [OptionSpec],
    pub access: Access,
    /// Whether its answer is for the whole channel (a declaration) or only the invoker (a view);
    /// adapters that must acknowledge before the answer is ready acknowledge it the same way.
    pub public: bool,
    /// Whether its answer waits on the network (a probe of the targets, a query of the target
    /// database): seconds when a target hangs. Adapters that must acknowledge within a deadline
    /// (Discord: 3 s) acknowledge these at once rather than racing the answer.
    pub waits_on_network: bool,
    pub parse: Parse,
}

impl std::fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandSpec").field("name", &self.name).finish_non_exhaustive()
    }
}

impl CommandSpec {
    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }

    /// Who will see the answer to `invocation` when all goes well: the whole channel for a public
    /// command, except a dry run, whose plan only the asker sees. (A refusal or an error is
    /// always for the invoker alone.)
    pub fn visibility(&self, invocation: &Invocation) -> Visibility {
        let dry_run = invocation
            .options
            .iter()
            .any(|(name, value)| name == DRY_RUN.name && matches!(value, Value::Text(text) if text.trim().eq_ignore_ascii_case("true")));
        if self.public && !dry_run {
            Visibility::Channel
        } else {
            Visibility::Invoker
        }
    }

    pub fn usage(&self) -> String {
        let options: Vec<String> =
            self.options.iter().map(|o| if o.required { format!("{}:…", o.name) } else { format!("[{}:…]", o.name) }).collect();
        [format!("/{}", self.name)].into_iter().chain(options).collect::<Vec<_>>().join(" ")
    }
}

const SEVERITIES: &[&str] = &["P0", "P1", "P2", "P3"];
const INCIDENT_ID: OptionSpec =
    OptionSpec::text("id", "Incident, like INC-3 (implied inside its thread)", 20).optional().suggest(Suggest::OpenIncidents);
const ANY_INCIDENT_ID: OptionSpec = INCIDENT_ID.suggest(Suggest::AnyIncident);
const OUTBOX_ID: OptionSpec = OptionSpec::integer("id", "Outbox id, as /outbox list shows it", 1, i64::MAX).suggest(Suggest::Outbox);
const DRY_RUN: OptionSpec =
    OptionSpec::choice("dry_run", "true: show the plan and its preview only; nothing is asked, nothing runs", &["true", "false"])
        .optional();
const FLAG_NAMES: OptionSpec =
    OptionSpec::text("names", "Flag names, comma-separated, as /flags list shows them", 1000).suggest(Suggest::FlagNames);
const RESPONDER: Access = Access::Role(Role::Responder);
const WHAT: OptionSpec = OptionSpec::text("what", "What is being deployed, like v2.3 or invite-user", 100).optional();

const fn spec(name: &'static str, description: &'static str, options: &'static [OptionSpec], access: Access, parse: Parse) -> CommandSpec {
    CommandSpec { name, description, options, access, public: false, waits_on_network: false, parse }
}

const fn public(spec: CommandSpec) -> CommandSpec {
    CommandSpec { public: true, ..spec }
}

/// A command whose answer waits on the network: a probe, or a query of the target database.
const fn network(spec: CommandSpec) -> CommandSpec {
    CommandSpec { waits_on_network: true, ..spec }
}

pub const SPECS: &[CommandSpec] = &[
    network(public(spec(
        "health",
        "Probe the frontend, Supabase auth and REST, the edge functions and the database",
        &[],
        Access::AnyRole,
        |_| Ok(Command::Health),
    ))),
    spec("template list", "List the runbook's message templates and the values each needs", &[], Access::Anyone, |_| {
        Ok(Command::TemplateList)
    }),
    spec(
        "template show",
        "Show a runbook template filled with sample values",
        &[OptionSpec::text("name", "Template name", 64).suggest(Suggest::Templates)],
        Access::Anyone,
        |args| Ok(Command::TemplateShow { name: args.text("name") }),
    ),
    public(spec(
        "incident declare",
        "Declare an incident: its thread, the runbook's checklist, its timers, the page",
        &[
            OptionSpec::choice("severity", "P0 critical, P1 high, P2 medium, P3 low", SEVERITIES),
            OptionSpec::text("title", "What is broken, in a few words", 100),
            OptionSpec::text("impact", "Who is affected and how, in a sentence", 500).optional(),
            OptionSpec::text("affected", "What the status page names, like sign-in (default: services)", 60).optional(),
            OptionSpec::user("commander", "Who leads (default: you)").optional(),
            OptionSpec::integer(
                "from_alert",
                "The alert it comes from (its post says alert N): its figures go on the timeline",
                1,
                i64::MAX,
            )
            .optional(),
            OptionSpec::choice(
                "kind",
                "security: the runbook's data breach response instead of the severity's clock",
                &["service", "security"],
            )
            .optional(),
        ],
        RESPONDER,
        incident::declare,
    )),
    // The commander may hold no role; the handler checks "the commander (by id) or a responder".
    spec("incident ack", "Acknowledge the page: stops the escalation", &[INCIDENT_ID], Access::Anyone, incident::ack),
    public(spec(
        "incident update",
        "Add a timeline entry; resets the status update reminder",
        &[OptionSpec::text("text", "What changed", 1000), INCIDENT_ID],
        RESPONDER,
        incident::update,
    )),
    spec(
        "incident status-post",
        "Post the runbook's INVESTIGATING text for the status page",
        &[OptionSpec::text("eta", "Expected resolution, like 30 minutes", 100).optional(), INCIDENT_ID],
        RESPONDER,
        incident::status_post,
    ),
    spec(
        "incident severity",
        "Change the severity; the timers follow",
        &[OptionSpec::choice("level", "P0 critical, P1 high, P2 medium, P3 low", SEVERITIES), INCIDENT_ID],
        RESPONDER,
        incident::severity,
    ),
    spec(
        "incident commander",
        "Hand the incident to another commander",
        &[OptionSpec::user("user", "The new commander"), INCIDENT_ID],
        RESPONDER,
        incident::commander,
    ),
    public(spec(
        "incident resolve",
        "Resolve: the RESOLVED text, timers cancelled, the review reminder set",
        &[OptionSpec::text("root_cause", "Brief technical explanation", 1000), ANY_INCIDENT_ID],
        RESPONDER,
        incident::resolve,
    )),
    spec("incident escalate", "Draft the runbook's P1 internal escalation", &[INCIDENT_ID], RESPONDER, incident::escalate),
    spec(
        "incident list",
        "List incidents",
        &[OptionSpec::choice("state", "open (default), resolved or all", &["open", "resolved", "all"]).optional()],
        Access::AnyRole,
        incident::list,
    ),
    spec("incident show", "An incident's state and next timers", &[ANY_INCIDENT_ID], Access::AnyRole, incident::show),
    spec("incident timeline", "An incident's timeline", &[ANY_INCIDENT_ID], Access::AnyRole, incident::timeline),
    spec(
        "incident postmortem",
        "A markdown postmortem skeleton, filled with what bellhop knows",
        &[ANY_INCIDENT_ID],
        Access::AnyRole,
        incident::postmortem,
    ),
    spec(
        "incident evidence",
        "Preserve evidence: timeline, audit and plans of its window in one file, SHA-256 on the timeline",
        &[ANY_INCIDENT_ID],
        RESPONDER,
        incident::evidence,
    ),
    spec(
        "maintenance schedule",
        "Schedule a maintenance window: notices, a 24 h reminder, a validating sweep at the end",
        &[
            OptionSpec::text("start", "When, like 2026-01-10 02:00 (UTC) or in 2h", 40),
            OptionSpec::text("duration", "How long, like 1h or 90m", 20),
            OptionSpec::text("summary", "What is being done", 200),
        ],
        RESPONDER,
        maintenance::schedule,
    ),
    spec(
        "maintenance emergency",
        "Emergency maintenance from now: immediate notice, a validating sweep at the end",
        &[OptionSpec::text("summary", "What is being done", 200), OptionSpec::text("duration", "How long (default 1h)", 20).optional()],
        RESPONDER,
        maintenance::emergency,
    ),
    spec("maintenance list", "Maintenance windows not over yet", &[], Access::AnyRole, maintenance::list),
    spec(
        "maintenance cancel",
        "Cancel a maintenance window",
        &[OptionSpec::text("id", "Window, like MW-2", 20)],
        RESPONDER,
        maintenance::cancel,
    ),
    network(spec(
        "db health",
        "The database checklist: row counts, new hotels per hour, tables without RLS",
        &[],
        RESPONDER,
        diagnose::db_health,
    )),
    network(spec(
        "db slow-queries",
        "The slowest statements by mean time (pg_stat_statements)",
        &[
            OptionSpec::integer("min_calls", "Only statements called at least this often (default 100)", 0, 1_000_000_000).optional(),
            OptionSpec::integer("limit", "How many (1-25, default 10)", 1, 25).optional(),
        ],
        RESPONDER,
        diagnose::slow_queries,
    )),
    network(spec("db connections", "Client connections by state and the longest-running query", &[], RESPONDER, diagnose::connections)),
    network(spec(
        "auth diagnose",
        "The runbook's P1 auth diagnosis: sign-ups, helper functions, RLS policies, the anonymous probe",
        &[],
        RESPONDER,
        diagnose::auth_diagnose,
    )),
    network(spec("migrations status", "The last applied database migrations, newest first", &[], RESPONDER, diagnose::migrations_status)),
    network(public(spec(
        "migrations rollback",
        "Run a migration's down file and forget its version, once two approvers approve the plan",
        &[OptionSpec::text("version", "The version, like 20250922140000, as /migrations status lists it", 32), DRY_RUN],
        RESPONDER,
        remediation::migrations_rollback,
    ))),
    network(spec("flags list", "Feature flags and their state", &[], RESPONDER, diagnose::flags_list)),
    network(public(spec(
        "flags disable",
        "Disable feature flags, once two approvers approve the plan",
        &[FLAG_NAMES, OptionSpec::text("reason", "Why, for the approvers and the audit log", 300).optional(), DRY_RUN],
        RESPONDER,
        remediation::flags_disable,
    ))),
    network(public(spec(
        "flags enable",
        "Enable feature flags, once two approvers approve the plan",
        &[FLAG_NAMES, OptionSpec::text("reason", "Why, for the approvers and the audit log", 300).optional(), DRY_RUN],
        RESPONDER,
        remediation::flags_enable,
    ))),
    network(public(spec(
        "sessions purge",
        "Delete old sessions (with their refresh tokens), once two approvers approve the plan",
        &[
            OptionSpec::text("older_than", "Sessions created longer ago than this, like 7d", 20),
            OptionSpec::text("user", "Only this auth user (id or e-mail)", 320).optional(),
            DRY_RUN,
        ],
        RESPONDER,
        remediation::sessions_purge,
    ))),
    network(public(spec(
        "auth confirm-stuck",
        "Confirm stuck email users (never phone-only or anonymous), once two approvers approve",
        &[OptionSpec::text("older_than", "Signed up longer ago than this, like 1d", 20), DRY_RUN],
        RESPONDER,
        remediation::auth_confirm_stuck,
    ))),
    network(public(spec(
        "rls lockdown",
        "Revoke anon's access to every public table (runbook REVOKE), once two approvers approve",
        &[DRY_RUN],
        RESPONDER,
        remediation::rls_lockdown,
    ))),
    network(public(spec(
        "rls restore",
        "Give anon back the grants the last lockdown revoked, once two approvers approve",
        &[DRY_RUN],
        RESPONDER,
        remediation::rls_restore,
    ))),
    spec(
        "break-glass",
        "P0 only, admins: let a pending plan asked in the P0's thread run with one approval",
        &[
            OptionSpec::text("plan", "The plan, like PLAN-3", 20).suggest(Suggest::PendingPlans),
            OptionSpec::text("reason", "Why it cannot wait for a second approver (goes on the timeline)", 300),
        ],
        Access::Role(Role::Admin),
        remediation::break_glass,
    ),
    spec("outbox list", "Chat posts waiting to be delivered, or given up", &[], Access::Role(Role::Admin), outbox::list),
    spec("outbox retry", "Send a waiting or given-up post again now", &[OUTBOX_ID], Access::Role(Role::Admin), outbox::retry),
    spec("outbox drop", "Drop a waiting or given-up post for good", &[OUTBOX_ID], Access::Role(Role::Admin), outbox::drop),
    spec(
        "audit recent",
        "The newest entries of the audit trail: commands, reactions, plans and their outcomes",
        &[OptionSpec::integer("limit", "How many (1-25, default 15)", 1, 25).optional()],
        Access::AnyRole,
        audit_recent::parse,
    ),
    network(spec(
        "deploy checklist",
        "The runbook's pre-deploy checklist in ops: people tick items, bellhop checks four itself",
        &[WHAT],
        RESPONDER,
        deploy::checklist,
    )),
    spec(
        "deploy check",
        "Tick an item of the newest pre-deploy checklist",
        &[OptionSpec::integer("item", "The item's number on the checklist, 1-6", 1, 6)],
        RESPONDER,
        deploy::check,
    ),
    public(spec(
        "deploy done",
        "Mark a deploy as out: the figures before it are kept for /deploy validate",
        &[WHAT],
        RESPONDER,
        deploy::done,
    )),
    network(public(spec(
        "deploy validate",
        "After a deploy: a fresh sweep, and each function better, same or worse than before it",
        &[OptionSpec::integer("minutes", "The last N minutes against the N before the deploy (1-15, default 15)", 1, 15).optional()],
        RESPONDER,
        deploy::validate,
    ))),
    spec(
        "functions recent",
        "The last edge function deploys bellhop saw in the Management API",
        &[OptionSpec::integer("limit", "How many (1-25, default 10)", 1, 25).optional()],
        Access::AnyRole,
        deploy::functions_recent,
    ),
    network(spec("backups", "The newest database backups and whether point-in-time recovery is on", &[], RESPONDER, deploy::backups)),
    spec("help", "List bellhop's commands", &[], Access::Anyone, |_| Ok(Command::Help)),
];

/// What each group of subcommands is for (Discord shows it above the subcommands).
pub fn group_description(group: &str) -> &'static str {
    match group {
        "template" => "The runbook's message templates",
        "incident" => "Declare, coordinate and resolve incidents on the runbook's clock",
        "maintenance" => "Scheduled and emergency maintenance windows",
        "outbox" => "Posts bellhop could not deliver yet (admins)",
        "db" => "Read-only diagnostics of the production database",
        "auth" => "Supabase Auth diagnostics",
        "migrations" => "Database migrations",
        "flags" => "Feature flags",
        "audit" => "bellhop's audit trail",
        "sessions" => "Auth sessions (approval-gated)",
        "rls" => "Anon's access to the public tables (approval-gated)",
        "deploy" => "The runbook's pre-deploy checklist and post-deploy validation",
        "functions" => "Edge function deploys",
        "backups" => "Database backups",
        _ => "bellhop commands",
    }
}

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Subcommands of a group such as `template`.
pub fn subcommands(group: &str) -> Vec<&'static str> {
    SPECS.iter().filter_map(|s| s.name.strip_prefix(group).and_then(|rest| rest.strip_prefix(' '))).collect()
}

/// Top-level names in registry order: `health`, `template`, `incident`…
pub fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for spec in SPECS {
        let group = spec.name.split(' ').next().unwrap_or(spec.name);
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a chat must acknowledge before it answers: the probes, the diagnostics, and the
    /// remediation requests, whose preview reads the target. Nothing that only reads the store.
    #[test]
    fn the_commands_that_wait_on_the_network_are_marked() {
        let waiting: Vec<&str> = SPECS.iter().filter(|s| s.waits_on_network).map(|s| s.name).collect();
        assert_eq!(
            waiting,
            [
                "health",
                "db health",
                "db slow-queries",
                "db connections",
                "auth diagnose",
                "migrations status",
                "migrations rollback",
                "flags list",
                "flags disable",
                "flags enable",
                "sessions purge",
                "auth confirm-stuck",
                "rls lockdown",
                "rls restore",
                "deploy checklist",
                "deploy validate",
                "backups"
            ]
        );
    }

    #[test]
    fn a_dry_run_is_answered_to_the_asker_alone() {
        let purge = find("sessions purge").unwrap();
        let asked = Invocation::new("sessions purge").option("older_than", "7d");
        assert_eq!(purge.visibility(&asked), Visibility::Channel);
        assert_eq!(purge.visibility(&asked.clone().option("dry_run", "true")), Visibility::Invoker);
        assert_eq!(purge.visibility(&asked.option("dry_run", "false")), Visibility::Channel);
        assert_eq!(find("flags list").unwrap().visibility(&Invocation::new("flags list")), Visibility::Invoker);
    }

    /// Discord refuses a registration that breaks these, and a bot that cannot register is deaf.
    #[test]
    fn every_description_fits_discord() {
        for spec in SPECS {
            assert!(
                (1..=100).contains(&spec.description.chars().count()),
                "/{}: {} characters",
                spec.name,
                spec.description.chars().count()
            );
            assert!(spec.options.len() <= 25, "/{}", spec.name);
            for option in spec.options {
                assert!((1..=100).contains(&option.description.chars().count()), "/{} {}:", spec.name, option.name);
            }
            let first_optional = spec.options.iter().position(|o| !o.required).unwrap_or(spec.options.len());
            assert!(spec.options[first_optional..].iter().all(|o| !o.required), "/{}: a required option after an optional one", spec.name);
        }
        for group in groups() {
            assert!((1..=100).contains(&group_description(group).chars().count()), "{group}");
        }
    }
}
