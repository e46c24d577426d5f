//! The HTTP ingest server, started for real on 127.0.0.1:0 over a real store and alert engine.

use bellhop::http::{self, EngineIngest, HttpSettings, Ingest};
use bellhop_commands::alerts::{AlertEngine, AlertSettings, Change, InboundAlert, Sample, SampleError, Source};
use bellhop_commands::store::Store;
use bellhop_commands::{Clock, ManualClock};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const TOKEN: &str = "ingest-token-1";

fn t0() -> DateTime<Utc> {
    "2026-11-26T12:00:00Z".parse().unwrap()
}

/// A running server and what stands behind it.
struct Server {
    url: String,
    engine: Arc<AlertEngine>,
    store: Store,
    clock: Arc<ManualClock>,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// An [`Ingest`] whose store fails the first webhook, like a database restarting.
struct FailsOnce {
    inner: EngineIngest,
    failed: AtomicBool,
}

#[async_trait::async_trait]
impl Ingest for FailsOnce {
    fn samples(&self, samples: &[Sample]) -> Result<usize, (usize, SampleError)> {
        self.inner.samples(samples)
    }
    async fn inbound(&self, alert: &InboundAlert) -> anyhow::Result<bool> {
        if !self.failed.swap(true, Ordering::SeqCst) {
            anyhow::bail!("the store is restarting");
        }
        self.inner.inbound(alert).await
    }
    async fn ready(&self) -> anyhow::Result<()> {
        self.inner.ready().await
    }
    async fn gauges(&self) -> http::metrics::Gauges {
        self.inner.gauges().await
    }
}

impl Server {
    async fn start(token: Option<&str>, grafana_secret: Option<&str>, flaky: bool) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite:{}", dir.path().join("bellhop.sqlite").display())).await.unwrap();
        store.migrate().await.unwrap();
        let clock = Arc::new(ManualClock::new(t0()));
        let engine = Arc::new(AlertEngine::new(AlertSettings::default(), clock.clone()));
        let real = EngineIngest { engine: engine.clone(), store: store.clone(), clock: clock.clone() as Arc<dyn Clock> };
        let ingest: Arc<dyn Ingest> =
            if flaky { Arc::new(FailsOnce { inner: real, failed: AtomicBool::new(false) }) } else { Arc::new(real) };
        let settings = HttpSettings {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: token.map(SecretString::from),
            grafana_secret: grafana_secret.map(SecretString::from),
            max_body: 64 * 1024,
        };
        let listener = http::bind(&settings).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(http::serve(listener, ingest, settings, std::future::pending()));
        Server { url, engine, store, clock, client: reqwest::Client::new(), _dir: dir }
    }

    async fn post(&self, path: &str, body: impl Into<reqwest::Body>, headers: &[(&str, &str)]) -> (u16, String) {
        let mut request = self.client.post(format!("{}{path}", self.url)).bearer_auth(TOKEN).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(format!("{}{path}", self.url)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn sample(ok: bool, tenant: &str) -> String {
    format!(r#"{{"function":"invite-user","ok":{ok},"latency_ms":180,"tenant":"{tenant}"}}"#)
}

#[tokio::test]
async fn samples_one_by_one_and_in_batches_feed_the_error_rate_alert() {
    let server = Server::start(Some(TOKEN), None, false).await;
    for i in 0..10 {
        assert_eq!(server.post("/events", sample(i % 5 != 0, "hotel-1"), &[]).await, (200, "accepted 1\n".into()));
    }
    let batch: Vec<String> = (0..100).map(|i| sample(i % 5 != 0, if i % 2 == 0 { "hotel-2" } else { "hotel-3" })).collect();
    assert_eq!(server.post("/events", format!("[{}]", batch.join(",")), &[]).await, (200, "accepted 100\n".into()));
    assert_eq!(server.engine.ingested(), 110);
    let at_once: Vec<&str> = server.engine.evaluate(server.clock.now()).iter().map(|t| t.rule.key()).collect();
    assert_eq!(at_once, ["failures"], "22 failures in a minute fire at once; the rates hold for a minute first");
    server.clock.advance(Duration::minutes(1));
    let fired = server.engine.evaluate(server.clock.now());
    let error_rate: Vec<_> = fired.iter().filter(|t| t.rule.key() == "error_rate").collect();
    assert_eq!(error_rate.len(), 1);
    assert_eq!((error_rate[0].change, error_rate[0].figure().unwrap().0.as_str()), (Change::Fired, "20%"));
    let tenants: Vec<&str> = error_rate[0].top_tenants.iter().map(|t| t.tenant.as_str()).collect();
    assert_eq!(tenants, ["hotel-2", "hotel-3", "hotel-1"]);
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains("bellhop_samples_ingested_total"), "{metrics}");
    assert!(metrics.contains("bellhop_alerts{state=\"firing\"} 3"), "failures, error and success rate fire: {metrics}");
    assert!(metrics.contains("bellhop_outbox_depth 0"), "{metrics}");
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_and_nothing_is_counted() {
    let server = Server::start(Some(TOKEN), None, false).await;
    let wrong = server.client.post(format!("{}/events", server.url)).bearer_auth("nope").body(sample(false, "h")).send().await.unwrap();
    assert_eq!((wrong.status().as_u16(), wrong.text().await.unwrap()), (401, "wrong ingest token\n".into()));
    let missing = server.client.post(format!("{}/hooks/alertmanager", server.url)).body("{}").send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 401);
    assert_eq!(server.engine.ingested(), 0);
    assert_eq!(server.get("/healthz").await, (200, "ok\n".into()));
    assert_eq!(server.get("/readyz").await, (200, "ready\n".into()));
}

#[tokio::test]
async fn bad_json_wrong_types_and_huge_bodies_get_one_line_and_store_nothing() {
    let server = Server::start(Some(TOKEN), None, false).await;
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
    assert_eq!(server.engine.ingested(), 0);
    assert_eq!(server.post("/hooks/alertmanager", "[1]", &[]).await.0, 400);
    assert_eq!(server.store.inbound_alert_count().await.unwrap(), 0);
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

#[tokio::test]
async fn alertmanager_firing_then_resolved_is_kept_once_each() {
    let server = Server::start(Some(TOKEN), None, false).await;
    let firing = alertmanager("firing", "0001-01-01T00:00:00Z");
    assert_eq!(server.post("/hooks/alertmanager", firing.clone(), &[]).await, (200, "stored 1 alert(s), 1 new or changed\n".into()));
    assert_eq!(server.post("/hooks/alertmanager", firing, &[]).await, (200, "stored 1 alert(s), 0 new or changed\n".into()));
    assert_eq!(server.store.inbound_alert_firing(Source::Alertmanager, "7e3f0c1a9b2d4e5f").await.unwrap(), Some(true));
    let resolved = alertmanager("resolved", "2026-11-26T12:04:00Z");
    assert_eq!(server.post("/hooks/alertmanager", resolved, &[]).await, (200, "stored 1 alert(s), 1 new or changed\n".into()));
    assert_eq!(server.store.inbound_alert_firing(Source::Alertmanager, "7e3f0c1a9b2d4e5f").await.unwrap(), Some(false));
    assert_eq!(server.store.inbound_alert_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_alertmanager_retry_after_a_5xx_is_not_a_duplicate() {
    let server = Server::start(Some(TOKEN), None, true).await;
    let firing = alertmanager("firing", "0001-01-01T00:00:00Z");
    assert_eq!(
        server.post("/hooks/alertmanager", firing.clone(), &[]).await,
        (503, "bellhop could not store the alerts; retry later\n".into())
    );
    assert_eq!(server.store.inbound_alert_count().await.unwrap(), 0);
    assert_eq!(server.post("/hooks/alertmanager", firing.clone(), &[]).await, (200, "stored 1 alert(s), 1 new or changed\n".into()));
    assert_eq!(server.post("/hooks/alertmanager", firing, &[]).await, (200, "stored 1 alert(s), 0 new or changed\n".into()));
    assert_eq!(server.store.inbound_alert_count().await.unwrap(), 1);
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

#[tokio::test]
async fn grafana_webhooks_are_kept_when_signed_and_refused_when_not() {
    let server = Server::start(Some(TOKEN), Some("grafana-secret"), false).await;
    let firing = grafana("alerting", "firing");
    let header = "X-Grafana-Alerting-Signature";
    let bad = sign("another-secret", &firing);
    assert_eq!(
        server.post("/hooks/grafana", firing.clone(), &[(header, &bad)]).await,
        (401, "the signature does not match the body\n".into())
    );
    assert_eq!(server.post("/hooks/grafana", firing.clone(), &[]).await.0, 401);
    assert_eq!(server.store.inbound_alert_count().await.unwrap(), 0);
    let good = sign("grafana-secret", &firing);
    assert_eq!(
        server.post("/hooks/grafana", firing.clone(), &[(header, &good)]).await,
        (200, "stored 1 alert(s), 1 new or changed\n".into())
    );
    let resolved = grafana("ok", "resolved");
    let good = sign("grafana-secret", &resolved);
    assert_eq!(server.post("/hooks/grafana", resolved, &[(header, &good)]).await.0, 200);
    assert_eq!(server.store.inbound_alert_firing(Source::Grafana, "57c6d9296de2ad39").await.unwrap(), Some(false));
}

#[tokio::test]
async fn with_no_token_the_server_listens_on_loopback_only() {
    let settings = HttpSettings { addr: "0.0.0.0:0".parse().unwrap(), ..HttpSettings::default() };
    let listener = http::bind(&settings).await.unwrap();
    assert!(listener.local_addr().unwrap().ip().is_loopback());
}
