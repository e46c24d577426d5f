//! The JSON the fake sends, in the minimal shapes serenity 0.12 accepts (every key here is
//! required by serenity; see the unit tests, which deserialize each one with serenity's types).

use serde_json::{json, Value};

pub const BOT: &str = "100000000000000001";
pub const APP: &str = "100000000000000002";
pub const GUILD: &str = "100000000000000003";
/// The channel commands are typed in.
pub const CHANNEL: &str = "100000000000000004";
pub const OWNER: &str = "100000000000000005";
pub const RESPONDER_ROLE: &str = "200000000000000001";
pub const APPROVER_ROLE: &str = "200000000000000002";
pub const ADMIN_ROLE: &str = "200000000000000003";
/// Channels for posts bellhop makes on its own.
pub const INCIDENTS_CHANNEL: &str = "300000000000000001";
pub const STATUS_CHANNEL: &str = "300000000000000002";
pub const OPS_CHANNEL: &str = "300000000000000003";

const TIMESTAMP: &str = "2024-01-01T00:00:00.000000+00:00";

pub fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "username": name})
}

pub fn member(user_id: &str, name: &str, roles: &[&str]) -> Value {
    json!({"user": user(user_id, name), "roles": roles, "deaf": false, "mute": false, "flags": 0, "joined_at": TIMESTAMP,
           "permissions": "2251799813685247"})
}

pub fn ready(ws_url: &str, session_id: &str) -> Value {
    json!({"v": 10, "user": {"id": BOT, "username": "bellhop", "bot": true}, "guilds": [{"id": GUILD, "unavailable": true}],
           "session_id": session_id, "resume_gateway_url": ws_url, "shard": [0, 1], "application": {"id": APP, "flags": 0}})
}

/// The bot is left out of `members`, so serenity skips its local permission checks.
pub fn guild_create(roles: &[Value]) -> Value {
    json!({"id": GUILD, "name": "Hotel Ops", "owner_id": OWNER, "verification_level": 0, "default_message_notifications": 0,
           "explicit_content_filter": 0, "roles": roles, "emojis": [], "features": [], "mfa_level": 0, "system_channel_flags": 0,
           "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0, "stickers": [], "premium_progress_bar_enabled": false,
           "joined_at": TIMESTAMP, "large": false, "member_count": 2, "voice_states": [], "members": [],
           "channels": [{"id": CHANNEL, "type": 0, "guild_id": GUILD, "name": "ops"}], "threads": [], "presences": [],
           "stage_instances": [], "guild_scheduled_events": []})
}

pub fn role(id: &str, name: &str) -> Value {
    let permissions = if id == GUILD { "2251799813685247" } else { "0" };
    json!({"id": id, "name": name, "color": 0, "colors": {"primary_color": 0}, "hoist": false, "managed": false,
           "mentionable": false, "permissions": permissions, "position": 0})
}

pub fn default_roles() -> Vec<Value> {
    vec![role(GUILD, "@everyone"), role(RESPONDER_ROLE, "responder"), role(APPROVER_ROLE, "approver"), role(ADMIN_ROLE, "admin")]
}

/// A slash command (`kind` 2) or an autocomplete request (`kind` 4). `path` is `health` or
/// `template show`; `options` are string options; the `focused` one is being typed.
pub fn interaction(kind: u8, id: &str, token: &str, path: &str, options: &[(&str, &str)], focused: Option<&str>, member: &Value) -> Value {
    let options: Vec<(&str, Value)> = options.iter().map(|(name, value)| (*name, json!(value))).collect();
    interaction_with(kind, id, token, path, &options, focused, member)
}

/// Like `interaction`, with options of any type: a number is an integer option (a choice's
/// index, as Discord sends it for poise's choice parameters), a string a string option.
pub fn interaction_with(
    kind: u8,
    id: &str,
    token: &str,
    path: &str,
    options: &[(&str, Value)],
    focused: Option<&str>,
    member: &Value,
) -> Value {
    let mut words = path.split_whitespace();
    let name = words.next().expect("a command name");
    // A member as a value is a user option: Discord sends the id and resolves the user.
    let mut resolved = json!({"users": {}, "members": {}});
    let mut options: Vec<Value> = options
        .iter()
        .map(|(name, value)| {
            let (kind, value) = match value {
                Value::Number(_) => (4, value.clone()),
                Value::Object(member) => {
                    let user = member.get("user").cloned().unwrap_or_default();
                    let id = user["id"].as_str().unwrap_or_default().to_string();
                    resolved["users"][&id] = user;
                    let mut partial = Value::Object(member.clone());
                    partial.as_object_mut().map(|m| m.remove("user"));
                    resolved["members"][&id] = partial;
                    (6, json!(id))
                }
                _ => (3, value.clone()),
            };
            let mut option = json!({"name": name, "type": kind, "value": value});
            if focused == Some(*name) {
                option["focused"] = json!(true);
            }
            option
        })
        .collect();
    for sub in words.rev() {
        options = vec![json!({"name": sub, "type": 1, "options": options})];
    }
    json!({"id": id, "application_id": APP, "type": kind,
           "data": {"id": "400000000000000001", "name": name, "type": 1, "options": options, "resolved": resolved},
           "guild_id": GUILD, "channel_id": CHANNEL, "member": member, "token": token, "version": 1,
           "app_permissions": "2251799813685247", "locale": "en-US", "entitlements": [], "attachment_size_limit": 8388608})
}

/// MESSAGE_REACTION_ADD (with the member, as Discord sends it) or _REMOVE (without).
pub fn reaction(channel: &str, message: &str, emoji: &str, member: &Value, added: bool) -> Value {
    let mut reaction = json!({"user_id": member["user"]["id"], "channel_id": channel, "message_id": message, "guild_id": GUILD,
                              "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0});
    if added {
        reaction["member"] = member.clone();
        reaction["message_author_id"] = json!(BOT);
    }
    reaction
}

pub fn message(id: &str, channel: &str, body: &Value) -> Value {
    json!({"id": id, "channel_id": channel, "author": user(BOT, "bellhop"), "content": body.get("content").cloned().unwrap_or(json!("")),
           "timestamp": TIMESTAMP, "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
           "embeds": body.get("embeds").cloned().unwrap_or(json!([])), "pinned": false, "type": 0})
}

/// Discord echoes the bot's own reaction (without a member) like anyone's.
pub fn own_reaction(channel: &str, message: &str, emoji: &str) -> Value {
    json!({"user_id": BOT, "channel_id": channel, "message_id": message, "guild_id": GUILD,
           "emoji": {"id": null, "name": emoji}, "burst": false, "type": 0, "message_author_id": BOT})
}

pub fn text_channel(id: &str) -> Value {
    json!({"id": id, "type": 0, "guild_id": GUILD, "name": "channel", "position": 0, "permission_overwrites": []})
}

pub fn thread(id: &str, parent: &str, name: &str) -> Value {
    json!({"id": id, "type": 11, "guild_id": GUILD, "parent_id": parent, "owner_id": BOT, "name": name})
}

pub fn app_info() -> Value {
    json!({"id": APP, "name": "bellhop", "description": "", "bot_public": false, "bot_require_code_grant": false, "verify_key": "00",
           "owner": user(OWNER, "owner"), "team": null, "flags": 0})
}

/// A registered command as Discord echoes it: the request plus `id`, `application_id`, `version`, `type`.
pub fn registered(command: &Value, id: &str) -> Value {
    let mut command = command.clone();
    command["id"] = json!(id);
    command["application_id"] = json!(APP);
    command["version"] = json!("1");
    command["type"] = json!(1);
    command
}

pub fn error(code: u32, message: &str) -> Value {
    json!({"code": code, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::all::{Event, GatewayEvent};

    fn dispatch(t: &str, d: Value) -> Event {
        match serde_json::from_value::<GatewayEvent>(json!({"op": 0, "s": 1, "t": t, "d": d})).expect("a gateway frame") {
            GatewayEvent::Dispatch(_, event) => event,
            other => panic!("not a dispatch: {other:?}"),
        }
    }

    fn member_json() -> Value {
        member("500000000000000001", "alice", &[RESPONDER_ROLE])
    }

    #[test]
    fn every_dispatch_deserializes_as_its_event_not_unknown() {
        assert!(matches!(dispatch("READY", ready("ws://127.0.0.1:1", "s1")), Event::Ready(_)));
        assert!(matches!(dispatch("GUILD_CREATE", guild_create(&default_roles())), Event::GuildCreate(_)));
        assert!(matches!(dispatch("RESUMED", json!({})), Event::Resumed(_)));
        let member = member_json();
        for interaction in [
            super::interaction(2, "1", "t", "health", &[], None, &member),
            super::interaction(2, "1", "t", "template show", &[("name", "p1")], None, &member),
            super::interaction(4, "1", "t", "template show", &[("name", "p")], Some("name"), &member),
        ] {
            assert!(matches!(dispatch("INTERACTION_CREATE", interaction), Event::InteractionCreate(_)));
        }
        assert!(matches!(dispatch("MESSAGE_REACTION_ADD", reaction(CHANNEL, "7", "✅", &member, true)), Event::ReactionAdd(_)));
        assert!(matches!(dispatch("MESSAGE_REACTION_REMOVE", reaction(CHANNEL, "7", "✅", &member, false)), Event::ReactionRemove(_)));
    }

    #[test]
    fn every_rest_answer_deserializes_as_serenitys_model() {
        use serenity::all::{Command, CurrentApplicationInfo, GuildChannel, Member, Message, Role};
        let _: Message = serde_json::from_value(message("9", CHANNEL, &json!({"content": "hi", "embeds": [{"title": "x"}]}))).unwrap();
        let _: Member = serde_json::from_value(member_json()).unwrap();
        let _: Vec<Role> = serde_json::from_value(json!(default_roles())).unwrap();
        let _: GuildChannel = serde_json::from_value(thread("8", INCIDENTS_CHANNEL, "inc-1")).unwrap();
        let _: CurrentApplicationInfo = serde_json::from_value(app_info()).unwrap();
        let request = json!({"name": "health", "description": "Probe", "options": [], "nsfw": false});
        let _: Command = serde_json::from_value(registered(&request, "10")).unwrap();
        let _: serenity::all::DiscordJsonError = serde_json::from_value(error(10007, "Unknown Member")).unwrap();
    }
}
