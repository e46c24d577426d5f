//! Builds the core from a validated configuration.

use crate::config::{Config, ConfigError};
use anyhow::Context as _;
use bellhop_commands::store::Store;
use bellhop_commands::target_db::TargetDb;
use bellhop_commands::templates::{TemplateError, Templates};
use bellhop_commands::{Clock, Core};
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Starts the HTTP server (ingest, webhooks, health, metrics) for `core`; what arrives wakes
/// the core's loop, so alerts are judged and posted at once.
pub async fn start_http(config: &Config, core: &Arc<Core>) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = crate::http::bind(&config.http).await?;
    let addr = listener.local_addr().context("cannot read the HTTP server's address")?;
    let ingest = Arc::new(crate::http::CoreIngest::new(core.clone()));
    let settings = config.http.clone();
    let task = tokio::spawn(async move {
        if let Err(error) = crate::http::serve(listener, ingest, settings, std::future::pending()).await {
            tracing::error!(error = format!("{error:#}"), "the HTTP server stopped");
        }
    });
    Ok((addr, task))
}

/// Polls the Supabase Management API's function statistics on a schedule, when configured; new
/// samples wake the core's loop so it evaluates them at once.
pub fn start_management(config: &Config, core: &Arc<Core>) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some((settings, every)) = config.management.clone() else { return Ok(None) };
    let poller = bellhop_commands::alerts::ManagementPoller::new(settings)?;
    let core = core.clone();
    Ok(Some(tokio::spawn(async move {
        loop {
            match poller.poll(core.alert_engine(), core.clock().now()).await {
                Ok(0) => {}
                Ok(samples) => {
                    tracing::debug!(samples, "function statistics from the Management API");
                    core.wake();
                }
                Err(bellhop_commands::alerts::PollError::RateLimited(seconds)) => {
                    tracing::info!(seconds, "the Management API asks bellhop to wait")
                }
                Err(error) => tracing::warn!(%error, "cannot read the function statistics"),
            }
            tokio::time::sleep(every).await;
        }
    })))
}

/// Opens the store (migrating it), loads the templates, and assembles the core.
pub async fn build_core(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Core> {
    let store = open_store(config).await?;
    let templates = load_templates(config)?;
    // A target URL bellhop cannot use (the transaction pooler, say) is a configuration error.
    let target =
        config.target.as_ref().map(TargetDb::new).transpose().map_err(|error| ConfigError(vec![format!("SUPABASE_DB_URL: {error}")]))?;
    let core = Core::new(config.health.clone(), templates, store, clock)?
        .with_incident_settings(config.incidents.clone())
        .with_target(target)
        .with_remediation(config.remediation.clone())
        .with_alerts(config.alerts.clone(), config.sweep_every)
        .with_management(config.management.clone())?
        .with_retention(config.retention);
    Ok(core)
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(config.store_url.expose_secret()).await?;
    store.migrate().await?;
    Ok(store)
}

/// The templates, with a broken override reported as the configuration error it is (exit 2),
/// naming the file and the variable, rather than as a failing command much later.
fn load_templates(config: &Config) -> anyhow::Result<Templates> {
    Templates::load(config.templates_dir.as_deref()).map_err(|error| match error.downcast_ref::<TemplateError>() {
        Some(problem) if problem.is_configuration() => ConfigError(vec![format!("BELLHOP_TEMPLATES_DIR: {problem}")]).into(),
        _ => error.context("cannot load the templates"),
    })
}
