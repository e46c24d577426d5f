//! The Web API as the adapter uses it: the real slack-morphism client with the bot token, its
//! errors judged as the outbox needs them, and `response_url` answers.

use anyhow::Context as _;
use bellhop_commands::DeliveryError;
use secrecy::{ExposeSecret, SecretString};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::sync::Arc;
use std::time::Duration;

/// Slack's answer must come within this; an operation that hangs must not stall the outbox.
const CALL_WITHIN: Duration = Duration::from_secs(20);

pub struct Api {
    pub client: Arc<SlackHyperClient>,
    token: SlackApiToken,
    /// For `response_url`, which takes no token.
    web: reqwest::Client,
}

impl Api {
    /// The client for `api_url` (`https://slack.com/api`; a test's fake on plain http).
    pub fn new(api_url: &str, bot_token: &SecretString) -> anyhow::Result<Api> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("cannot load the system's CA certificates for Slack (install ca-certificates)")?
            // Production is https; plain http is allowed for a fake on loopback in tests.
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector = SlackClientHyperConnector::from(https).with_slack_api_url(api_url.trim_end_matches('/'));
        let web = reqwest::Client::builder().timeout(CALL_WITHIN).build().context("cannot build the HTTP client for Slack's answers")?;
        Ok(Api {
            client: Arc::new(SlackClient::new(connector)),
            token: SlackApiToken::new(SlackApiTokenValue(bot_token.expose_secret().to_string())),
            web,
        })
    }

    /// A session with the bot token, for one call: `timed(api.session().chat_update(&request))`.
    pub fn session(&self) -> SlackClientSession<'_, SlackClientHyperHttpsConnector> {
        self.client.open_session(&self.token)
    }

    /// Answers a slash command through its `response_url`: in the channel, or only to the person.
    pub async fn respond(&self, url: &str, text: &str, blocks: &serde_json::Value, in_channel: bool) -> anyhow::Result<()> {
        let body = serde_json::json!({
            "response_type": if in_channel { "in_channel" } else { "ephemeral" },
            "replace_original": false,
            "text": text,
            "blocks": blocks,
        });
        let response = self.web.post(url).json(&body).send().await.context("cannot answer through the response URL")?;
        if !response.status().is_success() {
            anyhow::bail!("Slack refused the answer: HTTP {}", response.status());
        }
        Ok(())
    }
}

/// Runs one Web API call within the time limit.
pub async fn timed<T>(call: impl std::future::Future<Output = ClientResult<T>>) -> Result<T, SlackError> {
    match tokio::time::timeout(CALL_WITHIN, call).await {
        Ok(result) => result.map_err(SlackError::from),
        Err(_) => Err(SlackError::TimedOut),
    }
}

/// A failed call, as much as the adapter needs to judge it.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack's own error code (`channel_not_found`, `message_not_found`, …).
    #[error("Slack answered {0}")]
    Api(String),
    #[error("Slack asks to wait {0:?}")]
    RateLimited(Duration),
    #[error("Slack answered HTTP {0}")]
    Http(u16),
    #[error("Slack did not answer within {CALL_WITHIN:?}")]
    TimedOut,
    #[error("cannot reach Slack: {0}")]
    Transport(String),
}

impl From<SlackClientError> for SlackError {
    fn from(error: SlackClientError) -> SlackError {
        match error {
            SlackClientError::ApiError(api) => SlackError::Api(api.code),
            SlackClientError::RateLimitError(limit) => SlackError::RateLimited(limit.retry_after.unwrap_or(Duration::from_secs(30))),
            SlackClientError::HttpError(http) => SlackError::Http(http.status_code.as_u16()),
            other => SlackError::Transport(other.to_string()),
        }
    }
}

impl SlackError {
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api(code) => Some(code),
            _ => None,
        }
    }

    /// As the outbox judges it: wait as long as Slack asks; a refusal that cannot pass later is
    /// permanent; a message that is no more is gone; anything else is tried again.
    pub fn judge(self, what: &str) -> DeliveryError {
        let error = anyhow::anyhow!("{what}: {self}");
        match &self {
            SlackError::RateLimited(after) => DeliveryError::Throttled(*after, error),
            SlackError::Api(code) if code == "ratelimited" => DeliveryError::Throttled(Duration::from_secs(30), error),
            SlackError::Api(code) if code == "message_not_found" => DeliveryError::Gone(error),
            SlackError::Api(code) if TRANSIENT.contains(&code.as_str()) => DeliveryError::Retry(error),
            SlackError::Api(_) => DeliveryError::Permanent(error),
            SlackError::Http(status) if (400..500).contains(status) && *status != 408 => DeliveryError::Permanent(error),
            SlackError::Http(_) | SlackError::TimedOut | SlackError::Transport(_) => DeliveryError::Retry(error),
        }
    }
}

/// Slack's codes for a failure on its side that may pass.
const TRANSIENT: &[&str] = &["internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slacks_errors_map_to_the_outboxs_kinds() {
        let kind = |error: SlackError| error.judge("x").kind();
        for permanent in ["channel_not_found", "not_in_channel", "is_archived", "invalid_blocks", "msg_too_long", "invalid_auth"] {
            assert_eq!(kind(SlackError::Api(permanent.into())), "permanent", "{permanent}");
        }
        assert_eq!(kind(SlackError::Api("message_not_found".into())), "gone");
        assert_eq!(kind(SlackError::Api("ratelimited".into())), "throttled");
        assert!(matches!(SlackError::RateLimited(Duration::from_secs(7)).judge("x"), DeliveryError::Throttled(d, _) if d.as_secs() == 7));
        assert_eq!(kind(SlackError::Http(503)), "retry");
        assert_eq!(kind(SlackError::TimedOut), "retry");
    }
}
