//! Benchmark: seeds the Supabase-shaped fixture with 100,000 users and 1,000,000 sessions in a
//! scratch database, then times each diagnostic (median of several runs; goal: each under 1 s).
//!
//! Run it with `scripts/bench`; the first argument is a superuser URL of a local PostgreSQL
//! (one that preloads pg_stat_statements, so `/db slow-queries` reads real statistics).

use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::diagnostics::{auth_diagnose, connections, db_health, flags_list, migrations_status, slow_queries};
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let server: PgConnectOptions = url.parse()?;
    let name = format!("bellhop_bench_{}", std::process::id());
    let mut root = server.connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut root).await?;
    let result = bench(&server.clone().database(&name)).await;
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut root).await?;
    result
}

async fn bench(admin: &PgConnectOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    fixture::load(admin, Scale::BENCH).await?;
    println!(
        "seeded {} tenants, {} users, {} sessions (+ as many refresh tokens) in {:.1} s",
        Scale::BENCH.tenants,
        Scale::BENCH.users,
        Scale::BENCH.sessions,
        started.elapsed().as_secs_f64()
    );
    let mut su = admin.connect().await?;
    let has_statements = sqlx::raw_sql("CREATE SCHEMA extensions; CREATE EXTENSION pg_stat_statements WITH SCHEMA extensions")
        .execute(&mut su)
        .await
        .is_ok();
    let _ = su.close().await;
    let url = SecretString::from(fixture::as_bellhop(admin).to_url_lossy().to_string());
    let target = TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(5), write_timeout: Duration::from_secs(60) })?;
    let _warm = flags_list::run(&target).await?;
    println!("median of {RUNS} runs each (goal: under 1 s):");
    report("db health", time(|| async { db_health::run(&target).await.map(|h| db_health::post(&h)).map(drop) }).await?);
    let args = slow_queries::SlowQueryArgs::default();
    let slow = time(|| async { slow_queries::run(&target, args).await.map(drop) }).await?;
    report(if has_statements { "slow queries" } else { "slow queries (extension absent)" }, slow);
    report("connections", time(|| async { connections::run(&target).await.map(drop) }).await?);
    report("auth diagnose", time(|| async { auth_diagnose::run(&target).await.map(drop) }).await?);
    report("migrations status", time(|| async { migrations_status::run(&target).await.map(drop) }).await?);
    report("flags list", time(|| async { flags_list::run(&target).await.map(drop) }).await?);
    Ok(())
}

async fn time<F, Fut>(run: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), bellhop_commands::target_db::TargetError>>,
{
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        run().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[RUNS / 2])
}

fn report(name: &str, median: Duration) {
    let verdict = if median < Duration::from_secs(1) { "" } else { "  over the 1 s goal" };
    println!("  {name:<32} {:>8.1} ms{verdict}", median.as_secs_f64() * 1000.0);
}
