//! The accept loop: HTTP/1.1, a request's headers within `header_timeout` (so too the next one
//! on an idle connection), at most `max_connections` served at once. A slow or silent client is
//! cut off instead of holding a file descriptor; beyond the cap, connections wait in the
//! kernel's backlog and hold none of ours.
//!
//! HTTP/1.1 only: Alertmanager, Grafana and Prometheus speak it, and hyper's header timeout is
//! an HTTP/1 setting.

use super::{metrics, router, HttpSettings, Ingest};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

/// Where connections come from: a TCP listener, or anything that hands out byte streams (tests
/// wrap one to count the bytes the server reads).
pub trait Listener: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = std::io::Result<(Self::Io, SocketAddr)>> + Send;
    fn local_addr(&self) -> std::io::Result<SocketAddr>;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> std::io::Result<(Self::Io, SocketAddr)> {
        tokio::net::TcpListener::accept(self).await
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        tokio::net::TcpListener::local_addr(self)
    }
}

/// Serves until `shutdown` resolves, then lets the requests under way finish.
pub async fn serve<L: Listener>(
    mut listener: L,
    ingest: Arc<dyn Ingest>,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    metrics::install_in_background();
    tracing::info!(addr = %listener.local_addr()?, max_connections = settings.max_connections, "HTTP server listening");
    let app = router(ingest, settings.clone());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(settings.header_timeout);
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut full_since: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, accept nothing until a connection ends.
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if full_since.is_none_or(|since| since.elapsed() > Duration::from_secs(60)) {
                    tracing::warn!(max_connections = settings.max_connections, "the HTTP server is at its connection cap; new ones wait");
                    full_since = Some(Instant::now());
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, "HTTP connection ended: {error}");
            }
            drop(slot);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// A connection that failed before it was accepted is the client's; anything else (out of file
/// descriptors) pauses the loop a second rather than spinning on it.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!("cannot accept an HTTP connection: {error}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
