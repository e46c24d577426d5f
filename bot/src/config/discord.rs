//! The Discord part of the configuration: the guild, the channels bellhop posts in, the role ids
//! holding each bellhop role, and the REST proxy (which carries the bot token).

use super::{DiscordConfig, Reader};

impl Reader {
    pub(super) fn guild_id(&mut self) -> Option<u64> {
        let text = self.text("DISCORD_GUILD_ID")?;
        match text.parse::<u64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                self.problem("DISCORD_GUILD_ID", "must be a server id (a number; Discord: right-click the server → Copy Server ID)");
                None
            }
        }
    }

    pub(super) fn discord(&mut self) -> DiscordConfig {
        let http_proxy = self.text("DISCORD_HTTP_PROXY").and_then(|text| match proxy_base(&text) {
            Ok(base) => Some(base),
            Err(what) => {
                self.problem("DISCORD_HTTP_PROXY", what);
                None
            }
        });
        DiscordConfig {
            http_proxy,
            incidents_channel: self.channel_id("DISCORD_INCIDENTS_CHANNEL"),
            status_channel: self.channel_id("DISCORD_STATUS_CHANNEL"),
            ops_channel: self.channel_id("DISCORD_OPS_CHANNEL"),
            responder_roles: self.role_ids("DISCORD_RESPONDER_ROLES"),
            approver_roles: self.role_ids("DISCORD_APPROVER_ROLES"),
            admin_roles: self.role_ids("DISCORD_ADMIN_ROLES"),
        }
    }

    fn channel_id(&mut self, env: &'static str) -> Option<u64> {
        let text = self.text(env)?;
        match snowflake(&text) {
            Some(id) => Some(id),
            None => {
                self.problem(env, "must be a channel id (a number; Discord: right-click the channel → Copy Channel ID)");
                None
            }
        }
    }

    fn role_ids(&mut self, env: &'static str) -> Vec<u64> {
        let Some(text) = self.text(env) else { return Vec::new() };
        let ids: Option<Vec<u64>> = text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(snowflake).collect();
        match ids {
            Some(ids) => ids,
            None => {
                self.problem(env, "must be role ids separated by commas (Discord: Server Settings → Roles → right-click → Copy Role ID)");
                Vec::new()
            }
        }
    }
}

/// A REST proxy base the bot token may be sent to: plain HTTP only on this machine (loopback),
/// HTTPS anywhere. Anything else would carry the token in clear text across a network.
fn proxy_base(text: &str) -> Result<String, &'static str> {
    super::token_base(text, false).map_err(|refused| match refused {
        super::BaseRefused::Shape => "must be a base URL without a path, like http://127.0.0.1:3000 or https://proxy.example.com",
        super::BaseRefused::PlainHttp => {
            "carries the bot token, so plain http:// is only for this machine (127.0.0.1, localhost, [::1]); use https:// for any other host"
        }
    })
}

fn snowflake(text: &str) -> Option<u64> {
    text.trim().parse::<u64>().ok().filter(|id| *id > 0)
}
