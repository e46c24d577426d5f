//! Benchmark: `/sessions purge` as bellhop runs it against the runbook's one `DELETE FROM
//! auth.sessions WHERE created_at < …`, on the Supabase-shaped fixture seeded with 1,000,000
//! sessions, each with a refresh token (every tenth with an MFA claim). bellhop's purge goes the
//! production way: asked in the chat, approved by two people, checked and run by the plan loop
//! with its drift guard, its batches (each its own transaction, sized to the time they hold
//! their locks), its read-back, and its progress reporter editing the approval post through a
//! chat whose every edit takes as long as a slow Discord edit, so an edit that held the batches
//! back would show in the total. For each: the total time and how long other writers to
//! `auth.sessions` were blocked (see `watch`). Every run starts from the same data: a copy of a
//! template database seeded once. Runs alternate between the two.
//!
//! `bench_purge [superuser URL] [sessions] [runs]` (default 1,000,000 and 2); `scripts/bench`
//! runs it with PURGE_SESSIONS and PURGE_RUNS.

mod watch;

use bellhop::demo::fixture::{self, Scale};
use bellhop_commands::remediation::PlanState;
use bellhop_commands::remediation::{sessions, Action, Cutoff};
use bellhop_commands::target_db::{TargetDb, TargetSettings};
use bellhop_commands::Invocation;
use bellhop_tests::gate::{alice, bob, carol, Gate};
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
    fn name(self) -> &'static str {
        match self {
            Variant::Batched => "bellhop's purge",
            Variant::OneDelete => "one DELETE",
        }
    }
}

/// How long each of the chat's edits takes: a slow Discord edit, or one queued behind the
/// channel's rate limit.
const EDIT_TAKES: Duration = Duration::from_millis(300);

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
    /// bellhop's progress edits of the approval post while it ran.
    progress_edits: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The purge's own account of its phases (the drift guard's count, the batches, the read-back).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("bellhop_commands::remediation=info"))
        .with_writer(std::io::stderr)
        .init();
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
    let mut measured = Vec::new();
    for run in 1..=runs {
        let order = if run % 2 == 1 { [Variant::Batched, Variant::OneDelete] } else { [Variant::OneDelete, Variant::Batched] };
        for variant in order {
            let copy = format!("{template}_run");
            sqlx::raw_sql(&format!("CREATE DATABASE {copy} TEMPLATE {template} STRATEGY FILE_COPY")).execute(&mut *root).await?;
            let result = purge(&server.clone().database(&copy), variant).await;
            sqlx::raw_sql(&format!("DROP DATABASE {copy} WITH (FORCE)")).execute(&mut *root).await?;
            let m = result?;
            let edits = match variant {
                Variant::Batched => format!("  {} progress edit(s)", m.progress_edits),
                Variant::OneDelete => String::new(),
            };
            println!(
                "  run {run}  {:<16} {:>8}  refresh waited ≤ {:>8} ({} of {} probes ≥ 100 ms)  longest write transaction {:>8} ({} seen)  sign-in ≤ {}{edits}",
                variant.name(),
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
        let ran = |variant: Variant| measured.iter().rev().find(|m| m.variant == variant).map(|m| m.total.as_secs_f64());
        if let (Some(purge), Some(one)) = (ran(Variant::Batched), ran(Variant::OneDelete)) {
            println!("  run {run}  bellhop's purge ÷ one DELETE: {:.2}x", purge / one.max(1e-6));
        }
    }
    report(&measured, runs);
    Ok(())
}

/// Purges one fresh copy while the watchers run, and checks the purge really happened.
async fn purge(admin: &PgConnectOptions, variant: Variant) -> anyhow::Result<Measured> {
    let ops = fixture::as_bellhop(admin);
    let url = SecretString::from(ops.to_url_lossy().to_string());
    let target =
        TargetDb::new(&TargetSettings { url, statement_timeout: Duration::from_secs(120), write_timeout: Duration::from_secs(120) })?;
    let mut su = admin.connect().await?;
    // The clock bellhop freezes a cutoff from is the one the sessions were stamped with.
    let now_ms: i64 = sqlx::query_scalar("SELECT (extract(epoch FROM now()) * 1000)::bigint").fetch_one(&mut su).await?;
    let now = chrono::DateTime::from_timestamp_millis(now_ms).ok_or_else(|| anyhow::anyhow!("the server's clock reads {now_ms} ms"))?;
    let gate = Gate::on_loaded(admin, target.clone(), now, |_| {}).await;
    // Both variants start from the same warm cache, with bellhop's own count, untimed: for
    // bellhop the preview the approvers see, for the one DELETE the same count.
    let (before, cutoff_ms) = match variant {
        Variant::Batched => {
            let asked = gate.ask(&alice(), Invocation::new("sessions purge").option("older_than", "1h")).await;
            anyhow::ensure!(asked.post.title.contains("PLAN-1"), "the purge was not asked: {:?}", asked.post);
            let plan = gate.plan(1).await;
            let Action::PurgeSessions { before: Some(before), .. } = plan.action else {
                anyhow::bail!("the plan froze no cutoff: {:?}", plan.action)
            };
            gate.approve(1, &[bob()]).await;
            (plan.preview, before.timestamp_millis())
        }
        Variant::OneDelete => {
            // Its cutoff is its own now(), never earlier than this.
            (sessions::preview(&target, Cutoff::new(None, OLDER_THAN_SECS), None).await?, now_ms - OLDER_THAN_SECS * 1000)
        }
    };
    let figure = |name: &str| before.figures.get(name).copied().unwrap_or(0);
    let (in_scope, tokens_before, claims_before) = (figure("sessions"), figure("refresh_tokens"), figure("mfa_claims"));

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let application = if variant == Variant::Batched { "bellhop" } else { ONE_DELETE_APP };
    let refresh = tokio::spawn(watch::refreshes(admin.connect().await?, cutoff_ms, stopped.clone()));
    let sign_in = tokio::spawn(watch::sign_ins(admin.connect().await?, stopped.clone()));
    let holds = tokio::spawn({
        let conn = admin.connect().await?;
        async move { watch::locks(conn, application, stopped).await }
    });
    let mut one = ops.application_name(ONE_DELETE_APP).connect().await?;
    *gate.port.edit_takes.lock().unwrap() = EDIT_TAKES;

    let started = Instant::now();
    let deleted = match variant {
        Variant::Batched => {
            // The second approval, then what the plan loop does with it: the check of the post,
            // the drift guard's count, the batches with their progress edits, the read-back.
            let message = gate.approval(1).await;
            // The loop runs beside it, as in `bellhop run`: it delivers the post's edits, the
            // claim's and the progress queued behind it.
            let chat: std::sync::Arc<dyn bellhop_commands::ChatPort> = gate.port.clone();
            let looping = tokio::spawn(bellhop::scheduler::run(gate.core.clone(), chat));
            gate.port.set_reaction(&message, "✅", &carol(), true);
            gate.core.reaction(&carol(), &message, "✅", true).await;
            gate.core.check_plans(&gate.chat()).await?;
            gate.core.plan_runs_finished().await;
            looping.abort();
            let plan = gate.plan(1).await;
            let outcome = plan.outcome.clone().unwrap_or_default();
            anyhow::ensure!(plan.state == PlanState::Done, "the purge ended {}: {outcome:?}", plan.state);
            let counted = |name: &str| outcome.figures.get(name).copied().unwrap_or(-1);
            anyhow::ensure!(
                (counted("refresh_tokens"), counted("mfa_claims")) == (tokens_before, claims_before),
                "the purge counted {:?}, the preview {tokens_before} refresh tokens and {claims_before} MFA claims",
                outcome.figures
            );
            outcome.rows
        }
        Variant::OneDelete => {
            let done = sqlx::query(ONE_DELETE).bind(OLDER_THAN_SECS).execute(&mut one).await?;
            i64::try_from(done.rows_affected())?
        }
    };
    let total = started.elapsed();
    stop.send(true)?;
    let (refresh, sign_in, holds) = (refresh.await??, sign_in.await??, holds.await??);
    gate.core.deliver_outbox(&gate.port).await?;

    // Sessions that came of age while it ran may remain; none older than the cutoff may, and no
    // refresh token or MFA claim may outlive its session.
    let (left, tokens_left, claims_left): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM auth.sessions WHERE created_at < to_timestamp($1::double precision / 1000)),
                (SELECT count(*) FROM auth.refresh_tokens t WHERE NOT EXISTS (SELECT 1 FROM auth.sessions s WHERE s.id = t.session_id)),
                (SELECT count(*) FROM auth.mfa_amr_claims c WHERE NOT EXISTS (SELECT 1 FROM auth.sessions s WHERE s.id = c.session_id))",
    )
    .bind(cutoff_ms)
    .fetch_one(&mut su)
    .await?;
    anyhow::ensure!(left == 0, "{left} sessions in scope remain after the {variant:?} purge");
    anyhow::ensure!(tokens_left == 0 && claims_left == 0, "refresh tokens or MFA claims outlived their sessions");
    anyhow::ensure!(deleted >= in_scope, "deleted {deleted} sessions, {in_scope} were in scope");
    let progress_edits = gate.port.edited.lock().unwrap().iter().filter(|(_, post)| post.body.contains("so far")).count();
    Ok(Measured {
        variant,
        total,
        sessions: deleted,
        tokens: tokens_before,
        claims: claims_before,
        refresh,
        sign_in,
        holds,
        progress_edits,
    })
}

/// Side by side: the median total time, the longest waits over all runs, and their ratios.
fn report(measured: &[Measured], runs: usize) {
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
    println!("  {:<44} {:>16} {:>14} {:>28}", "", Variant::Batched.name(), Variant::OneDelete.name(), "bellhop's purge ÷ one DELETE");
    let row = |what: &str, batched: Duration, one: Duration| {
        let ratio = batched.as_secs_f64() / one.as_secs_f64().max(1e-6);
        println!("  {what:<44} {:>16} {:>14} {:>27.2}x", secs(batched), secs(one), ratio);
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
    println!("  {:<44} {:>16} {:>14}", "sessions deleted", thousands(b.sessions), thousands(o.sessions));
    let edits: Vec<String> = of(Variant::Batched).map(|m| m.progress_edits.to_string()).collect();
    println!("  {:<44} {:>16}", "progress edits (each run)", edits.join(", "));
    println!();
    println!("How it is measured:");
    println!("- bellhop's purge: from the second approval to the plan's outcome, the way the plan loop runs it: the check of");
    println!("  the post, the drift guard's count, the batches (each its own transaction, sized to hold its locks about");
    println!("  0.12 s), the read-back count, and the progress edits of the approval post (at most one per 5 s, each");
    println!("  taking {} ms here, sent beside the batches). The one DELETE is the runbook's statement alone.", EDIT_TAKES.as_millis());
    println!("Waits, each from its own connection, while the purge runs:");
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
