//! The HTTP ingest server, started for real on 127.0.0.1:0 in front of a real core and store:
//! samples feed the alerts, webhook notifications become one post per group (edited, resolved),
//! and every mistake gets one line and keeps nothing.

use bellhop::http::{self, CoreIngest, HttpSettings, Ingest};
use bellhop_commands::alerts::Receipt;
use bellhop_commands::alerts::{AlertSettings, Level, Notification, Sample, SampleError};
use bellhop_commands::store::Store;
use bellhop_commands::templates::Templates;
use bellhop_commands::{ChatPort, Clock, Core, ManualClock};
use bellhop_tests::{metric, on_both_stores, settings, CollectingPort};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const TOKEN: &str = "ingest-token-0123456789";

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

/// A running server, the core behind it, and the chat its loop posts to.
struct Server {
    url: String,
    core: Arc<Core>,
    clock: Arc<ManualClock>,
    port: Arc<CollectingPort>,
    client: reqwest::Client,
}

/// An [`Ingest`] whose store fails the first webhook, like a database restarting.
struct FailsOnce {
    inner: CoreIngest,
    failed: AtomicBool,
}

#[async_trait::async_trait]
impl Ingest for FailsOnce {
    fn samples(&self, samples: &[Sample<'_>]) -> Result<usize, (usize, SampleError)> {
        self.inner.samples(samples)
    }
    async fn webhook(&self, notification: &Notification) -> anyhow::Result<Receipt> {
        if !self.failed.swap(true, Ordering::SeqCst) {
            anyhow::bail!("the store is restarting");
        }
        self.inner.webhook(notification).await
    }
    async fn ready(&self) -> anyhow::Result<()> {
        self.inner.ready().await
    }
    async fn gauges(&self) -> http::metrics::Gauges {
        self.inner.gauges().await
    }
}

impl Server {
    async fn start(store: &str, token: Option<&str>, grafana_secret: Option<&str>, flaky: bool) -> Server {
        Server::start_with(store, token, grafana_secret, flaky, AlertSettings::default()).await
    }

    async fn start_with(store: &str, token: Option<&str>, grafana_secret: Option<&str>, flaky: bool, alerts: AlertSettings) -> Server {
        let store = Store::connect(store).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let core = Core::new(settings("http://127.0.0.1:9", &[]), Templates::load(None).unwrap(), store, clock.clone() as Arc<dyn Clock>)
            .unwrap()
            .with_alerts(alerts, std::time::Duration::from_secs(3600));
        let core = Arc::new(core);
        let real = CoreIngest::new(core.clone());
        let ingest: Arc<dyn Ingest> =
            if flaky { Arc::new(FailsOnce { inner: real, failed: AtomicBool::new(false) }) } else { Arc::new(real) };
        let settings = HttpSettings {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: token.map(SecretString::from),
            grafana_secret: grafana_secret.map(SecretString::from),
            max_body: 64 * 1024,
            ..HttpSettings::default()
        };
        let listener = http::bind(&settings).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Installed before the conversation, as bellhop's `main` starts it at its first line:
        // what is recorded before the recorder exists is not counted.
        http::metrics::install();
        tokio::spawn(http::serve(listener, ingest, settings, std::future::pending()));
        Server { url, core, clock, port: Arc::default(), client: reqwest::Client::new() }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = self.client.post(format!("{}{path}", self.url)).bearer_auth(TOKEN).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A scrape: `/metrics` and `/readyz` need the token like ingest does.
    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(format!("{}{path}", self.url)).bearer_auth(TOKEN).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// One turn of the core's loop: what arrived is judged and posted.
    async fn tick(&self) {
        let port: Arc<dyn ChatPort> = self.port.clone();
        let report = self.core.tick(&port).await;
        assert!(report.failed.is_empty(), "{report:?}");
    }
}

fn sample(ok: bool, tenant: &str) -> String {
    format!(r#"{{"function":"invite-user","ok":{ok},"latency_ms":180,"tenant":"{tenant}"}}"#)
}

on_both_stores!(samples_one_by_one_and_in_batches_become_one_alert_for_the_function);
async fn samples_one_by_one_and_in_batches_become_one_alert_for_the_function(url: &str) {
    let server = Server::start(url, Some(TOKEN), None, false).await;
    for i in 0..10 {
        assert_eq!(server.post("/events", sample(i % 5 != 0, "hotel-1"), &[]).await, (200, "accepted 1\n".into()));
    }
    let batch: Vec<String> = (0..100).map(|i| sample(i % 5 != 0, if i % 2 == 0 { "hotel-2" } else { "hotel-3" })).collect();
    assert_eq!(server.post("/events", format!("[{}]", batch.join(",")), &[]).await, (200, "accepted 100\n".into()));
    assert_eq!(server.core.alert_engine().ingested(), 110);
    server.tick().await;
    assert_eq!(server.port.titles(), ["🚨 P1 alert: invite-user (alert 1)"], "22 failures in a minute fire at once");
    let post = server.port.posts.lock().unwrap()[0].1.clone();
    assert!(post.body.starts_with("Error rate 20% (22 of 110 calls failed in the last 5 min)."), "{}", post.body);
    assert!(post.body.contains("Failures 22/min (threshold 10/min, 1 min)"), "{}", post.body);
    server.clock.advance(Duration::minutes(1));
    server.post("/events", format!("[{}]", batch.join(",")), &[]).await;
    server.tick().await;
    assert_eq!(server.port.titles().len(), 1, "the rates firing a minute later edit the same post");
    let edit = server.port.edits.lock().unwrap().last().cloned().expect("an edit");
    assert_eq!(edit.1, "🚨 P1 alert: invite-user (alert 1)");
    let state = server.core.alert_engine().state("invite-user");
    let breached: Vec<&str> = state.open.as_ref().unwrap().firing.iter().map(|r| r.key()).collect();
    assert_eq!(breached, ["error_rate", "failures", "success_rate"]);
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("bellhop_samples_ingested_total"), "{metrics}");
    assert!(metrics.contains("bellhop_alerts{state=\"firing\"} 1"), "one function firing: {metrics}");
    assert!(metrics.contains("bellhop_outbox_depth 0"), "{metrics}");
}

on_both_stores!(samples_of_one_function_too_many_are_refused_with_one_line);
async fn samples_of_one_function_too_many_are_refused_with_one_line(url: &str) {
    let server = Server::start_with(url, Some(TOKEN), None, false, AlertSettings { max_functions: 2, ..AlertSettings::default() }).await;
    let of = |f: &str| format!(r#"{{"function":"{f}","ok":true,"latency_ms":5}}"#);
    let refused = "bellhop_samples_refused_total{reason=\"too_many_functions\"}";
    let before = metric(refused);
    assert_eq!(server.post("/events", format!("[{},{}]", of("a"), of("b")), &[]).await.0, 200);
    let (status, line) = server.post("/events", format!("[{},{}]", of("a"), of("c")), &[]).await;
    assert_eq!(status, 422);
    assert!(line.starts_with("bellhop already tracks 2 functions (BELLHOP_ALERT_MAX_FUNCTIONS)"), "{line}");
    assert!(line.ends_with("nothing was stored\n"), "{line}");
    assert_eq!(server.core.alert_engine().ingested(), 2, "the refused batch kept nothing");
    let (_, metrics) = server.get("/metrics").await;
    assert!(metrics.contains(refused), "{metrics}");
    // The recorder is the process's, shared with the other tests of this binary.
    assert!(metric(refused) >= before + 2.0, "both samples of the refused batch are counted: {metrics}");
}

on_both_stores!(a_wrong_or_missing_token_is_refused_and_nothing_is_counted);
async fn a_wrong_or_missing_token_is_refused_and_nothing_is_counted(url: &str) {
    let server = Server::start(url, Some(TOKEN), None, false).await;
    let wrong = server.client.post(format!("{}/events", server.url)).bearer_auth("nope").body(sample(false, "h")).send().await.unwrap();
    assert_eq!((wrong.status().as_u16(), wrong.text().await.unwrap()), (401, "wrong ingest token\n".into()));
    // Each route's handler takes its guard: every ingest route refuses a request without it.
    for route in ["/events", "/hooks/alertmanager", "/hooks/grafana"] {
        let missing = server.client.post(format!("{}{route}", server.url)).body("{}").send().await.unwrap();
        assert_eq!(missing.status().as_u16(), 401, "{route} without the token");
    }
    assert_eq!(server.core.alert_engine().ingested(), 0);
    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.get("/readyz").await, (200, "ready\n".into()));
}

on_both_stores!(bad_json_wrong_types_and_huge_bodies_get_one_line_and_store_nothing);
async fn bad_json_wrong_types_and_huge_bodies_get_one_line_and_store_nothing(url: &str) {
    let server = Server::start(url, Some(TOKEN), None, false).await;
    let cases = [
        ("{\"function\":", 400, "invalid sample JSON: EOF while parsing a value at line 1 column 12\n".to_string()),
        (
            r#"{"function":"f","ok":"yes","latency_ms":1}"#,
            400,
            "invalid sample JSON: invalid type: string \"yes\", expected a boolean at line 1 column 26\n".into(),
        ),
        (r#"{"function":"a b","ok":true,"latency_ms":1}"#, 422, "`function` must be 1 to 128 letters, digits, '-', '_' or '.'\n".into()),
    ];
    for (body, status, line) in cases {
        assert_eq!(server.post("/events", body, &[]).await, (status, line));
    }
    let half_bad = format!("[{},{}]", sample(true, "h"), r#"{"function":"f","ok":true,"latency_ms":99999999}"#);
    assert_eq!(
        server.post("/events", half_bad, &[]).await,
        (422, "sample 1: `latency_ms` must be at most 3600000 (one hour); nothing was stored\n".into())
    );
    let huge = format!("[{}]", vec![sample(true, "h"); 2000].join(","));
    assert_eq!(server.post("/events", huge, &[]).await, (413, "the body is larger than the limit of 65536 bytes\n".into()));
    assert_eq!(server.core.alert_engine().ingested(), 0);
    assert_eq!(server.post("/hooks/alertmanager", "[1]", &[]).await.0, 400);
    server.tick().await;
    assert!(server.port.titles().is_empty(), "nothing was posted: {:?}", server.port.titles());
}

fn alertmanager(status: &str, ends_at: &str) -> String {
    format!(
        r#"{{"version":"4","groupKey":"{{}}:{{alertname=\"EdgeFunctionErrors\"}}","truncatedAlerts":0,"status":"{status}",
        "receiver":"bellhop","groupLabels":{{"alertname":"EdgeFunctionErrors"}},"commonLabels":{{"alertname":"EdgeFunctionErrors","severity":"page"}},
        "commonAnnotations":{{}},"externalURL":"http://alertmanager:9093","alerts":[{{"status":"{status}",
        "labels":{{"alertname":"EdgeFunctionErrors","function":"invite-user","severity":"page"}},
        "annotations":{{"summary":"invite-user 5xx above 5%"}},"startsAt":"2026-11-26T11:58:00Z","endsAt":"{ends_at}",
        "generatorURL":"http://prometheus:9090/graph?g0.expr=x","fingerprint":"7e3f0c1a9b2d4e5f"}}]}}"#
    )
}

/// Stored, the post is the loop's: the answer says so.
fn stored(changed: bool) -> (u16, String) {
    let tail = if changed { "its post follows" } else { "nothing changed" };
    (200, format!("stored 1 alert(s) of group 1; {tail}\n"))
}

on_both_stores!(an_alertmanager_group_is_posted_once_edited_and_resolved);
async fn an_alertmanager_group_is_posted_once_edited_and_resolved(url: &str) {
    let mut alerts = AlertSettings::default();
    alerts.webhooks.severities.insert("page".into(), Level::Critical);
    let server = Server::start_with(url, Some(TOKEN), None, false, alerts).await;
    let firing = alertmanager("firing", "0001-01-01T00:00:00Z");
    assert_eq!(server.post("/hooks/alertmanager", firing.clone(), &[]).await, stored(true));
    server.tick().await;
    assert_eq!(server.port.titles(), ["🚨 Alertmanager: EdgeFunctionErrors (alert 1)"]);
    let post = server.port.posts.lock().unwrap()[0].1.clone();
    assert!(post.body.contains("**EdgeFunctionErrors** [page → critical] — invite-user 5xx above 5%"), "{}", post.body);
    assert!(post.body.contains("http://prometheus:9090/graph?g0.expr=x"), "the generator link: {}", post.body);
    assert_eq!(post.pings.iter().map(|p| p.label()).collect::<Vec<_>>(), ["@on-call"], "severity page means critical here");
    assert_eq!(server.post("/hooks/alertmanager", firing, &[]).await, stored(false));
    server.tick().await;
    assert_eq!(server.port.titles().len(), 1, "a retried notification changes nothing");
    assert!(server.port.edits.lock().unwrap().is_empty());
    let resolved = alertmanager("resolved", "2026-11-26T12:04:00Z");
    let answer = server.post("/hooks/alertmanager", resolved, &[]).await;
    assert_eq!(answer, (200, "stored 1 alert(s) of group 1; its post, if it has one, is updated\n".to_string()));
    server.tick().await;
    assert_eq!(
        server.port.titles(),
        ["🚨 Alertmanager: EdgeFunctionErrors (alert 1)", "✅ Alertmanager EdgeFunctionErrors resolved (alert 1)"]
    );
    assert_eq!(
        server.port.edits.lock().unwrap().clone(),
        [("1".to_string(), "✅ Resolved: Alertmanager EdgeFunctionErrors (alert 1)".to_string())]
    );
    let notice = server.port.posts.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(notice.body, "All 1 alert(s) of the group resolved after 6 min.", "11:58 to 12:04, by Alertmanager's own times");
}

on_both_stores!(an_alertmanager_retry_after_a_5xx_is_not_a_duplicate);
async fn an_alertmanager_retry_after_a_5xx_is_not_a_duplicate(url: &str) {
    let server = Server::start(url, Some(TOKEN), None, true).await;
    let firing = alertmanager("firing", "0001-01-01T00:00:00Z");
    assert_eq!(
        server.post("/hooks/alertmanager", firing.clone(), &[]).await,
        (503, "bellhop could not store the alerts; retry later\n".into())
    );
    server.tick().await;
    assert!(server.port.titles().is_empty());
    assert_eq!(server.post("/hooks/alertmanager", firing.clone(), &[]).await, stored(true));
    assert_eq!(server.post("/hooks/alertmanager", firing, &[]).await, stored(false));
    server.tick().await;
    assert_eq!(server.port.titles(), ["⚠️ Alertmanager: EdgeFunctionErrors (alert 1)"], "an unknown severity is a warning");
    assert!(server.port.posts.lock().unwrap()[0].1.pings.is_empty(), "a warning pings nobody by default");
}

fn grafana(state: &str, status: &str) -> String {
    format!(
        r#"{{"receiver":"bellhop","status":"{status}","orgId":1,"alerts":[{{"status":"{status}",
        "labels":{{"alertname":"Edge latency","grafana_folder":"Platform"}},"annotations":{{"description":"p95 over 10 s"}},
        "startsAt":"2026-11-26T11:50:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://grafana/alerting/grafana/abc/view",
        "fingerprint":"57c6d9296de2ad39","silenceURL":"http://grafana/alerting/silence/new","dashboardURL":"","panelURL":"",
        "values":{{"B":12.5}},"valueString":"[ var='B' value=12.5 ]"}}],"groupLabels":{{"alertname":"Edge latency"}},
        "commonLabels":{{"alertname":"Edge latency"}},"commonAnnotations":{{}},"externalURL":"http://grafana/","version":"1",
        "groupKey":"{{}}:{{alertname=\"Edge latency\"}}","truncatedAlerts":0,"title":"[FIRING:1] Edge latency","state":"{state}",
        "message":"**Firing**"}}"#
    )
}

fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

on_both_stores!(grafana_webhooks_are_kept_when_signed_and_refused_when_not);
async fn grafana_webhooks_are_kept_when_signed_and_refused_when_not(url: &str) {
    let server = Server::start(url, Some(TOKEN), Some("grafana-secret-0123456789"), false).await;
    let firing = grafana("alerting", "firing");
    let header = "X-Grafana-Alerting-Signature";
    let bad = sign("another-secret", &firing);
    assert_eq!(
        server.post("/hooks/grafana", firing.clone(), &[(header, &bad)]).await,
        (401, "the signature does not match the body\n".into())
    );
    assert_eq!(server.post("/hooks/grafana", firing.clone(), &[]).await.0, 401);
    server.tick().await;
    assert!(server.port.titles().is_empty(), "nothing refused is posted");
    let good = sign("grafana-secret-0123456789", &firing);
    assert_eq!(server.post("/hooks/grafana", firing.clone(), &[(header, &good)]).await, stored(true));
    server.tick().await;
    assert_eq!(server.port.titles(), ["⚠️ Grafana: Edge latency (alert 1)"]);
    let resolved = grafana("ok", "resolved");
    let good = sign("grafana-secret-0123456789", &resolved);
    assert_eq!(server.post("/hooks/grafana", resolved, &[(header, &good)]).await.0, 200);
    server.tick().await;
    assert_eq!(server.port.titles().last().unwrap(), "✅ Grafana Edge latency resolved (alert 1)");
}

#[tokio::test]
async fn with_no_token_the_server_listens_on_loopback_only() {
    let settings = HttpSettings { addr: "0.0.0.0:0".parse().unwrap(), ..HttpSettings::default() };
    let listener = http::bind(&settings).await.unwrap();
    assert!(listener.local_addr().unwrap().ip().is_loopback());
}

on_both_stores!(metrics_move_with_a_conversation_and_every_series_is_described);
/// After a conversation, `/metrics` shows the command's latency and the sweep's duration, and
/// every series it shows has its HELP text (what `promtool check metrics` asks for).
async fn metrics_move_with_a_conversation_and_every_series_is_described(url: &str) {
    let server = Server::start(url, Some(TOKEN), None, false).await;
    let alice = bellhop_commands::Actor::new("shell:alice", "alice", [bellhop_commands::Role::Responder]);
    server.core.handle(&alice, &bellhop_commands::Invocation::new("health")).await;
    server.clock.advance(Duration::hours(2));
    server.tick().await;
    let failing: Vec<String> = (0..30).map(|i| sample(i % 2 == 0, "hotel-1")).collect();
    server.post("/events", format!("[{}]", failing.join(",")), &[]).await;
    let typo = r#"{"function":"invite-user","ok":false,"latency_ms":1,"okk":1}"#;
    assert_eq!(server.post("/events", typo, &[]).await.0, 400);
    server.tick().await;
    assert_eq!(server.port.titles().len(), 1, "15 failures in a minute fire: {:?}", server.port.titles());
    let (_, metrics) = server.get("/metrics").await;
    // The recorder is the process's: other tests of this binary may add to the same series.
    let count = |series: &str| metrics.lines().find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok()).unwrap_or(0.0);
    assert!(count("bellhop_command_duration_seconds_count{command=\"health\"}") >= 1.0, "{metrics}");
    assert!(count("bellhop_sweep_duration_seconds_count") >= 1.0, "the scheduled sweep is timed: {metrics}");
    assert!(count("bellhop_alert_announcements_total{change=\"fired\"}") >= 1.0, "the alert's post is counted: {metrics}");
    assert!(count("bellhop_samples_ingested_total") >= 30.0, "{metrics}");
    assert!(count("bellhop_samples_refused_total{reason=\"invalid\"}") >= 1.0, "the body with a typo is counted: {metrics}");
    let typed: Vec<&str> = metrics.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    assert!(typed.len() >= 5, "{metrics}");
    for name in typed {
        assert!(metrics.contains(&format!("# HELP {name} ")), "{name} has no HELP text");
    }
}
