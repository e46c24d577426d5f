//! Who sits at the terminal: the operating-system user this process runs as, by login and uid.

use bellhop_commands::{Actor, Role};

/// The person at the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    pub login: String,
    pub uid: u32,
}

impl Operator {
    /// The user this process runs as: its login from the password database, by uid.
    pub fn current() -> Operator {
        let uid = rustix::process::getuid().as_raw();
        let login =
            std::fs::read_to_string("/etc/passwd").ok().and_then(|passwd| login_of(&passwd, uid)).unwrap_or_else(|| format!("uid{uid}"));
        Operator { login, uid }
    }

    /// As the core knows them: `host:<login>`, with the roles `[shell.users]` gives their login
    /// (a login with no entry is a responder: checks and incidents, no approvals).
    pub fn actor(&self, configured: &[Actor]) -> Actor {
        let roles: Vec<Role> = match configured.iter().find(|a| a.name == self.login) {
            Some(entry) => entry.roles.iter().copied().collect(),
            None => vec![Role::Responder],
        };
        Actor::new(format!("host:{}", self.login), self.login.clone(), roles)
    }

    /// What every audit row of this shell adds: who, by login and uid.
    pub fn signature(&self) -> String {
        format!("{} (uid {})", self.login, self.uid)
    }
}

/// The login of `uid` in a passwd file's text (`name:x:uid:gid:…`).
fn login_of(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_is_read_by_uid_and_roles_come_from_shell_users() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(login_of(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(login_of(passwd, 42), None);
        let alice = Operator { login: "alice".into(), uid: 1000 };
        let configured = [Actor::new("shell:alice", "alice", [Role::Approver])];
        assert_eq!(alice.actor(&configured).roles.iter().copied().collect::<Vec<_>>(), [Role::Approver]);
        let root = Operator { login: "root".into(), uid: 0 };
        assert_eq!(root.actor(&configured).roles.iter().copied().collect::<Vec<_>>(), [Role::Responder], "no entry: a responder");
        assert_eq!((root.actor(&[]).id.as_str(), root.signature().as_str()), ("host:root", "root (uid 0)"));
    }
}
