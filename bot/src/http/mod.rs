//! The inbound HTTP server: samples (`POST /events`), alert webhooks (Alertmanager, Grafana),
//! health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`).
//!
//! The server hands what it receives to an [`Ingest`]: the real one feeds the core
//! ([`CoreIngest`]); tests may give it anything that keeps what it gets.
//!
//! On a public address it holds: the token is checked from the headers before any body is read
//! (`auth`), a body must arrive whole within a deadline and a size (`body`), headers within
//! theirs, and connections are capped (`server`).

mod auth;
mod body;
mod events;
mod hooks;
pub mod metrics;
mod server;

pub use hooks::{DEFAULT_TIMESTAMP_HEADER, MAX_SKEW_SECS};
pub use server::{serve, Listener};

use axum::routing::{get, post};
use axum::Router;
use bellhop_commands::alerts::Receipt;
use bellhop_commands::alerts::{Notification, Sample, SampleError};
use bellhop_commands::Core;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The default address: loopback, so nothing listens outside until configured.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8417";
/// The default body limit: 1 MiB, several thousand samples.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// A request's headers must arrive within this; so must the next request on an idle connection.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A request's body must arrive whole within this, counted from its headers.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections served at once; more wait in the kernel's backlog, holding no descriptor of ours.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How the server listens and whom it believes.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// `Authorization: Bearer <token>` required on ingest; none means loopback only.
    pub token: Option<SecretString>,
    /// The token `/metrics` and `/readyz` require; none means the ingest token (if any).
    pub metrics_token: Option<SecretString>,
    /// Grafana's HMAC-SHA256 secret; when set, an unsigned or badly signed webhook is refused.
    pub grafana_secret: Option<SecretString>,
    /// The header Grafana sends its signed timestamp in; configured, it is required. None reads
    /// [`DEFAULT_TIMESTAMP_HEADER`] when present.
    pub grafana_timestamp_header: Option<String>,
    pub max_body: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            token: None,
            metrics_token: None,
            grafana_secret: None,
            grafana_timestamp_header: None,
            max_body: DEFAULT_MAX_BODY,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl HttpSettings {
    /// The token `/metrics` and `/readyz` require: their own, else the ingest token.
    pub fn scrape_token(&self) -> Option<&SecretString> {
        self.metrics_token.as_ref().or(self.token.as_ref())
    }
}

/// What the server needs from the rest of bellhop: the narrow door it hands things through.
#[async_trait::async_trait]
pub trait Ingest: Send + Sync + 'static {
    /// Takes a batch whole or not at all; on refusal, the index of the first bad sample.
    fn samples(&self, samples: &[Sample<'_>]) -> Result<usize, (usize, SampleError)>;
    /// Keeps one webhook notification. An error means it was not stored.
    async fn webhook(&self, notification: &Notification) -> anyhow::Result<Receipt>;
    /// Whether bellhop can do its work (its store answers); the server asks at most once a second.
    async fn ready(&self) -> anyhow::Result<()>;
    /// Figures read when `/metrics` is scraped (the server asks at most once a second).
    async fn gauges(&self) -> metrics::Gauges;
}

/// The real [`Ingest`]: samples to the core's alert engine, notifications to its store; each
/// wakes the core's loop, so alerts are judged and posted at once, not at the next sweep.
pub struct CoreIngest {
    core: Arc<Core>,
}

impl CoreIngest {
    pub fn new(core: Arc<Core>) -> Self {
        CoreIngest { core }
    }
}

#[async_trait::async_trait]
impl Ingest for CoreIngest {
    fn samples(&self, samples: &[Sample<'_>]) -> Result<usize, (usize, SampleError)> {
        let taken = self.core.alert_engine().ingest_all(samples)?;
        self.core.wake();
        Ok(taken)
    }

    async fn webhook(&self, notification: &Notification) -> anyhow::Result<Receipt> {
        let receipt = self.core.receive_webhook(notification).await?;
        if receipt.changed {
            self.core.wake();
        }
        Ok(receipt)
    }

    async fn ready(&self) -> anyhow::Result<()> {
        self.core.store().pending_ops().await.map(|_| ())
    }

    async fn gauges(&self) -> metrics::Gauges {
        let counts = self.core.alert_engine().counts();
        let store = self.core.store();
        let (outbox, dead) = (store.pending_ops().await.ok(), store.dead_ops().await.ok());
        metrics::Gauges { pending: counts.pending, firing: counts.firing, outbox, dead }
    }
}

/// Shared by every handler.
pub(crate) struct AppState {
    pub ingest: Arc<dyn Ingest>,
    pub settings: HttpSettings,
    /// What `/readyz` and `/metrics` last read from the store: asked at most once a second,
    /// however often they are scraped.
    pub ready: metrics::PerSecond<bool>,
    pub gauges: metrics::PerSecond<metrics::Gauges>,
}

/// The routes, ready to serve. Ingest and scrape handlers each take their token's guard
/// ([`auth::Ingester`], [`auth::Scraper`]), which answers from the headers before any body is
/// read; `/healthz` is open.
pub fn router(ingest: Arc<dyn Ingest>, settings: HttpSettings) -> Router {
    let state = Arc::new(AppState { ingest, settings, ready: Default::default(), gauges: Default::default() });
    Router::new()
        .route("/events", post(events::post_events))
        .route("/hooks/alertmanager", post(hooks::alertmanager))
        .route("/hooks/grafana", post(hooks::grafana))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state)
}

/// Binds where the settings say; with no token, only on loopback (and says so).
pub async fn bind(settings: &HttpSettings) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context as _;
    let mut addr = settings.addr;
    if settings.token.is_none() && !addr.ip().is_loopback() {
        addr = SocketAddr::from(([127, 0, 0, 1], addr.port()));
        tracing::warn!(%addr, "BELLHOP_INGEST_TOKEN is not set: the HTTP server listens on loopback only");
    } else if settings.token.is_none() {
        tracing::info!(%addr, "BELLHOP_INGEST_TOKEN is not set: ingest accepts anyone on loopback");
    }
    tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr} (BELLHOP_HTTP_ADDR)"))
}

async fn readyz(
    _: auth::Scraper,
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> (axum::http::StatusCode, &'static str) {
    let ready = state
        .ready
        .get(|| async {
            let answer = state.ingest.ready().await;
            if let Err(error) = &answer {
                tracing::warn!("not ready: {error:#}");
            }
            answer.is_ok()
        })
        .await;
    match ready {
        true => (axum::http::StatusCode::OK, "ready\n"),
        false => (axum::http::StatusCode::SERVICE_UNAVAILABLE, "the store does not answer\n"),
    }
}
