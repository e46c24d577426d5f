//! The Slack part of the configuration: the two tokens, the channels bellhop posts in, the user
//! groups holding each bellhop role, and the user groups its pages mention beside Discord.

use super::{Reader, SlackConfig};
use secrecy::SecretString;

/// Where the Web API is, unless `SLACK_API_URL` says otherwise.
pub const SLACK_API: &str = "https://slack.com/api";

impl Reader {
    pub(super) fn slack(&mut self) -> SlackConfig {
        let bot = self.token("SLACK_BOT_TOKEN", "xoxb-", "the bot token (OAuth & Permissions → Bot User OAuth Token, xoxb-…)");
        let app = self.token(
            "SLACK_APP_TOKEN",
            "xapp-",
            "an app-level token with connections:write (Basic Information → App-Level Tokens, xapp-…)",
        );
        let tokens = match (bot, app) {
            (Some(bot), Some(app)) => Some((bot, app)),
            (Some(_), None) if !self.values.contains_key("SLACK_APP_TOKEN") => {
                self.problems
                    .push("SLACK_APP_TOKEN is not set: Slack needs both tokens, the app's (xapp-…, Socket Mode) beside the bot's".into());
                None
            }
            (None, Some(_)) if !self.values.contains_key("SLACK_BOT_TOKEN") => {
                self.problems
                    .push("SLACK_BOT_TOKEN is not set: Slack needs both tokens, the bot's (xoxb-…, the Web API) beside the app's".into());
                None
            }
            _ => None,
        };
        let api_url = match self.text("SLACK_API_URL").map(|text| super::token_base(&text, true)) {
            Some(Ok(base)) => base,
            Some(Err(super::BaseRefused::Shape)) => {
                self.problem("SLACK_API_URL", "must be an https:// URL; it is https://slack.com/api unless a test points it elsewhere");
                SLACK_API.to_string()
            }
            Some(Err(super::BaseRefused::PlainHttp)) => {
                self.problem(
                    "SLACK_API_URL",
                    "receives the bot token, so plain http:// is only for this machine (127.0.0.1, localhost, [::1]); use https://",
                );
                SLACK_API.to_string()
            }
            None => SLACK_API.to_string(),
        };
        let mut pages = std::collections::BTreeMap::new();
        for (env, label) in [
            ("SLACK_PAGE_ONCALL", "on-call"),
            ("SLACK_PAGE_SYSADMIN", "sysadmin"),
            ("SLACK_PAGE_INFRA", "infrastructure"),
            ("SLACK_PAGE_APPROVERS", "approvers"),
            ("SLACK_PAGE_SECURITY", "security"),
        ] {
            match self.slack_ids(env, 'S', GROUP).as_slice() {
                [] => {}
                [group] => {
                    pages.insert(label.to_string(), group.clone());
                }
                _ => self.problem(env, "must be one user group id (a page mentions one group)"),
            }
        }
        SlackConfig {
            tokens,
            api_url,
            incidents_channel: self.slack_channel("SLACK_INCIDENTS_CHANNEL"),
            status_channel: self.slack_channel("SLACK_STATUS_CHANNEL"),
            ops_channel: self.slack_channel("SLACK_OPS_CHANNEL"),
            responder_groups: self.slack_ids("SLACK_RESPONDER_GROUPS", 'S', GROUP),
            approver_groups: self.slack_ids("SLACK_APPROVER_GROUPS", 'S', GROUP),
            admin_groups: self.slack_ids("SLACK_ADMIN_GROUPS", 'S', GROUP),
            pages,
        }
    }

    /// A token of the right kind: a bot token where the app token belongs (or the reverse) is
    /// named, never shown.
    fn token(&mut self, env: &'static str, prefix: &str, what: &str) -> Option<SecretString> {
        let text = self.text(env)?;
        if text.starts_with(prefix) && text.len() > prefix.len() + 3 && !text.contains(char::is_whitespace) {
            return Some(SecretString::from(text));
        }
        let kind = match text.get(..5) {
            Some("xoxb-") => " (this is a bot token)",
            Some("xapp-") => " (this is an app-level token)",
            Some("xoxp-") => " (this is a user token)",
            _ => "",
        };
        self.problem(env, &format!("must be {what}{kind}"));
        None
    }

    fn slack_channel(&mut self, env: &'static str) -> Option<String> {
        let text = self.text(env)?;
        match slack_id(&text, &['C', 'G']) {
            true => Some(text),
            false => {
                self.problem(env, "must be a channel id like C0123ABCD (Slack: the channel's name → About → Channel ID)");
                None
            }
        }
    }

    fn slack_ids(&mut self, env: &'static str, first: char, what: &str) -> Vec<String> {
        let Some(text) = self.text(env) else { return Vec::new() };
        let ids: Vec<String> = text.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect();
        if ids.is_empty() || !ids.iter().all(|id| slack_id(id, &[first])) {
            self.problem(env, what);
            return Vec::new();
        }
        ids
    }
}

const GROUP: &str =
    "must be user group ids like S0123ABCD, separated by commas (Slack: the group's page → ⋯ → Copy group ID; or usergroups.list)";

/// Slack's ids: a kind letter, then upper-case letters and digits.
pub fn slack_id(text: &str, first: &[char]) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && text.len() >= 2
        && text.len() <= 24
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}
