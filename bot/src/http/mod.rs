//! The inbound HTTP server: samples (`POST /events`), alert webhooks (Alertmanager, Grafana),
//! health (`/healthz`, `/readyz`) and Prometheus metrics (`/metrics`).
//!
//! The server hands what it receives to an [`Ingest`]: the real one feeds the core
//! ([`CoreIngest`]); tests may give it anything that keeps what it gets.

mod auth;
mod events;
mod hooks;
pub mod metrics;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use bellhop_commands::alerts::{Notification, Sample, SampleError};
use bellhop_commands::store::Receipt;
use bellhop_commands::Core;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;

/// The default address: loopback, so nothing listens outside until configured.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8417";
/// The default body limit: 1 MiB, several thousand samples.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How the server listens and whom it believes.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub addr: SocketAddr,
    /// `Authorization: Bearer <token>` required on ingest; none means loopback only.
    pub token: Option<SecretString>,
    /// Grafana's HMAC-SHA256 secret; when set, an unsigned or badly signed webhook is refused.
    pub grafana_secret: Option<SecretString>,
    pub max_body: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            token: None,
            grafana_secret: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// What the server needs from the rest of bellhop: the narrow door it hands things through.
#[async_trait::async_trait]
pub trait Ingest: Send + Sync + 'static {
    /// Takes a batch whole or not at all; on refusal, the index of the first bad sample.
    fn samples(&self, samples: &[Sample]) -> Result<usize, (usize, SampleError)>;
    /// Keeps one webhook notification. An error means it was not stored.
    async fn webhook(&self, notification: &Notification) -> anyhow::Result<Receipt>;
    /// Whether bellhop can do its work (its store answers).
    async fn ready(&self) -> anyhow::Result<()>;
    /// Figures read when `/metrics` is scraped.
    async fn gauges(&self) -> metrics::Gauges;
}

/// The real [`Ingest`]: samples to the core's alert engine, notifications to its store; each
/// wakes the core's loop, so alerts are judged and posted at once, not at the next sweep.
pub struct CoreIngest {
    core: Arc<Core>,
    /// The store's figures, read at most once a second however often `/metrics` is scraped.
    gauges: tokio::sync::Mutex<Option<(std::time::Instant, metrics::Gauges)>>,
}

impl CoreIngest {
    pub fn new(core: Arc<Core>) -> Self {
        CoreIngest { core, gauges: Default::default() }
    }
}

#[async_trait::async_trait]
impl Ingest for CoreIngest {
    fn samples(&self, samples: &[Sample]) -> Result<usize, (usize, SampleError)> {
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
        let mut cached = self.gauges.lock().await;
        let fresh = cached.filter(|(at, _)| at.elapsed() < std::time::Duration::from_secs(1)).map(|(_, g)| g);
        let store = match fresh {
            Some(gauges) => gauges,
            None => {
                let store = self.core.store();
                let gauges =
                    metrics::Gauges { outbox: store.pending_ops().await.ok(), dead: store.dead_ops().await.ok(), ..Default::default() };
                *cached = Some((std::time::Instant::now(), gauges));
                gauges
            }
        };
        metrics::Gauges { pending: counts.pending, firing: counts.firing, ..store }
    }
}

/// Shared by every handler.
pub(crate) struct AppState {
    pub ingest: Arc<dyn Ingest>,
    pub settings: HttpSettings,
}

/// The routes, ready to serve.
pub fn router(ingest: Arc<dyn Ingest>, settings: HttpSettings) -> Router {
    let max_body = settings.max_body;
    let state = Arc::new(AppState { ingest, settings });
    Router::new()
        .route("/events", post(events::post_events))
        .route("/hooks/alertmanager", post(hooks::alertmanager))
        .route("/hooks/grafana", post(hooks::grafana))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .layer(DefaultBodyLimit::max(max_body))
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

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    ingest: Arc<dyn Ingest>,
    settings: HttpSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    metrics::install();
    tracing::info!(addr = %listener.local_addr()?, "HTTP server listening");
    axum::serve(listener, router(ingest, settings)).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

async fn readyz(axum::extract::State(state): axum::extract::State<Arc<AppState>>) -> (axum::http::StatusCode, &'static str) {
    match state.ingest.ready().await {
        Ok(()) => (axum::http::StatusCode::OK, "ready\n"),
        Err(error) => {
            tracing::warn!("not ready: {error:#}");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "the store does not answer\n")
        }
    }
}
