//! The person behind a command or a reaction, as the core's `Actor`: their Discord roles mapped
//! to bellhop roles by configuration.

use crate::config::DiscordConfig;
use bellhop_commands::{Actor, Role};
use poise::serenity_prelude as serenity;

/// Which Discord role ids hold which bellhop role.
#[derive(Clone, Debug, Default)]
pub struct RoleMap {
    pairs: Vec<(serenity::RoleId, Role)>,
}

impl RoleMap {
    pub fn from_config(config: &DiscordConfig) -> Self {
        let mut pairs = Vec::new();
        for (ids, role) in
            [(&config.responder_roles, Role::Responder), (&config.approver_roles, Role::Approver), (&config.admin_roles, Role::Admin)]
        {
            pairs.extend(ids.iter().map(|id| (serenity::RoleId::new(*id), role)));
        }
        RoleMap { pairs }
    }

    pub fn roles(&self, member_roles: &[serenity::RoleId]) -> Vec<Role> {
        self.pairs.iter().filter(|(id, _)| member_roles.contains(id)).map(|(_, role)| *role).collect()
    }

    /// The actor for `user`; without a member (a DM) they hold no role.
    pub fn actor(&self, user: &serenity::User, member: Option<&serenity::Member>) -> Actor {
        let roles = member.map(|m| self.roles(&m.roles)).unwrap_or_default();
        let name = member.and_then(|m| m.nick.clone()).or_else(|| user.global_name.clone()).unwrap_or_else(|| user.name.clone());
        Actor::new(person_id(user.id), name, roles)
    }
}

/// How the core knows a Discord user: by id, whatever name they take.
pub fn person_id(user: serenity::UserId) -> String {
    format!("discord:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_roles_map_to_bellhop_roles() {
        let config = DiscordConfig { responder_roles: vec![1, 2], approver_roles: vec![2], admin_roles: vec![3], ..Default::default() };
        let map = RoleMap::from_config(&config);
        assert_eq!(map.roles(&[serenity::RoleId::new(2), serenity::RoleId::new(9)]), [Role::Responder, Role::Approver]);
        assert_eq!(map.roles(&[serenity::RoleId::new(9)]), []);
        let user: serenity::User = serde_json::from_value(serde_json::json!({"id": "55", "username": "ana"})).unwrap();
        let actor = map.actor(&user, None);
        assert_eq!((actor.id.as_str(), actor.name.as_str(), actor.roles.len()), ("discord:55", "ana", 0));
    }
}
