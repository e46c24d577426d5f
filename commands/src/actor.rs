//! Who asked: the person behind a command or a reaction, and what bellhop lets them do.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What a person may do in bellhop. Roles come from the adapter's configuration
/// (Discord role ids, or the shell's user list); the core only decides what each role allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs health checks and coordinates incidents.
    Responder,
    /// May approve destructive remediation planned by someone else.
    Approver,
    /// Everything a responder and an approver may do.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Responder, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Responder => "responder",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown role `{s}`; the roles are responder, approver, admin"))
    }
}

/// Someone as stored: the id decides (authorisation, "distinct approvers"), the name is shown.
/// Anyone can take a display name, so no decision ever compares names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
}

impl Person {
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Person { id: id.into(), name: name.into() }
    }

    /// How posts name them: `@name`.
    pub fn mention(&self) -> String {
        format!("@{}", self.name)
    }
}

/// A person as the core sees them: a stable id from the chat platform, a name to show, roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    pub name: String,
    pub roles: BTreeSet<Role>,
}

impl Actor {
    pub fn new(id: impl Into<String>, name: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Self {
        Actor { id: id.into(), name: name.into(), roles: roles.into_iter().collect() }
    }

    /// bellhop itself, for what nobody typed (alerts, timers): it holds every role.
    pub fn system(source: &str) -> Self {
        Actor::new(format!("system:{source}"), format!("bellhop ({source})"), [Role::Admin])
    }

    pub fn person(&self) -> Person {
        Person::new(self.id.clone(), self.name.clone())
    }

    /// Whether this actor is `person` — by id, never by name.
    pub fn is(&self, person: &Person) -> bool {
        self.id == person.id
    }

    /// Admins hold every role.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }

    pub fn has_any_role(&self) -> bool {
        !self.roles.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_holds_every_role() {
        let admin = Actor::new("1", "ada", [Role::Admin]);
        assert!(Role::ALL.iter().all(|role| admin.has(*role)));
        let responder = Actor::new("2", "rui", [Role::Responder]);
        assert!(responder.has(Role::Responder));
        assert!(!responder.has(Role::Approver));
    }

    #[test]
    fn unknown_role_names_the_valid_ones() {
        let err = "owner".parse::<Role>().unwrap_err();
        assert_eq!(err, "unknown role `owner`; the roles are responder, approver, admin");
        assert_eq!(" Approver ".parse::<Role>(), Ok(Role::Approver));
    }
}
