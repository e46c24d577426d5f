//! The real Alertmanager in front of a real bellhop: an alert pushed into Alertmanager's API
//! comes out of bellhop's loop as one post in the ops channel, Alertmanager's repeated
//! notifications of it change nothing, and its end resolves the post with a notice.
//! Fails (never skips) when Alertmanager is not installed: `scripts/test` installs it.

use bellhop::config::Config;
use bellhop_commands::{Post, SystemClock};
use bellhop_tests::alertmanager::{Alertmanager, Timing, NOTIFY_SUCCESS, WAIT};
use bellhop_tests::CollectingPort;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

const TOKEN: &str = "ingest-token-alertmanager";
/// One second to the first notification and between flushes; a firing group is sent again
/// at the second flush after the last notification, so a repeat is heard within seconds.
const TIMING: Timing = Timing { group_wait: "1s", group_interval: "1s", repeat_interval: "1s" };

/// bellhop as `bellhop run` assembles it from its configuration: the store, the HTTP server on
/// a free loopback port, and the real-time loop posting into a collecting chat.
struct Bellhop {
    url: String,
    port: Arc<CollectingPort>,
    _dir: tempfile::TempDir,
}

impl Bellhop {
    async fn start() -> Bellhop {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let env: HashMap<String, String> = [
            ("FRONTEND_URL", "http://127.0.0.1:9".to_string()),
            ("BELLHOP_DATABASE_URL", format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())),
            ("BELLHOP_HTTP_ADDR", "127.0.0.1:0".to_string()),
            ("BELLHOP_INGEST_TOKEN", TOKEN.to_string()),
            ("BELLHOP_SWEEP_EVERY", "1h".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let config = Config::from_sources(&toml::Table::new(), &env).expect("the test configuration is valid");
        let core = Arc::new(bellhop::app::build_core(&config, Arc::new(SystemClock)).await.expect("the core builds"));
        let (addr, _server) = bellhop::app::start_http(&config, &core).await.expect("the HTTP server starts");
        let port = Arc::new(CollectingPort::default());
        tokio::spawn(bellhop::scheduler::run(core, port.clone()));
        Bellhop { url: format!("http://{addr}"), port, _dir: dir }
    }

    /// Waits until the chat shows what `done` wants; on failure, shows the chat and Alertmanager's log.
    async fn wait(&self, alertmanager: &Alertmanager, what: &str, done: impl Fn(&CollectingPort) -> bool) {
        if tokio::time::timeout(WAIT, self.port.until(done)).await.is_err() {
            panic!(
                "timed out waiting for {what}; posted: {:?}, edited: {:?}; Alertmanager's log:\n{}",
                self.port.titles(),
                self.port.edits.lock().unwrap(),
                alertmanager.log_tail()
            );
        }
    }
}

/// One alert as Prometheus pushes it; with `ends_at`, its end.
fn alert(starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) -> serde_json::Value {
    let mut alert = json!({
        "labels": {"alertname": "HighErrors", "severity": "critical", "function": "invite-user"},
        "annotations": {"summary": "invite-user 5xx above 5%"},
        "startsAt": starts_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    if let Some(end) = ends_at {
        alert["endsAt"] = json!(end.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    json!([alert])
}

fn field<'a>(post: &'a Post, name: &str) -> Option<&'a str> {
    post.fields.iter().find(|f| f.name == name).map(|f| f.value.as_str())
}

#[tokio::test]
async fn an_alert_pushed_into_alertmanager_is_posted_once_and_its_end_resolves_it() {
    let bellhop = Bellhop::start().await;
    let alertmanager = Alertmanager::start(&format!("{}/hooks/alertmanager", bellhop.url), TOKEN, &TIMING).await;
    let started = Utc::now();
    alertmanager.push(&alert(started, None)).await;

    bellhop.wait(&alertmanager, "the group's post", |port| !port.titles().is_empty()).await;
    assert_eq!(bellhop.port.titles(), ["🚨 Alertmanager: HighErrors (alert 1)"]);
    let post = bellhop.port.posts.lock().unwrap()[0].1.clone();
    let line = format!("🔴 **HighErrors** [critical] — invite-user 5xx above 5% · since <time:{}:", started.timestamp());
    assert!(post.body.starts_with(&line), "{}", post.body);
    assert_eq!(field(&post, "Alerts"), Some("1 firing, 0 resolved"));
    assert_eq!(post.pings.iter().map(|p| p.label()).collect::<Vec<_>>(), ["@on-call"], "a critical group pages on-call");

    // Alertmanager sends the firing group again (repeat_interval); bellhop answers, posts nothing.
    alertmanager.wait_for_log("Alertmanager to repeat the firing notification", NOTIFY_SUCCESS, 2).await;
    alertmanager.push(&alert(started, Some(Utc::now()))).await;

    let notice = "✅ Alertmanager HighErrors resolved (alert 1)";
    let resolved = "✅ Resolved: Alertmanager HighErrors (alert 1)";
    bellhop
        .wait(&alertmanager, "the resolve notice and the resolved post", |port| {
            port.titles().iter().any(|t| t == notice) && port.edits.lock().unwrap().iter().any(|(_, title)| title == resolved)
        })
        .await;
    assert_eq!(bellhop.port.titles(), ["🚨 Alertmanager: HighErrors (alert 1)", notice], "one post for the group, then its notice");
    let edited = bellhop.port.edited.lock().unwrap().clone();
    assert_eq!(edited.iter().map(|(key, post)| (key.as_str(), post.title.as_str())).collect::<Vec<_>>(), [("1", resolved)]);
    let post = &edited[0].1;
    assert!(post.body.starts_with("🟢 **HighErrors** [critical] — invite-user 5xx above 5% · resolved <time:"), "{}", post.body);
    assert_eq!(field(post, "Alerts"), Some("0 firing, 1 resolved"));
    let notice = bellhop.port.posts.lock().unwrap()[1].1.clone();
    assert!(notice.body.starts_with("All 1 alert(s) of the group resolved after "), "{}", notice.body);
    alertmanager.stop().await;
}
