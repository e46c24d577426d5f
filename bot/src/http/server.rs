//! The accept loop: HTTP/1.1, a request's headers within `header_timeout` (so too the next one
//! on an idle connection), at most `max_connections` served at once. A slow or silent client is
//! cut off instead of holding a file descriptor; beyond the cap, connections wait in the
//! kernel's backlog and hold none of ours.
//!
//! The header deadline is watched per connection, not per request: hyper's own
//! `header_read_timeout` arms a timer for every request, which cost single-sample ingest 3–16 %
//! of its throughput side by side. Here each connection notes when it started
//! waiting for a request's headers (two atomic stores a request), and a coarse per-connection
//! check closes it once that wait passed the timeout.
//!
//! HTTP/1.1 only: Alertmanager, Grafana and Prometheus speak it.

use super::{metrics, router, HttpSettings, Ingest};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
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
    let http = hyper::server::conn::http1::Builder::new();
    let clock = Uptime(Instant::now());
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
        let waiting = Arc::new(AtomicU64::new(clock.now()));
        let service = Watched { inner: app.clone(), waiting: waiting.clone(), clock };
        let connection = http.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        let header_timeout = settings.header_timeout;
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(error) = ended {
                    tracing::debug!(%peer, "HTTP connection ended: {error}");
                },
                () = headers_late(&waiting, clock, header_timeout) => tracing::debug!(%peer, "HTTP connection closed: no request headers within {header_timeout:?}"),
            }
            drop(slot);
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Milliseconds since the server started, plus one: 0 means "not waiting for headers".
#[derive(Clone, Copy)]
struct Uptime(Instant);

impl Uptime {
    fn now(self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

/// Resolves once the connection has waited longer than `timeout` for a request's headers:
/// checked a few times per timeout, so a connection is closed within a quarter of it late.
async fn headers_late(waiting: &AtomicU64, clock: Uptime, timeout: Duration) {
    let mut check = tokio::time::interval((timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let limit = timeout.as_millis() as u64;
    loop {
        check.tick().await;
        let since = waiting.load(Ordering::Relaxed);
        if since != 0 && clock.now().saturating_sub(since) > limit {
            return;
        }
    }
}

/// The router, noting on its connection when a request's headers arrived (hyper calls the
/// service once it parsed them) and when the answer left (the next request's wait begins).
#[derive(Clone)]
struct Watched<S> {
    inner: S,
    waiting: Arc<AtomicU64>,
    clock: Uptime,
}

impl<S, B> tower_service::Service<axum::http::Request<B>> for Watched<S>
where
    S: tower_service::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answering<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        self.waiting.store(0, Ordering::Relaxed);
        Answering { answer: self.inner.call(request), waiting: self.waiting.clone(), clock: self.clock }
    }
}

pin_project_lite::pin_project! {
    /// A request's answer; once it is ready, the connection waits for the next request's
    /// headers. (A named future rather than a boxed one: no allocation per request.)
    pub(super) struct Answering<F> {
        #[pin]
        answer: F,
        waiting: Arc<AtomicU64>,
        clock: Uptime,
    }
}

impl<F: Future> Future for Answering<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        let this = self.project();
        let answered = std::task::ready!(this.answer.poll(cx));
        this.waiting.store(this.clock.now(), Ordering::Relaxed);
        std::task::Poll::Ready(answered)
    }
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
