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
}

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
        options: &[OptionSpec { name: "name", description: "Template name", required: true, max_len: 64 }],
        access: Access::Anyone,
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
