//! A simulated platform on 127.0.0.1: the frontend, Supabase auth and REST, and edge functions,
//! each answering as scripted. `bellhop demo` runs one; tests and the benchmark script others.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How one endpoint answers.
#[derive(Clone, Debug)]
pub struct Behaviour {
    pub status: u16,
    pub sb_error_code: Option<String>,
    pub delay: Duration,
    /// Never answers (the client times out).
    pub hang: bool,
    /// Answers 500 `WORKER_ERROR` to the first call and every n-th after it: a failure rate
    /// that is the same on every run, and shows on the demo's first `/health`.
    pub fail_every: Option<u64>,
    calls: Arc<AtomicU64>,
    /// When the first request arrived, hung or not, across clones.
    first_request: Arc<std::sync::OnceLock<std::time::Instant>>,
}

impl Behaviour {
    pub fn ok() -> Self {
        Behaviour {
            status: 200,
            sb_error_code: None,
            delay: Duration::ZERO,
            hang: false,
            fail_every: None,
            calls: Arc::default(),
            first_request: Arc::default(),
        }
    }

    pub fn status(status: u16) -> Self {
        Behaviour { status, ..Behaviour::ok() }
    }

    pub fn error_code(status: u16, code: &str) -> Self {
        Behaviour { status, sb_error_code: Some(code.to_string()), ..Behaviour::ok() }
    }

    pub fn hang() -> Self {
        Behaviour { hang: true, ..Behaviour::ok() }
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Fails about `failure_rate` of the calls, deterministically (see `fail_every`).
    pub fn flaky(mut self, failure_rate: f64) -> Self {
        self.fail_every = Some((1.0 / failure_rate.clamp(0.01, 1.0)).round() as u64);
        self
    }

    /// How many requests this endpoint has answered (not counting hung ones), across clones.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// When this endpoint was first asked (a hung request included): lets a test see what a
    /// client did before it probed.
    pub fn first_request(&self) -> Option<std::time::Instant> {
        self.first_request.get().copied()
    }

    fn fails_now(&self) -> bool {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        self.fail_every.is_some_and(|every| call.is_multiple_of(every))
    }
}

/// The script: one behaviour per endpoint (`frontend`, `auth`, `rest`, or a function name);
/// anything not named answers with `default`.
#[derive(Clone, Debug)]
pub struct Script {
    pub api_key: String,
    pub default: Behaviour,
    pub endpoints: HashMap<String, Behaviour>,
    /// Faults switched on and off while it runs (the demo's `:fail` and `:recover`).
    pub faults: Faults,
}

/// Endpoints made to fail, or to recover, while the platform runs: `true` fails every call,
/// `false` answers every call as the endpoint's behaviour would without its flakiness. It also
/// holds the simulated Management API's deploys (the demo's `:deploy`).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    failing: Arc<std::sync::Mutex<HashMap<String, bool>>>,
    pub management: Management,
}

impl Faults {
    /// Makes `endpoint` fail every call (`true`) or none (`false`).
    pub fn set(&self, endpoint: &str, failing: bool) {
        self.failing.lock().unwrap_or_else(|e| e.into_inner()).insert(endpoint.to_string(), failing);
    }

    fn get(&self, endpoint: &str) -> Option<bool> {
        self.failing.lock().unwrap_or_else(|e| e.into_inner()).get(endpoint).copied()
    }
}

/// The simulated Management API: each function's version and when it was deployed, and daily
/// backups taken at the given ages. Times follow the clock it is given (the demo's, virtual or
/// not), so ages read right against bellhop's own clock.
#[derive(Clone, Default)]
pub struct Management(Arc<std::sync::Mutex<ManagementState>>);

#[derive(Default)]
struct ManagementState {
    clock: Option<Arc<dyn bellhop_commands::Clock>>,
    /// function → (version, deployed at; or, seeded, how long before now).
    functions: std::collections::BTreeMap<String, (i64, Result<chrono::DateTime<chrono::Utc>, chrono::Duration>)>,
    /// How long ago each completed backup was taken.
    backup_ages: Vec<chrono::Duration>,
    pitr: bool,
}

impl std::fmt::Debug for Management {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Management")
    }
}

impl Management {
    fn state(&self) -> std::sync::MutexGuard<'_, ManagementState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state().clock.as_ref().map_or_else(chrono::Utc::now, |c| c.now())
    }

    /// Times from now on follow `clock`.
    pub fn use_clock(&self, clock: Arc<dyn bellhop_commands::Clock>) {
        self.state().clock = Some(clock);
    }

    /// `functions` at version `version`, deployed `ago` before whatever the clock says; completed
    /// backups of the given ages.
    pub fn seed(&self, functions: &[&str], version: i64, ago: chrono::Duration, backup_ages: Vec<chrono::Duration>) {
        let mut state = self.state();
        state.functions = functions.iter().map(|f| (f.to_string(), (version, Err(ago)))).collect();
        state.backup_ages = backup_ages;
    }

    /// A new version of `function`, deployed now; returns it.
    pub fn deploy(&self, function: &str) -> i64 {
        let now = self.now();
        let mut state = self.state();
        let entry = state.functions.entry(function.to_string()).or_insert((0, Ok(now)));
        *entry = (entry.0 + 1, Ok(now));
        entry.0
    }

    pub fn set_pitr(&self, on: bool) {
        self.state().pitr = on;
    }

    fn functions_json(&self) -> serde_json::Value {
        let now = self.now();
        let state = self.state();
        let list: Vec<serde_json::Value> = state
            .functions
            .iter()
            .enumerate()
            .map(|(n, (slug, (version, at)))| {
                let at = at.unwrap_or_else(|ago| now - ago);
                serde_json::json!({"id": format!("fn-{n}"), "slug": slug, "name": slug, "status": "ACTIVE", "version": version,
                                   "created_at": at.timestamp_millis(), "updated_at": at.timestamp_millis(), "verify_jwt": true})
            })
            .collect();
        serde_json::Value::Array(list)
    }

    fn backups_json(&self) -> serde_json::Value {
        let now = self.now();
        let state = self.state();
        let backups: Vec<serde_json::Value> = state
            .backup_ages
            .iter()
            .map(|age| {
                let at = (now - *age).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
                serde_json::json!({"is_physical_backup": true, "status": "COMPLETED", "inserted_at": at})
            })
            .collect();
        let physical = match (state.pitr, state.backup_ages.iter().max()) {
            (true, Some(oldest)) => serde_json::json!({"earliest_physical_backup_date_unix": (now - *oldest).timestamp(),
                                                       "latest_physical_backup_date_unix": now.timestamp()}),
            _ => serde_json::json!({}),
        };
        serde_json::json!({"region": "local", "pitr_enabled": state.pitr, "walg_enabled": true, "backups": backups, "physical_backup_data": physical})
    }
}

impl Script {
    pub fn new(api_key: &str) -> Self {
        Script { api_key: api_key.to_string(), default: Behaviour::ok(), endpoints: HashMap::new(), faults: Faults::default() }
    }

    pub fn with(mut self, endpoint: &str, behaviour: Behaviour) -> Self {
        self.endpoints.insert(endpoint.to_string(), behaviour);
        self
    }

    pub fn all(mut self, behaviour: Behaviour) -> Self {
        self.default = behaviour;
        self
    }

    /// The demo's platform: `invite-user` fails about 15% of the time, `trial-signup` is slow.
    pub fn demo(api_key: &str, slow: Duration) -> Self {
        Script::new(api_key).with("invite-user", Behaviour::ok().flaky(0.15)).with("trial-signup", Behaviour::ok().delayed(slow))
    }
}

pub struct SimulatedPlatform {
    pub addr: SocketAddr,
    pub faults: Faults,
    server: tokio::task::JoinHandle<()>,
}

impl SimulatedPlatform {
    pub async fn start(script: Script) -> std::io::Result<SimulatedPlatform> {
        SimulatedPlatform::start_on(script, 0).await
    }

    pub async fn start_on(script: Script, port: u16) -> std::io::Result<SimulatedPlatform> {
        let faults = script.faults.clone();
        let app = Router::new()
            .route("/health", get(frontend))
            .route("/auth/v1/health", get(auth))
            .route("/rest/v1/:table", get(rest))
            .route("/functions/v1/:name", post(function))
            .route("/v1/projects/:project/functions", get(management_functions))
            .route("/v1/projects/:project/database/backups", get(management_backups))
            .route("/v1/projects/:project/analytics/endpoints/functions.combined-stats", get(management_stats))
            .with_state(Arc::new(script));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(SimulatedPlatform { addr, faults, server })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimulatedPlatform {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Shared = State<Arc<Script>>;

async fn frontend(State(script): Shared) -> Response {
    answer(&script, "frontend").await
}

async fn auth(State(script): Shared, headers: HeaderMap) -> Response {
    if !has_key(&script, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"message": "Invalid API key"}))).into_response();
    }
    answer(&script, "auth").await
}

async fn rest(State(script): Shared, Path(_table): Path<String>, headers: HeaderMap) -> Response {
    if !has_key(&script, &headers) {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"message": "Invalid API key"}))).into_response();
    }
    answer(&script, "rest").await
}

async fn function(State(script): Shared, Path(name): Path<String>, headers: HeaderMap) -> Response {
    if !has_key(&script, &headers) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        response.headers_mut().insert("sb-error-code", "UNAUTHORIZED_INVALID_JWT_FORMAT".parse().expect("static header"));
        return response;
    }
    answer(&script, &name).await
}

/// The demo's Management API takes any bearer token and answers for any project.
async fn management_functions(State(script): Shared, headers: HeaderMap) -> Response {
    if !headers.contains_key("authorization") {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"message": "Unauthorized"}))).into_response();
    }
    Json(script.faults.management.functions_json()).into_response()
}

async fn management_backups(State(script): Shared, headers: HeaderMap) -> Response {
    if !headers.contains_key("authorization") {
        return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"message": "Unauthorized"}))).into_response();
    }
    Json(script.faults.management.backups_json()).into_response()
}

/// No statistics: the demo's samples come from its sweeps.
async fn management_stats() -> Response {
    Json(serde_json::json!({"result": [], "error": null})).into_response()
}

fn has_key(script: &Script, headers: &HeaderMap) -> bool {
    headers.get("apikey").and_then(|v| v.to_str().ok()) == Some(script.api_key.as_str())
}

async fn answer(script: &Script, endpoint: &str) -> Response {
    let behaviour = script.endpoints.get(endpoint).unwrap_or(&script.default);
    behaviour.first_request.get_or_init(std::time::Instant::now);
    if behaviour.hang {
        std::future::pending::<()>().await;
    }
    tokio::time::sleep(behaviour.delay).await;
    let fails = script.faults.get(endpoint).unwrap_or_else(|| behaviour.fails_now());
    let (status, code) = if fails { (500, Some("WORKER_ERROR")) } else { (behaviour.status, behaviour.sb_error_code.as_deref()) };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(serde_json::json!({ "endpoint": endpoint }))).into_response();
    if let Some(code) = code.and_then(|c| c.parse().ok()) {
        response.headers_mut().insert("sb-error-code", code);
    }
    response
}
