//! Who someone is in Slack: their name (`users.info`) and their bellhop roles, from the
//! membership of the configured user groups (`usergroups.users.list`). Both are cached briefly;
//! a plan's check reads the groups afresh, since roles decide what runs.

use super::api::{Api, SlackError};
use bellhop_commands::{Actor, Person, Role};
use slack_morphism::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long group membership and names are trusted.
const GROUPS_FOR: Duration = Duration::from_secs(60);
const NAMES_FOR: Duration = Duration::from_secs(600);

/// Which user groups hold which bellhop role.
#[derive(Clone, Debug, Default)]
pub struct RoleGroups {
    pub pairs: Vec<(String, Role)>,
}

impl RoleGroups {
    pub fn new(responders: &[String], approvers: &[String], admins: &[String]) -> RoleGroups {
        let mut pairs = Vec::new();
        for (ids, role) in [(responders, Role::Responder), (approvers, Role::Approver), (admins, Role::Admin)] {
            pairs.extend(ids.iter().map(|id| (id.clone(), role)));
        }
        RoleGroups { pairs }
    }
}

/// The members of each configured user group.
type Members = HashMap<String, HashSet<String>>;

/// Someone as Slack knows them now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Person(Actor),
    /// A bot (bellhop included): never counted, never answered.
    Bot,
    /// Deactivated or unknown to the workspace: shown, never counted.
    Departed(Person),
}

#[derive(Clone)]
enum Known {
    Person { name: String, bot: bool, deleted: bool },
    Unknown,
}

pub struct Directory {
    api: Arc<Api>,
    roles: RoleGroups,
    /// bellhop's own user id (`auth.test`).
    pub me: String,
    groups: tokio::sync::Mutex<Option<(Instant, Members)>>,
    names: Mutex<HashMap<String, (Instant, Known)>>,
}

/// How the core knows a Slack user: by id, whatever name they take.
pub fn person_id(user: &str) -> String {
    format!("slack:{user}")
}

impl Directory {
    pub fn new(api: Arc<Api>, roles: RoleGroups, me: String) -> Directory {
        Directory { api, roles, me, groups: Default::default(), names: Default::default() }
    }

    /// Who `user` is, with the roles they hold; `fresh` reads the groups again.
    pub async fn who(&self, user: &str, fresh: bool) -> Result<Who, SlackError> {
        if user == self.me {
            return Ok(Who::Bot);
        }
        let (name, bot, deleted) = match self.known(user).await? {
            Known::Person { name, bot, deleted } => (name, bot, deleted),
            Known::Unknown => return Ok(Who::Departed(Person::new(person_id(user), user))),
        };
        if bot {
            return Ok(Who::Bot);
        }
        if deleted {
            return Ok(Who::Departed(Person::new(person_id(user), name)));
        }
        let roles = self.roles_of(user, fresh).await?;
        Ok(Who::Person(Actor::new(person_id(user), name, roles)))
    }

    async fn known(&self, user: &str) -> Result<Known, SlackError> {
        if let Some((at, known)) = self.names.lock().unwrap_or_else(|e| e.into_inner()).get(user) {
            if at.elapsed() < NAMES_FOR {
                return Ok(known.clone());
            }
        }
        let request = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        let known = match super::api::timed(self.api.session().users_info(&request)).await {
            Ok(found) => {
                let user = found.user;
                let profile = user.profile.as_ref();
                let name = [profile.and_then(|p| p.display_name.clone()), profile.and_then(|p| p.real_name.clone()), user.name.clone()]
                    .into_iter()
                    .flatten()
                    .find(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| user.id.0.clone());
                Known::Person { name, bot: user.flags.is_bot.unwrap_or(false), deleted: user.deleted.unwrap_or(false) }
            }
            Err(error) if matches!(error.code(), Some("user_not_found" | "user_not_visible")) => Known::Unknown,
            Err(error) => return Err(error),
        };
        self.names.lock().unwrap_or_else(|e| e.into_inner()).insert(user.to_string(), (Instant::now(), known.clone()));
        Ok(known)
    }

    async fn roles_of(&self, user: &str, fresh: bool) -> Result<Vec<Role>, SlackError> {
        let mut cached = self.groups.lock().await;
        let stale = cached.as_ref().is_none_or(|(at, _)| fresh || at.elapsed() >= GROUPS_FOR);
        if stale {
            let mut members = HashMap::new();
            for (group, _) in &self.roles.pairs {
                if members.contains_key(group) {
                    continue;
                }
                let request = SlackApiUserGroupsUsersListRequest::new(SlackUserGroupId(group.clone()));
                let users: HashSet<String> = match super::api::timed(self.api.session().usergroups_users_list(&request)).await {
                    Ok(found) => found.users.into_iter().map(|u| u.0).collect(),
                    Err(error) if error.code() == Some("no_such_subteam") => {
                        tracing::warn!(group, "a configured Slack user group does not exist; nobody holds its role");
                        HashSet::new()
                    }
                    Err(error) => return Err(error),
                };
                members.insert(group.clone(), users);
            }
            *cached = Some((Instant::now(), members));
        }
        let members = cached.as_ref().map(|(_, m)| m);
        Ok(self
            .roles
            .pairs
            .iter()
            .filter(|(group, _)| members.and_then(|m| m.get(group)).is_some_and(|users| users.contains(user)))
            .map(|(_, role)| *role)
            .collect())
    }
}
