//! The Supabase Management API as a source of samples, against a fake of it on 127.0.0.1:
//! function statistics become samples once each, a 429 pauses polling for as long as it says,
//! an `error` in a 200 body and a refused token are reported, never turned into samples.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use bellhop_commands::alerts::{AlertEngine, AlertSettings, ManagementPoller, ManagementSettings, PollError};
use bellhop_commands::{Clock, ManualClock};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What the fake answers next, and how often it was asked.
#[derive(Default)]
pub(crate) struct Fake {
    mode: Mutex<&'static str>,
    rows: Mutex<Vec<Value>>,
    requests: Mutex<usize>,
    /// The functions listed, when a test sets them (with their versions).
    pub functions: Mutex<Option<Value>>,
    /// `GET …/database/backups`.
    pub backups: Mutex<Value>,
}

async fn functions(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    *fake.requests.lock().unwrap() += 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sbp_test") {
        return (StatusCode::UNAUTHORIZED, "{\"message\":\"Unauthorized\"}").into_response();
    }
    if *fake.mode.lock().unwrap() == "429" {
        return (StatusCode::TOO_MANY_REQUESTS, [("x-ratelimit-reset", "42")], "{}").into_response();
    }
    if let Some(functions) = fake.functions.lock().unwrap().clone() {
        return Json(functions).into_response();
    }
    Json(json!([{"id": "f-1", "slug": "invite-user", "status": "ACTIVE"}, {"id": "f-2", "slug": "gone", "status": "REMOVED"}]))
        .into_response()
}

async fn backups(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    *fake.requests.lock().unwrap() += 1;
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer sbp_test") {
        return (StatusCode::UNAUTHORIZED, "{\"message\":\"Unauthorized\"}").into_response();
    }
    Json(fake.backups.lock().unwrap().clone()).into_response()
}

async fn stats(State(fake): State<Arc<Fake>>, Query(query): Query<HashMap<String, String>>) -> Response {
    *fake.requests.lock().unwrap() += 1;
    assert_eq!(query.get("function_id").map(String::as_str), Some("f-1"), "a removed function is not asked about");
    assert_eq!(query.get("interval").map(String::as_str), Some("15min"));
    if *fake.mode.lock().unwrap() == "error" {
        return Json(json!({"result": [], "error": {"code": 500, "message": "query failed"}})).into_response();
    }
    Json(json!({"result": fake.rows.lock().unwrap().clone(), "error": null})).into_response()
}

/// The fake on 127.0.0.1; returns its base URL (what `SUPABASE_API_URL` would say).
pub(crate) async fn start(fake: Arc<Fake>) -> String {
    let app = axum::Router::new()
        .route("/v1/projects/abcdefghijklmnopqrst/database/backups", get(backups))
        .route("/v1/projects/abcdefghijklmnopqrst/functions", get(functions))
        .route("/v1/projects/abcdefghijklmnopqrst/analytics/endpoints/functions.combined-stats", get(stats))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

fn poller(base: &str, token: &str) -> ManagementPoller {
    ManagementPoller::new(ManagementSettings {
        token: secrecy::SecretString::from(token),
        project_ref: "abcdefghijklmnopqrst".into(),
        base: base.into(),
        functions: Vec::new(),
    })
    .unwrap()
}

fn row(at: chrono::DateTime<chrono::Utc>, requests: u64, server_errors: u64) -> Value {
    json!({"timestamp": at.timestamp_micros(), "requests_count": requests, "success_count": requests - server_errors,
           "redirect_count": 0, "client_err_count": 0, "server_err_count": server_errors, "avg_execution_time": 180.4})
}

#[tokio::test]
async fn statistics_become_samples_once_and_failures_count_as_failures() {
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let engine = AlertEngine::new(AlertSettings::default(), clock.clone());
    let now = clock.now();
    *fake.rows.lock().unwrap() = vec![row(now - chrono::Duration::minutes(2), 40, 10), row(now - chrono::Duration::minutes(1), 20, 0)];
    let poller = poller(&base, "sbp_test");
    assert_eq!(poller.poll(&engine, now).await.unwrap(), 60);
    assert_eq!(poller.poll(&engine, now).await.unwrap(), 0, "rows already read are not read again");
    let stats = engine.recent("invite-user", now);
    assert_eq!((stats.total, stats.failures), (60, 10), "10 of the 60 requests failed");
    fake.rows.lock().unwrap().push(row(now, 5, 5));
    assert_eq!(poller.poll(&engine, now).await.unwrap(), 5, "only the new row");
}

#[tokio::test]
async fn a_429_pauses_polling_for_as_long_as_it_says() {
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let engine = AlertEngine::new(AlertSettings::default(), clock.clone());
    let poller = poller(&base, "sbp_test");
    *fake.mode.lock().unwrap() = "429";
    assert!(matches!(poller.poll(&engine, clock.now()).await, Err(PollError::RateLimited(42))));
    *fake.mode.lock().unwrap() = "ok";
    let asked = *fake.requests.lock().unwrap();
    clock.advance(chrono::Duration::seconds(30));
    assert!(matches!(poller.poll(&engine, clock.now()).await, Err(PollError::RateLimited(12))));
    assert_eq!(*fake.requests.lock().unwrap(), asked, "no request while paused");
    clock.advance(chrono::Duration::seconds(13));
    assert!(poller.poll(&engine, clock.now()).await.is_ok(), "polls again once the minute is over");
}

#[tokio::test]
async fn an_error_in_a_200_body_and_a_refused_token_are_reported_not_ingested() {
    let fake = Arc::new(Fake::default());
    let base = start(fake.clone()).await;
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let engine = AlertEngine::new(AlertSettings::default(), clock.clone());
    *fake.rows.lock().unwrap() = vec![row(clock.now(), 40, 40)];
    *fake.mode.lock().unwrap() = "error";
    let error = poller(&base, "sbp_test").poll(&engine, clock.now()).await.unwrap_err();
    assert!(error.to_string().starts_with("the Management API answered with an error: {"), "{error}");
    let refused = poller(&base, "sbp_wrong").poll(&engine, clock.now()).await.unwrap_err();
    assert_eq!(refused.to_string(), "the Management API refused the token (HTTP 401); check SUPABASE_ACCESS_TOKEN and its permissions");
    assert!(!refused.to_string().contains("sbp_wrong"));
    assert_eq!(engine.ingested(), 0);
}
