//! Benchmark: `/sessions purge` as bellhop runs it (the real code path, batches of 5,000 rows,
//! each its own transaction) against the runbook's one `DELETE FROM auth.sessions WHERE
//! created_at < …`, on the Supabase-shaped fixture seeded with 1,000,000 sessions, each with a
//! refresh token (every tenth with an MFA claim). For each: the total time and how long other
//! writers to `auth.sessions` were blocked (see `watch`). Every run starts from the same data: a
//! copy of a template database seeded once. Runs alternate between the two.
//!
//! `bench_purge [superuser URL] [sessions] [runs]` (default 1,000,000 and 2); `scripts/bench`
//! runs it with PURGE_SESSIONS and PURGE_RUNS.

mod watch;

use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::remediation::plan::Progress;
use bellhop_commands::remediation::{sessions, Cutoff, RemediationSettings};
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use secrecy::SecretString;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use std::time::{Duration, Instant};
use watch::{Holds, Waits};

/// `older_than:1h`, the shortest age the command accepts: all but the newest seeded sessions.
const OLDER_THAN_SECS: i64 = 3_600;
/// The runbook's statement, with its age as a parameter.
const ONE_DELETE: &str = "DELETE FROM auth.sessions WHERE created_at < now() - make_interval(secs => $1::double precision)";
/// How the one DELETE's connection is named, for the lock sampler (bellhop's own is `bellhop`).
const ONE_DELETE_APP: &str = "bench-one-delete";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Batched,
    OneDelete,
}

impl Variant {
    fn name(self, batch: i64) -> String {
        match self {
            Variant::Batched => format!("batched ({} per transaction)", thousands(batch)),
            Variant::OneDelete => "one DELETE".to_string(),
        }
    }
}

/// One purge, measured.
#[derive(Clone, Copy, Debug)]
struct Measured {
    variant: Variant,
    total: Duration,
    sessions: i64,
    tokens: i64,
    claims: i64,
    refresh: Waits,
    sign_in: Waits,
    holds: Holds,
}

/// The batched purge reports progress after each batch; nobody reads it here.
struct Quiet;

#[async_trait::async_trait]
impl Progress for Quiet {
    async fn report(&self, _: i64, _: i64) {}
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "postgres://postgres:postgres@127.0.0.1:5432/postgres".into());
    let seeded: i32 = args.next().filter(|a| !a.is_empty()).map(|a| a.parse()).transpose()?.unwrap_or(1_000_000);
    let runs: usize = args.next().filter(|a| !a.is_empty()).map(|a| a.parse()).transpose()?.unwrap_or(2);
    anyhow::ensure!(seeded >= 1_000 && runs >= 1, "at least 1,000 sessions and 1 run");
    let server: PgConnectOptions = url.parse()?;
    let template = format!("bellhop_purge_{}", std::process::id());
    let mut root = server.connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {template}")).execute(&mut root).await?;
    let result = bench(&mut root, &server, &template, seeded, runs).await;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {template} WITH (FORCE)")).execute(&mut root).await?;
    result
}

async fn bench(root: &mut PgConnection, server: &PgConnectOptions, template: &str, seeded: i32, runs: usize) -> anyhow::Result<()> {
    let users = (seeded / 10).max(1);
    let scale = Scale { tenants: (users / 50).max(1), users, sessions: seeded };
    let started = Instant::now();
    fixture::load(&server.clone().database(template), scale).await?;
    // Frozen and analysed once, so every copy starts with the same visibility map and statistics.
    let mut conn = server.clone().database(template).connect().await?;
    sqlx::raw_sql("VACUUM (FREEZE, ANALYZE)").execute(&mut conn).await?;
    conn.close().await?;
    println!(
        "seeded {} sessions (+ as many refresh tokens, {} MFA claims) for {} users in {:.1} s",
        thousands(i64::from(seeded)),
        thousands(i64::from(seeded / 10)),
        thousands(i64::from(users)),
        started.elapsed().as_secs_f64()
    );
    let batch = RemediationSettings::default().purge_batch;
    let mut measured = Vec::new();
    for run in 1..=runs {
        let order = if run % 2 == 1 { [Variant::Batched, Variant::OneDelete] } else { [Variant::OneDelete, Variant::Batched] };
        for variant in order {
            let copy = format!("{template}_run");
            sqlx::raw_sql(&format!("CREATE DATABASE {copy} TEMPLATE {template} STRATEGY FILE_COPY")).execute(&mut *root).await?;
            let result = purge(&server.clone().database(&copy), variant, batch).await;
            sqlx::raw_sql(&format!("DROP DATABASE {copy} WITH (FORCE)")).execute(&mut *root).await?;
            let m = result?;
            println!(
                "  run {run}  {:<32} {:>8}  refresh waited ≤ {:>8} ({} of {} probes ≥ 100 ms)  longest write transaction {:>8} ({} seen)  sign-in ≤ {}",
                variant.name(batch),
                secs(m.total),
                secs(m.refresh.longest),
                m.refresh.blocked,
                m.refresh.probes,
                secs(m.holds.longest),
                m.holds.transactions,
                secs(m.sign_in.longest),
            );
            measured.push(m);
        }
    }
    report(&measured, batch, runs);
    Ok(())
}

/// Purges one fresh copy while the watchers run, and checks the purge really happened.
async fn purge(admin: &PgConnectOptions, variant: Variant, batch: i64) -> anyhow::Result<Measured> {
    let ops = fixture::as_bellhop(admin);
    let url = SecretString::from(ops.to_url_lossy().to_string());
    let target =
        TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(120), write_timeout: Duration::from_secs(120) })?;
    // Both variants start from the same warm cache: bellhop's own count, untimed.
    let before = sessions::preview(&target, Cutoff::new(None, OLDER_THAN_SECS), None).await?;
    let figure = |name: &str| before.figures.get(name).copied().unwrap_or(0);
    let (in_scope, tokens_before, claims_before) = (figure("sessions"), figure("refresh_tokens"), figure("mfa_claims"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let application = if variant == Variant::Batched { "bellhop" } else { ONE_DELETE_APP };
    let refresh = tokio::spawn(watch::refreshes(admin.connect().await?, OLDER_THAN_SECS, stopped.clone()));
    let sign_in = tokio::spawn(watch::sign_ins(admin.connect().await?, stopped.clone()));
    let holds = tokio::spawn({
        let conn = admin.connect().await?;
        async move { watch::locks(conn, application, stopped).await }
    });
    let mut one = ops.application_name(ONE_DELETE_APP).connect().await?;
    // Both variants cut off at their own now(), never earlier than this.
    let mut su = admin.connect().await?;
    let start: String = sqlx::query_scalar("SELECT now()::text").fetch_one(&mut su).await?;

    let started = Instant::now();
    let deleted = match variant {
        Variant::Batched => {
            // What bellhop does once a plan is approved: the drift guard's count, then the batches.
            let fresh = sessions::preview(&target, Cutoff::new(None, OLDER_THAN_SECS), None).await?;
            sessions::execute(&target, Cutoff::new(None, OLDER_THAN_SECS), None, batch, fresh.rows, i64::MAX, &Quiet)
                .await
                .map_err(anyhow::Error::msg)?
                .rows
        }
        Variant::OneDelete => {
            let done = sqlx::query(ONE_DELETE).bind(OLDER_THAN_SECS).execute(&mut one).await?;
            i64::try_from(done.rows_affected())?
        }
    };
    let total = started.elapsed();
    stop.send(true)?;
    let (refresh, sign_in, holds) = (refresh.await??, sign_in.await??, holds.await??);

    // Sessions that came of age while it ran may remain; none older than the earliest cutoff may,
    // and no refresh token or MFA claim may outlive its session.
    let (left, tokens_left, claims_left): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM auth.sessions WHERE created_at < $1::timestamptz - make_interval(secs => $2::double precision)),
                (SELECT count(*) FROM auth.refresh_tokens t WHERE NOT EXISTS (SELECT 1 FROM auth.sessions s WHERE s.id = t.session_id)),
                (SELECT count(*) FROM auth.mfa_amr_claims c WHERE NOT EXISTS (SELECT 1 FROM auth.sessions s WHERE s.id = c.session_id))",
    )
    .bind(start)
    .bind(OLDER_THAN_SECS)
    .fetch_one(&mut su)
    .await?;
    anyhow::ensure!(left == 0, "{left} sessions in scope remain after the {variant:?} purge");
    anyhow::ensure!(tokens_left == 0 && claims_left == 0, "refresh tokens or MFA claims outlived their sessions");
    anyhow::ensure!(deleted >= in_scope, "deleted {deleted} sessions, {in_scope} were in scope");
    Ok(Measured { variant, total, sessions: deleted, tokens: tokens_before, claims: claims_before, refresh, sign_in, holds })
}

/// Side by side: the median total time, the longest waits over all runs, and their ratios.
fn report(measured: &[Measured], batch: i64, runs: usize) {
    let of = |variant: Variant| measured.iter().filter(move |m| m.variant == variant);
    let median = |variant: Variant| {
        let mut totals: Vec<Duration> = of(variant).map(|m| m.total).collect();
        totals.sort();
        let middle = totals.len() / 2;
        match totals.len() {
            0 => Duration::ZERO,
            n if n % 2 == 0 => (totals[middle - 1] + totals[middle]) / 2,
            _ => totals[middle],
        }
    };
    let longest = |variant: Variant, pick: fn(&Measured) -> Duration| of(variant).map(pick).max().unwrap_or_default();
    let first = |variant: Variant| of(variant).next().copied();
    let (Some(b), Some(o)) = (first(Variant::Batched), first(Variant::OneDelete)) else { return };
    println!();
    println!(
        "Purge of {} sessions older than 1 h ({} refresh tokens, {} MFA claims cascade), {runs} run(s) each, alternating:",
        thousands(b.sessions),
        thousands(b.tokens),
        thousands(b.claims)
    );
    println!("  {:<44} {:>18} {:>14} {:>22}", "", Variant::Batched.name(batch), Variant::OneDelete.name(batch), "one DELETE ÷ batched");
    let row = |what: &str, batched: Duration, one: Duration| {
        let ratio = one.as_secs_f64() / batched.as_secs_f64().max(1e-6);
        println!("  {what:<44} {:>18} {:>14} {:>21.1}x", secs(batched), secs(one), ratio);
    };
    row("total time (median)", median(Variant::Batched), median(Variant::OneDelete));
    row(
        "longest blocked refresh of a purged session",
        longest(Variant::Batched, |m| m.refresh.longest),
        longest(Variant::OneDelete, |m| m.refresh.longest),
    );
    row(
        "longest write transaction on auth.sessions",
        longest(Variant::Batched, |m| m.holds.longest),
        longest(Variant::OneDelete, |m| m.holds.longest),
    );
    row(
        "longest sign-in (no conflicting lock)",
        longest(Variant::Batched, |m| m.sign_in.longest),
        longest(Variant::OneDelete, |m| m.sign_in.longest),
    );
    println!("  {:<44} {:>18} {:>14}", "sessions deleted", thousands(b.sessions), thousands(o.sessions));
    println!();
    println!("How the waits are measured (each from its own connection, while the purge runs):");
    println!("- blocked refresh: every 5 ms, BEGIN; SET lock_timeout; pick the in-scope session that comes first in the");
    println!("  table; UPDATE its refreshed_at as a token refresh does; ROLLBACK. Both variants delete in table order, so");
    println!("  that row is the one the purge's current transaction locked first: the UPDATE waits until that transaction");
    println!("  commits. This is the longest time a row lock on auth.sessions kept another writer waiting.");
    println!(
        "- write transaction: pg_locks sampled every {} ms for the purge's ROW EXCLUSIVE lock on auth.sessions; a deleted",
        watch::SAMPLE_EVERY.as_millis()
    );
    println!("  row stays locked until its transaction commits, so the longest transaction bounds every row lock (a lower");
    println!("  bound, short by up to one sample). That table lock itself blocks only DDL, VACUUM FULL and explicit LOCKs.");
    println!("- sign-in: INSERT a session and its refresh token, rolled back. No purge lock conflicts with it: its time is load.");
    println!("- batched total includes bellhop's own count before and verification count after; the one DELETE has neither.");
}

fn secs(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let grouped: Vec<String> = digits.as_bytes().rchunks(3).rev().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    format!("{}{}", if n < 0 { "-" } else { "" }, grouped.join(","))
}
