//! Probe classification against real HTTP servers on 127.0.0.1, one per case.

use bellhop::simulated::{Behaviour, Script};
use bellhop_commands::health::{HealthChecker, ProbeResult, Status, TargetKind};
use bellhop_tests::{platform, settings, KEY};
use secrecy::SecretString;
use std::time::Duration;

async fn sweep_one_function(behaviour: Behaviour) -> ProbeResult {
    let platform = platform(Script::new(KEY).with("f", behaviour)).await;
    let checker = HealthChecker::new(settings(&platform.url(), &["f"]));
    let sweep = checker.sweep().await;
    sweep.targets.into_iter().find(|t| t.name == "f").expect("the function was probed")
}

#[tokio::test]
async fn a_2xx_function_is_up() {
    let result = sweep_one_function(Behaviour::ok()).await;
    assert_eq!((result.status, result.http_status, result.kind), (Status::Up, Some(200), TargetKind::Function));
    assert!(result.latency.is_some());
}

#[tokio::test]
async fn a_4xx_function_ran_and_rejected_the_payload() {
    let result = sweep_one_function(Behaviour::status(400)).await;
    assert_eq!((result.status, result.detail.as_str()), (Status::Up, "HTTP 400: ran, rejected the test payload"));
}

#[tokio::test]
async fn a_4xx_with_sb_error_code_is_down() {
    let result = sweep_one_function(Behaviour::error_code(404, "NOT_FOUND")).await;
    assert_eq!((result.status, result.detail.as_str()), (Status::Down, "HTTP 404 NOT_FOUND"));
}

#[tokio::test]
async fn a_5xx_function_is_down() {
    let result = sweep_one_function(Behaviour::status(500)).await;
    assert_eq!((result.status, result.http_status), (Status::Down, Some(500)));
}

#[tokio::test]
async fn a_546_worker_limit_is_down() {
    let result = sweep_one_function(Behaviour::error_code(546, "WORKER_LIMIT")).await;
    assert_eq!((result.status, result.detail.as_str()), (Status::Down, "HTTP 546 WORKER_LIMIT"));
}

#[tokio::test]
async fn a_refused_key_is_a_misconfigured_probe_not_an_outage() {
    let platform = platform(Script::new("the-real-key")).await;
    let mut health = settings(&platform.url(), &["invite-user"]);
    health.anon_key = Some(SecretString::from("a-wrong-key"));
    let sweep = HealthChecker::new(health).sweep().await;
    let by_name = |name: &str| sweep.targets.iter().find(|t| t.name == name).unwrap().clone();
    let function = by_name("invite-user");
    assert_eq!(function.status, Status::Misconfigured);
    assert_eq!(function.detail, "HTTP 401 UNAUTHORIZED_INVALID_JWT_FORMAT: the probe's key was refused, check SUPABASE_ANON_KEY");
    assert_eq!(by_name("auth").status, Status::Misconfigured);
    assert_eq!(by_name("frontend").status, Status::Up);
    assert!(!sweep.healthy);
}

#[tokio::test]
async fn a_hung_target_times_out_and_the_rest_still_answer() {
    let platform = platform(Script::new(KEY).with("stuck", Behaviour::hang())).await;
    let mut health = settings(&platform.url(), &["stuck", "fine"]);
    health.timeout = Duration::from_millis(300);
    health.slow_after = Duration::from_millis(200);
    let sweep = HealthChecker::new(health).sweep().await;
    let stuck = sweep.targets.iter().find(|t| t.name == "stuck").unwrap();
    assert_eq!((stuck.status, stuck.detail.as_str()), (Status::Down, "timed out after 300ms"));
    let others: Vec<Status> = sweep.targets.iter().filter(|t| t.name != "stuck" && t.name != "database").map(|t| t.status).collect();
    assert_eq!(others, [Status::Up; 4]);
}

#[tokio::test]
async fn a_slow_answer_is_slow_not_up() {
    let result = sweep_one_function(Behaviour::ok().delayed(Duration::from_millis(600))).await;
    assert_eq!(result.status, Status::Slow);
    assert!(result.latency.unwrap() >= Duration::from_millis(600));
}

#[tokio::test]
async fn a_refused_connection_is_down_in_plain_words() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sweep = HealthChecker::new(settings(&format!("http://127.0.0.1:{port}"), &["f"])).sweep().await;
    let probed: Vec<(&str, Status, &str)> =
        sweep.targets.iter().filter(|t| t.status != Status::Skipped).map(|t| (t.name.as_str(), t.status, t.detail.as_str())).collect();
    assert_eq!(
        probed,
        [
            ("frontend", Status::Down, "connection refused"),
            ("auth", Status::Down, "connection refused"),
            ("rest (plans)", Status::Down, "connection refused"),
            ("f", Status::Down, "connection refused"),
        ]
    );
}

#[tokio::test]
async fn absent_settings_skip_targets_instead_of_calling_them_down() {
    let mut health = settings("http://127.0.0.1:9", &["f"]);
    health.supabase_url = None;
    health.frontend_url = None;
    assert!(!health.any_target());
    let sweep = HealthChecker::new(health).sweep().await;
    assert!(sweep.targets.iter().all(|t| t.status == Status::Skipped));
    assert!(sweep.healthy);
    let function = sweep.targets.iter().find(|t| t.name == "f").unwrap();
    assert_eq!(function.detail, "not configured: SUPABASE_URL is not set");
}
