//! A real Prometheus Alertmanager as a child process on 127.0.0.1, whose one receiver is a
//! webhook: tests push alerts into its API and hear what it sends. Its log is read as it is
//! written, so a test waits on the lines it needs (never on a timer) and shows them when it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Names a binary to use instead of the one found on PATH.
pub const OVERRIDE: &str = "BELLHOP_ALERTMANAGER";
/// The binary's names: Debian's package, then upstream's.
const NAMES: [&str; 2] = ["prometheus-alertmanager", "alertmanager"];
/// What Alertmanager logs (at debug level) each time its receiver answered 2xx.
pub const NOTIFY_SUCCESS: &str = "msg=\"Notify success\"";
/// Longest wait for Alertmanager to start, or for a line of its log.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running Alertmanager; killed when dropped.
pub struct Alertmanager {
    /// Its API, as `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
    log: Arc<Log>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// Alertmanager's stderr, line by line, and a signal for each new line.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    closed: std::sync::atomic::AtomicBool,
    changed: tokio::sync::Notify,
}

/// How often each step of a group's notifications runs: short, so a test takes seconds.
pub struct Timing {
    pub group_wait: &'static str,
    pub group_interval: &'static str,
    pub repeat_interval: &'static str,
}

/// The binary to run: `$BELLHOP_ALERTMANAGER`, else `prometheus-alertmanager` or `alertmanager`
/// on PATH. Fails the test, saying how to install it, when there is none.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os(OVERRIDE).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(path.is_file(), "{OVERRIDE} names {}, which is not a file", path.display());
        return path;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = NAMES.iter().flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name))).find(|p| executable(p));
    found.unwrap_or_else(|| {
        panic!(
            "Alertmanager is not installed: neither prometheus-alertmanager nor alertmanager is on PATH. \
             scripts/test installs it (apt-get install prometheus-alertmanager); or set {OVERRIDE} to its binary"
        )
    })
}

fn executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// A configuration with one route to one webhook receiver, `webhook`, sent `token` as a bearer
/// token, resolved alerts included.
fn config(webhook: &str, token: &str, timing: &Timing) -> String {
    let Timing { group_wait, group_interval, repeat_interval } = timing;
    format!(
        r#"route:
  receiver: bellhop
  group_by: [alertname]
  group_wait: {group_wait}
  group_interval: {group_interval}
  repeat_interval: {repeat_interval}
receivers:
  - name: bellhop
    webhook_configs:
      - url: "{webhook}"
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: "{token}"
"#
    )
}

impl Alertmanager {
    /// Starts Alertmanager on a free loopback port, clustering off, its state in a temporary
    /// directory; returns once it listens and says it is ready.
    pub async fn start(webhook: &str, token: &str, timing: &Timing) -> Alertmanager {
        let binary = binary();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("alertmanager.yml");
        std::fs::write(&file, config(webhook, token, timing)).expect("the configuration is written");
        let mut child = Command::new(&binary)
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--storage.path={}", dir.path().join("data").display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--cluster.listen-address=")
            .arg("--log.level=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let log = Arc::new(Log::default());
        tokio::spawn(read_log(child.stderr.take().expect("stderr is piped"), log.clone()));
        let mut alertmanager = Alertmanager { url: String::new(), child, log, client: reqwest::Client::new(), _dir: dir };
        let listening = alertmanager.wait_for_line("Alertmanager to listen", |line| line.contains("msg=\"Listening on\"")).await;
        let addr = listening.split("address=").nth(1).and_then(|rest| rest.split_whitespace().next());
        alertmanager.url = format!("http://{}", addr.unwrap_or_else(|| panic!("no address in {listening:?}")));
        let ready = alertmanager.client.get(format!("{}/-/ready", alertmanager.url)).send().await;
        let status = ready.map(|r| r.status().as_u16());
        assert!(matches!(status, Ok(200)), "Alertmanager is not ready ({status:?}); its log:\n{}", alertmanager.log_tail());
        alertmanager
    }

    /// Posts alerts (a JSON array, as Prometheus sends them) to its API.
    pub async fn push(&self, alerts: &serde_json::Value) {
        let response = self.client.post(format!("{}/api/v2/alerts", self.url)).json(alerts).send().await.expect("Alertmanager answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "Alertmanager refused the alerts ({status}): {text}");
    }

    /// Waits until `pattern` has appeared `times` times in its log; fails the test after [`WAIT`].
    pub async fn wait_for_log(&self, what: &str, pattern: &str, times: usize) {
        let count = || self.log.lines.lock().unwrap().iter().filter(|l| l.contains(pattern)).count();
        let waiting = async {
            loop {
                let changed = self.log.changed.notified();
                if count() >= times || self.log.closed.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                changed.await;
            }
        };
        let _ = tokio::time::timeout(WAIT, waiting).await;
        assert!(count() >= times, "timed out waiting for {what}; Alertmanager's log:\n{}", self.log_tail());
    }

    /// The first line of its log that satisfies `wanted`; fails the test if it never comes.
    async fn wait_for_line(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let find = || self.log.lines.lock().unwrap().iter().find(|l| wanted(l)).cloned();
        let waiting = async {
            loop {
                let changed = self.log.changed.notified();
                if let Some(line) = find() {
                    return Some(line);
                }
                if self.log.closed.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(WAIT, waiting).await {
            Ok(Some(line)) => line,
            _ => panic!("timed out waiting for {what}; Alertmanager's log:\n{}", self.log_tail()),
        }
    }

    /// The last lines of its log, for a failing test to show (without the flush every second).
    pub fn log_tail(&self) -> String {
        let lines = self.log.lines.lock().unwrap();
        let told: Vec<&str> = lines.iter().map(String::as_str).filter(|l| !l.contains("msg=flushing")).collect();
        told[told.len().saturating_sub(30)..].join("\n")
    }

    /// Stops it and waits until it is gone.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn read_log(stderr: tokio::process::ChildStderr, log: Arc<Log>) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        log.lines.lock().unwrap().push(line);
        log.changed.notify_waiters();
    }
    log.closed.store(true, std::sync::atomic::Ordering::SeqCst);
    log.changed.notify_waiters();
}
