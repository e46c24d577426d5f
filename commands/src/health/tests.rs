//! Sweeps against a real HTTP server on 127.0.0.1 that counts what it is asked.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Semaphore};

/// A frontend on 127.0.0.1 that counts `/health` requests and answers each only once the
/// test opens the gate, so sweeps asked for meanwhile are provably concurrent.
struct CountingFrontend {
    url: String,
    requests: watch::Receiver<usize>,
    gate: Arc<Semaphore>,
}

async fn counting_frontend() -> CountingFrontend {
    let (count, requests) = watch::channel(0usize);
    let gate = Arc::new(Semaphore::new(0));
    let seen = Arc::new(AtomicUsize::new(0));
    let (handler_gate, count) = (gate.clone(), Arc::new(count));
    let app = axum::Router::new().route(
        "/health",
        axum::routing::get(move || {
            let (gate, count, seen) = (handler_gate.clone(), count.clone(), seen.clone());
            async move {
                count.send_replace(seen.fetch_add(1, Ordering::SeqCst) + 1);
                let _permit = gate.acquire().await.expect("the gate stays open");
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port on 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    CountingFrontend { url, requests, gate }
}

fn frontend_only(url: &str) -> HealthSettings {
    HealthSettings {
        frontend_url: Some(url.to_string()),
        supabase_url: None,
        anon_key: None,
        db_url: None,
        functions: Vec::new(),
        rest_table: "plans".into(),
        timeout: Duration::from_secs(10),
        slow_after: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn concurrent_sweeps_join_the_one_in_flight_and_each_gets_the_answer() {
    let mut frontend = counting_frontend().await;
    let checker = Arc::new(HealthChecker::new(frontend_only(&frontend.url)));
    let sweeps = tokio::spawn({
        let checker = checker.clone();
        async move { join_all((0..50).map(|_| checker.sweep())).await }
    });
    frontend.requests.wait_for(|n| *n >= 1).await.expect("the server counts");
    frontend.gate.add_permits(1000);
    let sweeps = sweeps.await.unwrap();
    assert_eq!(sweeps.len(), 50, "every caller gets an answer");
    for sweep in &sweeps {
        let frontend = sweep.targets.iter().find(|t| t.kind == TargetKind::Frontend).unwrap();
        assert_eq!((frontend.status, frontend.http_status), (Status::Up, Some(200)), "{frontend:?}");
    }
    assert_eq!(*frontend.requests.borrow(), 1, "fifty concurrent sweeps cost the frontend one request");

    let next = checker.sweep().await;
    assert_eq!(next.targets[0].status, Status::Up);
    assert_eq!(*frontend.requests.borrow(), 2, "a sweep asked for after the last one ended probes afresh");
}

#[tokio::test]
async fn a_sweep_abandoned_by_its_caller_is_finished_by_the_next() {
    let mut frontend = counting_frontend().await;
    let checker = Arc::new(HealthChecker::new(frontend_only(&frontend.url)));
    let abandoned = tokio::spawn({
        let checker = checker.clone();
        async move { checker.sweep().await }
    });
    frontend.requests.wait_for(|n| *n >= 1).await.expect("the server counts");
    abandoned.abort();
    let _ = abandoned.await;
    let joined = tokio::spawn({
        let checker = checker.clone();
        async move { checker.sweep().await }
    });
    frontend.gate.add_permits(1000);
    let sweep = joined.await.unwrap();
    assert_eq!(sweep.targets[0].status, Status::Up);
    assert_eq!(*frontend.requests.borrow(), 1, "the second caller joined the sweep already under way");
}
