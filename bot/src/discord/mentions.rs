//! Who a message may ping: only the roles bellhop itself put in `Post::pings`, never anything
//! written in the text (a user's `@everyone`, `@here`, `<@&role>` or `<@user>` stays inert).

use bellhop_commands::post::{Ping, Post};
use poise::serenity_prelude as serenity;

/// Explicit on every message: no `parse` of any kind, no users, and exactly the post's role pings.
pub fn allowed(post: &Post) -> serenity::CreateAllowedMentions {
    serenity::CreateAllowedMentions::new().empty_users().roles(role_ids(post)).replied_user(false)
}

/// The message text that carries the pings (embeds never ping), or nothing when there are none.
pub fn content(post: &Post) -> Option<String> {
    let mentions: Vec<String> = role_ids(post).into_iter().map(|id| format!("<@&{id}>")).collect();
    (!mentions.is_empty()).then(|| mentions.join(" "))
}

fn role_ids(post: &Post) -> Vec<serenity::RoleId> {
    post.pings
        .iter()
        .filter_map(|ping| match ping {
            Ping::Role { id, .. } => id.parse::<u64>().ok().filter(|id| *id > 0).map(serenity::RoleId::new),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bellhop_commands::Tone;
    use serde_json::json;

    #[test]
    fn user_text_pings_nobody() {
        let post = Post::new(Tone::Info, "@everyone").body("@here <@&123> <@456>");
        let sent = serde_json::to_value(allowed(&post)).unwrap();
        assert_eq!(sent, json!({"parse": [], "users": [], "roles": [], "replied_user": false}));
        assert_eq!(content(&post), None);
    }

    #[test]
    fn only_configured_roles_are_pinged() {
        let mut post = Post::new(Tone::Bad, "P1 declared");
        post.pings.push(Ping::Role { id: "777".into(), name: "on-call".into() });
        let sent = serde_json::to_value(allowed(&post)).unwrap();
        assert_eq!(sent, json!({"parse": [], "users": [], "roles": ["777"], "replied_user": false}));
        assert_eq!(content(&post).as_deref(), Some("<@&777>"));
    }
}
