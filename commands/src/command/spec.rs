//! The command table: names, options and who may run each. The shell parses against it,
//! `/help` prints it, and the Discord adapter's registration is checked against it.

use crate::actor::{Actor, Role};

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

#[derive(Clone, Copy, Debug)]
pub struct OptionSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    /// In characters.
    pub max_len: usize,
    /// A closed set of values (Discord offers them as choices); empty means free text.
    pub choices: &'static [&'static str],
    /// The values come from data (template names, open incidents): adapters may autocomplete.
    pub autocomplete: bool,
}

impl OptionSpec {
    pub const fn required(name: &'static str, description: &'static str, max_len: usize) -> Self {
        OptionSpec { name, description, required: true, max_len, choices: &[], autocomplete: false }
    }

    pub const fn optional(name: &'static str, description: &'static str, max_len: usize) -> Self {
        OptionSpec { required: false, ..OptionSpec::required(name, description, max_len) }
    }

    pub const fn choices(self, choices: &'static [&'static str]) -> Self {
        OptionSpec { choices, ..self }
    }

    pub const fn autocomplete(self) -> Self {
        OptionSpec { autocomplete: true, ..self }
    }
}

const SEVERITIES: &[&str] = &["P0", "P1", "P2", "P3"];
const INCIDENT_ID: OptionSpec = OptionSpec::optional("id", "Incident, like INC-3 (implied inside its thread)", 20).autocomplete();
const RESPONDER: Access = Access::Role(Role::Responder);

#[derive(Clone, Copy, Debug)]
pub struct CommandSpec {
    /// The words after the slash: `health`, `template show`.
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [OptionSpec],
    pub access: Access,
}

impl CommandSpec {
    pub fn option(&self, name: &str) -> Option<&OptionSpec> {
        self.options.iter().find(|o| o.name == name)
    }

    pub fn usage(&self) -> String {
        let options: Vec<String> =
            self.options.iter().map(|o| if o.required { format!("{}:…", o.name) } else { format!("[{}:…]", o.name) }).collect();
        [format!("/{}", self.name)].into_iter().chain(options).collect::<Vec<_>>().join(" ")
    }
}

pub const SPECS: &[CommandSpec] = &[
    CommandSpec {
        name: "health",
        description: "Probe the frontend, Supabase auth and REST, the edge functions and the database",
        options: &[],
        access: Access::AnyRole,
    },
    CommandSpec {
        name: "template list",
        description: "List the runbook's message templates and the values each needs",
        options: &[],
        access: Access::Anyone,
    },
    CommandSpec {
        name: "template show",
        description: "Show a runbook template filled with sample values",
        options: &[OptionSpec::required("name", "Template name", 64).autocomplete()],
        access: Access::Anyone,
    },
    CommandSpec {
        name: "incident declare",
        description: "Declare an incident: its thread, the runbook's checklist, its timers, the page",
        options: &[
            OptionSpec::required("severity", "P0 critical, P1 high, P2 medium, P3 low", 2).choices(SEVERITIES),
            OptionSpec::required("title", "What is broken, in a few words", 100),
            OptionSpec::optional("impact", "Who is affected and how", 500),
            OptionSpec::optional("commander", "Who leads (default: you)", 64),
        ],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident ack",
        description: "Acknowledge the page: stops the escalation",
        options: &[INCIDENT_ID],
        access: Access::AnyRole,
    },
    CommandSpec {
        name: "incident update",
        description: "Add a timeline entry; resets the status update reminder",
        options: &[OptionSpec::required("text", "What changed", 1000), INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident status-post",
        description: "Post the runbook's INVESTIGATING text for the status page",
        options: &[OptionSpec::optional("eta", "Expected resolution, like 30 minutes", 100), INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident severity",
        description: "Change the severity; the timers follow",
        options: &[OptionSpec::required("level", "P0 critical, P1 high, P2 medium, P3 low", 2).choices(SEVERITIES), INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident commander",
        description: "Hand the incident to another commander",
        options: &[OptionSpec::required("user", "The new commander", 64), INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident resolve",
        description: "Resolve: the RESOLVED text, timers cancelled, the review reminder set",
        options: &[OptionSpec::required("root_cause", "Brief technical explanation", 1000), INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident escalate",
        description: "Draft the runbook's P1 internal escalation",
        options: &[INCIDENT_ID],
        access: RESPONDER,
    },
    CommandSpec {
        name: "incident list",
        description: "List incidents",
        options: &[OptionSpec::optional("state", "open (default), resolved or all", 8).choices(&["open", "resolved", "all"])],
        access: Access::AnyRole,
    },
    CommandSpec {
        name: "incident show",
        description: "An incident's state and next timers",
        options: &[INCIDENT_ID],
        access: Access::AnyRole,
    },
    CommandSpec { name: "incident timeline", description: "An incident's timeline", options: &[INCIDENT_ID], access: Access::AnyRole },
    CommandSpec {
        name: "incident postmortem",
        description: "A markdown postmortem skeleton, filled with what bellhop knows",
        options: &[INCIDENT_ID],
        access: Access::AnyRole,
    },
    CommandSpec {
        name: "maintenance schedule",
        description: "Schedule a maintenance window: notices, a 24 h reminder, a validating sweep at the end",
        options: &[
            OptionSpec::required("start", "When, like 2026-01-10 02:00 (UTC) or in 2h", 40),
            OptionSpec::required("duration", "How long, like 1h or 90m", 20),
            OptionSpec::required("summary", "What is being done", 200),
        ],
        access: RESPONDER,
    },
    CommandSpec {
        name: "maintenance emergency",
        description: "Emergency maintenance from now: immediate notice, a validating sweep at the end",
        options: &[
            OptionSpec::required("summary", "What is being done", 200),
            OptionSpec::optional("duration", "How long (default 1h)", 20),
        ],
        access: RESPONDER,
    },
    CommandSpec { name: "maintenance list", description: "Maintenance windows not over yet", options: &[], access: Access::AnyRole },
    CommandSpec {
        name: "maintenance cancel",
        description: "Cancel a maintenance window",
        options: &[OptionSpec::required("id", "Window, like MW-2", 20)],
        access: RESPONDER,
    },
    CommandSpec { name: "help", description: "List bellhop's commands", options: &[], access: Access::Anyone },
];

pub fn find(name: &str) -> Option<&'static CommandSpec> {
    SPECS.iter().find(|s| s.name == name)
}

/// Subcommands of a group such as `template`.
pub fn subcommands(group: &str) -> Vec<&'static str> {
    SPECS.iter().filter_map(|s| s.name.strip_prefix(group).and_then(|rest| rest.strip_prefix(' '))).collect()
}
