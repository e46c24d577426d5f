//! The HTTP server on a public address, started for real on 127.0.0.1:0 in front of a real core:
//! a request without the token costs no body, slow and silent clients are cut off, connections
//! are capped, scrapes need their token and reach the store at most once a second, and a Grafana
//! signature cannot be replayed. Bytes "read by the server" are counted in the stream it reads.

use bellhop::http::{self, CoreIngest, HttpSettings, Ingest};
use bellhop_commands::alerts::Receipt;
use bellhop_commands::alerts::{Notification, Sample, SampleError};
use bellhop_commands::store::Store;
use bellhop_commands::templates::Templates;
use bellhop_commands::{Clock, Core, ManualClock};
use bellhop_tests::settings;
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "ingest-token-0123456789";
const METRICS_TOKEN: &str = "metrics-token-0123456789";
const MIB: usize = 1 << 20;

/// A listener whose connections count every byte the server reads from them.
struct Counting {
    inner: TcpListener,
    read: Arc<AtomicU64>,
}

struct CountingStream {
    inner: TcpStream,
    read: Arc<AtomicU64>,
}

impl http::Listener for Counting {
    type Io = CountingStream;

    async fn accept(&mut self) -> std::io::Result<(CountingStream, SocketAddr)> {
        let (inner, peer) = self.inner.accept().await?;
        Ok((CountingStream { inner, read: self.read.clone() }, peer))
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl AsyncRead for CountingStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.read.fetch_add((buf.filled().len() - before) as u64, Ordering::SeqCst);
        polled
    }
}

impl AsyncWrite for CountingStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The real ingest, counting how often the server asks the store for readiness and figures.
struct Asked {
    inner: CoreIngest,
    ready: AtomicUsize,
    gauges: AtomicUsize,
}

#[async_trait::async_trait]
impl Ingest for Asked {
    fn samples(&self, samples: &[Sample<'_>]) -> Result<usize, (usize, SampleError)> {
        self.inner.samples(samples)
    }
    async fn webhook(&self, notification: &Notification) -> anyhow::Result<Receipt> {
        self.inner.webhook(notification).await
    }
    async fn ready(&self) -> anyhow::Result<()> {
        self.ready.fetch_add(1, Ordering::SeqCst);
        self.inner.ready().await
    }
    async fn gauges(&self) -> http::metrics::Gauges {
        self.gauges.fetch_add(1, Ordering::SeqCst);
        self.inner.gauges().await
    }
}

struct Server {
    addr: SocketAddr,
    url: String,
    /// Bytes the server has read from all its connections.
    read: Arc<AtomicU64>,
    core: Arc<Core>,
    asked: Arc<Asked>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with the ingest token, and `tune`'s changes to the defaults.
    async fn start(tune: impl FnOnce(&mut HttpSettings)) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(ManualClock::new("2026-11-26T12:00:00Z".parse().unwrap()));
        let core = Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).unwrap(), store, clock as Arc<dyn Clock>).unwrap();
        let core = Arc::new(core);
        let asked = Arc::new(Asked { inner: CoreIngest::new(core.clone()), ready: AtomicUsize::new(0), gauges: AtomicUsize::new(0) });
        let mut settings =
            HttpSettings { addr: "127.0.0.1:0".parse().unwrap(), token: Some(SecretString::from(TOKEN)), ..HttpSettings::default() };
        tune(&mut settings);
        let read = Arc::new(AtomicU64::new(0));
        let listener = Counting { inner: http::bind(&settings).await.unwrap(), read: read.clone() };
        let addr = http::Listener::local_addr(&listener).unwrap();
        tokio::spawn(http::serve(listener, asked.clone(), settings, std::future::pending()));
        Server { addr, url: format!("http://{addr}"), read, core, asked, client: reqwest::Client::new(), _dir: dir }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.client.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// Sends `head` and then, without waiting for an answer, `body_len` bytes of body; returns the
/// answer and how many body bytes the client got into its socket.
async fn blast(addr: SocketAddr, head: String, body_len: usize) -> (String, u64) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        let mut sent = 0u64;
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..body_len / chunk.len() {
                match writer.write_all(&chunk).await {
                    Ok(()) => sent += chunk.len() as u64,
                    Err(_) => break,
                }
            }
        }
        // Kept open until the answer is read: a client that half-closes loses it.
        (sent, writer)
    });
    let answer = response(&mut reader).await;
    let (sent, _writer) = sender.await.unwrap();
    (answer, sent)
}

/// One HTTP response: its head and as much body as its Content-Length says, or what came before
/// the server closed the connection (a reset counts as closing: it drops a body it did not read).
async fn response(reader: &mut (impl AsyncRead + Unpin)) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ")?.parse::<usize>().ok());
            if length.is_some_and(|length| body.len() >= length) {
                return text;
            }
        }
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return text,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn post_head(path: &str, authorization: Option<&str>, length: usize) -> String {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    format!("POST {path} HTTP/1.1\r\nHost: bellhop\r\nContent-Type: application/json\r\n{auth}Content-Length: {length}\r\n\r\n")
}

#[tokio::test]
async fn a_mebibyte_without_the_token_is_refused_before_it_is_read() {
    let server = Server::start(|_| {}).await;
    let (answer, sent) = blast(server.addr, post_head("/events", None, MIB), MIB).await;
    let read = server.read.load(Ordering::SeqCst);
    eprintln!("1 MiB without a token: the client pushed {sent} body bytes, the server read {read} bytes in all");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.ends_with("missing `Authorization: Bearer <token>`\n"), "{answer}");
    assert!(read < 64 * 1024, "the server read {read} bytes of a refused 1 MiB request");
    assert_eq!(server.core.alert_engine().ingested(), 0);

    // The yardstick: with the token, the same request is read whole (and refused as not JSON).
    server.read.store(0, Ordering::SeqCst);
    let (answer, _) = blast(server.addr, post_head("/events", Some(&format!("Bearer {TOKEN}")), MIB), MIB).await;
    let read = server.read.load(Ordering::SeqCst);
    eprintln!("the same 1 MiB with the token: the server read {read} bytes");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(read >= MIB as u64, "the server read {read} bytes of a 1 MiB body it took");

    // With the token, a body announced over the limit is refused on its Content-Length alone.
    let small = Server::start(|s| s.max_body = 64 * 1024).await;
    let (answer, _) = blast(small.addr, post_head("/events", Some(&format!("Bearer {TOKEN}")), MIB), MIB).await;
    let read = small.read.load(Ordering::SeqCst);
    eprintln!("1 MiB over a 64 KiB limit, with the token: the server read {read} bytes");
    assert!(answer.starts_with("HTTP/1.1 413") && answer.ends_with("the body is larger than the limit of 65536 bytes\n"), "{answer}");
    assert!(read < 64 * 1024, "the server read {read} bytes of an oversized request");
}

/// A client that sends `bytes` one a second (the slow client's own pace, not a wait of the test's).
fn trickle(mut writer: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>) -> tokio::task::JoinHandle<tokio::net::tcp::OwnedWriteHalf> {
    tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        writer
    })
}

#[tokio::test]
async fn a_client_sending_a_byte_a_second_is_cut_off() {
    let server = Server::start(|s| {
        s.header_timeout = Duration::from_secs(1);
        s.body_timeout = Duration::from_secs(2);
    })
    .await;
    let head = post_head("/events", Some(&format!("Bearer {TOKEN}")), 10);

    // Headers a byte a second: cut off when the header timeout has passed, with no answer.
    let (mut reader, writer) = TcpStream::connect(server.addr).await.unwrap().into_split();
    let started = Instant::now();
    let slow = trickle(writer, head.clone().into_bytes());
    let got = tokio::time::timeout(Duration::from_secs(10), response(&mut reader)).await.expect("cut off within 10 s");
    let lasted = started.elapsed();
    slow.abort();
    eprintln!("headers a byte a second: cut off after {lasted:?}");
    assert_eq!(got, "", "no answer to a request whose headers never ended");
    assert!(lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(4), "{lasted:?}");

    // Headers at once, then the body a byte a second: 408 when the body timeout has passed.
    let (mut reader, mut writer) = TcpStream::connect(server.addr).await.unwrap().into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let slow = trickle(writer, vec![b' '; 10]);
    let got = tokio::time::timeout(Duration::from_secs(10), response(&mut reader)).await.expect("an answer within 10 s");
    let lasted = started.elapsed();
    slow.abort();
    eprintln!("body a byte a second: answered after {lasted:?}");
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.ends_with("the body did not arrive within 2s\n"), "{got}");
    assert!(lasted >= Duration::from_millis(1900) && lasted < Duration::from_secs(5), "{lasted:?}");
    assert_eq!(server.core.alert_engine().ingested(), 0, "nothing of the cut request was kept");

    // A kept-alive connection answered quickly, then silent: the next request's headers are
    // late too, and it is closed.
    let (mut reader, mut writer) = TcpStream::connect(server.addr).await.unwrap().into_split();
    for _ in 0..2 {
        writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: bellhop\r\n\r\n").await.unwrap();
        assert!(response(&mut reader).await.starts_with("HTTP/1.1 200"), "kept alive between requests");
    }
    let started = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(10), reader.read(&mut [0u8; 16])).await.expect("closed within 10 s");
    let lasted = started.elapsed();
    assert!(matches!(closed, Ok(0) | Err(_)), "closed without an answer: {closed:?}");
    assert!(lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(4), "{lasted:?}");
}

#[tokio::test]
async fn beyond_the_connection_cap_a_client_waits_until_a_connection_ends() {
    let server = Server::start(|s| {
        s.max_connections = 1;
        s.header_timeout = Duration::from_secs(1);
    })
    .await;
    // A silent connection takes the only slot until the header timeout cuts it.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let (status, line) = server.get("/healthz", None).await;
    let waited = started.elapsed();
    eprintln!("a second client behind a silent one, cap 1: answered after {waited:?}");
    assert_eq!((status, line.as_str()), (200, "ok\n"));
    assert!(waited >= Duration::from_millis(900), "served before the silent connection ended: {waited:?}");
    assert_eq!(response(&mut silent).await, "", "the silent connection was closed without an answer");
}

#[tokio::test]
async fn scrapes_need_their_token_and_reach_the_store_at_most_once_a_second() {
    let server = Server::start(|s| s.metrics_token = Some(SecretString::from(METRICS_TOKEN))).await;
    for path in ["/metrics", "/readyz"] {
        assert_eq!(server.get(path, None).await, (401, "missing `Authorization: Bearer <token>`\n".into()), "{path}");
        assert_eq!(server.get(path, Some(TOKEN)).await, (401, "wrong metrics token\n".into()), "{path}: not the ingest token");
    }
    assert_eq!(server.get("/healthz", None).await, (200, "ok\n".into()), "liveness needs no token");
    assert_eq!((server.asked.ready.load(Ordering::SeqCst), server.asked.gauges.load(Ordering::SeqCst)), (0, 0));

    let started = Instant::now();
    let scrapes = (0..20).flat_map(|_| ["/metrics", "/readyz"]).map(|path| server.get(path, Some(METRICS_TOKEN)));
    let answers = futures::future::join_all(scrapes).await;
    let seconds = started.elapsed().as_secs() as usize;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let (ready, gauges) = (server.asked.ready.load(Ordering::SeqCst), server.asked.gauges.load(Ordering::SeqCst));
    eprintln!("40 scrapes in {:?}: the store was asked {ready} time(s) for readiness, {gauges} for figures", started.elapsed());
    assert!(ready >= 1 && ready <= seconds + 1, "{ready} readiness reads in {seconds} s");
    assert!(gauges >= 1 && gauges <= seconds + 1, "{gauges} figure reads in {seconds} s");

    let shared = Server::start(|_| {}).await;
    assert_eq!(shared.get("/metrics", Some(TOKEN)).await.0, 200, "without a metrics token of their own, the ingest token");
    assert_eq!(shared.get("/readyz", None).await.0, 401);
}

fn grafana_body() -> String {
    r#"{"version":"1","groupKey":"{}:{alertname=\"Edge latency\"}","status":"firing","receiver":"bellhop",
    "alerts":[{"status":"firing","labels":{"alertname":"Edge latency"},"startsAt":"2026-11-26T11:50:00Z","fingerprint":"57c6d9296de2ad39"}]}"#
        .to_string()
}

fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}:{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn a_grafana_signature_older_than_five_minutes_is_refused_as_a_replay() {
    const SECRET: &str = "grafana-secret-0123456789";
    let server = Server::start(|s| {
        s.grafana_secret = Some(SecretString::from(SECRET));
        s.grafana_timestamp_header = Some("X-Signed-At".into());
    })
    .await;
    let body = grafana_body();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let post = |timestamp_header: &'static str, at: i64| {
        let timestamp = at.to_string();
        let signature = sign(SECRET, &timestamp, &body);
        let request = server.client.post(format!("{}/hooks/grafana", server.url)).bearer_auth(TOKEN).body(body.clone());
        async move {
            let response =
                request.header("X-Grafana-Alerting-Signature", signature).header(timestamp_header, timestamp).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let (status, line) = post("X-Signed-At", now - 360).await;
    assert_eq!(status, 401);
    assert!(
        line.starts_with("the signature is 36") && line.ends_with("s old; bellhop refuses any older than 5 minutes as a replay\n"),
        "{line}"
    );
    assert_eq!(
        post("X-Grafana-Alerting-Timestamp", now).await,
        (401, "missing the X-Signed-At header (BELLHOP_GRAFANA_TIMESTAMP_HEADER): the signature must cover a timestamp\n".into()),
        "the configured header is the one read"
    );
    // Kept now as new: neither refused notification was stored.
    assert_eq!(post("X-Signed-At", now).await, (200, "stored 1 alert(s) of group 1; its post follows\n".into()));
}
