//! `bellhop demo`: the shell against a simulated platform on 127.0.0.1, with a throwaway store.

use crate::config::{default_shell_users, Config, LogFormat};
use crate::simulated::{Script, SimulatedPlatform};
use bellhop_commands::alerts::{AlertSettings, RuleKind};
use bellhop_commands::health::{HealthSettings, RUNBOOK_FUNCTIONS};
use secrecy::SecretString;
use std::time::Duration;

pub const DEMO_KEY: &str = "demo-anon-key";

/// The demo's configuration for a platform at `url`, with its store in `store_dir`.
pub fn demo_config(url: &str, store_dir: &std::path::Path) -> Config {
    Config {
        health: HealthSettings {
            frontend_url: Some(url.to_string()),
            supabase_url: Some(url.to_string()),
            anon_key: Some(SecretString::from(DEMO_KEY)),
            db_url: None,
            functions: RUNBOOK_FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            rest_table: "plans".into(),
            timeout: Duration::from_secs(10),
            // Short, so the virtual clock's sweeps (every 15 s) do not keep you waiting.
            slow_after: Duration::from_millis(200),
        },
        store_url: SecretString::from(format!("sqlite:{}", store_dir.join("bellhop.sqlite").display())),
        templates_dir: None,
        log_format: LogFormat::Human,
        discord_token: None,
        discord_guild_id: None,
        discord: Default::default(),
        shell_users: default_shell_users(),
        incidents: Default::default(),
        alerts: demo_alerts(),
        sweep_every: Duration::from_secs(15),
        http: crate::http::HttpSettings { addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)), ..Default::default() },
    }
}

/// The runbook's error-rate rule, judged on the demo's sweeps (one sample of invite-user every
/// 15 s): at least 10 samples in its 5 minutes, so it can fire on sweeps alone.
fn demo_alerts() -> AlertSettings {
    let mut settings = AlertSettings::default();
    settings.rules.retain(|rule| rule.kind == RuleKind::ErrorRate);
    for rule in &mut settings.rules {
        rule.min_samples = 10;
    }
    settings
}

pub async fn start_platform() -> std::io::Result<SimulatedPlatform> {
    SimulatedPlatform::start(Script::demo(DEMO_KEY, Duration::from_millis(300))).await
}

pub fn banner(platform: &SimulatedPlatform) -> String {
    format!(
        "bellhop demo: a simulated hotel platform runs on {} (invite-user fails ~15% of the time, trial-signup is slow; no database).\n\
         Try:  /health    /incident declare severity:P1 title:\"Invites failing\"    :advance 6m (with --virtual-clock)    :help\n\
         Alerts: with --virtual-clock, :advance 30m sweeps every 15 s; :fail invite-user and :recover invite-user switch its failures.\n\
         You type as @alice (responder); @bob and @carol are approvers; @dave has no role.",
        platform.addr
    )
}
